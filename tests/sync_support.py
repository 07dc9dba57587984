"""What the sync tests share: a config pointing into tmp_path, visits recorded in a real SQLite store, and a
worker wired to an in-memory ``FakeServer`` through ``FunctionTransport``, with a fake clock and seeded random."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kiosk.clock import FakeClock
from kiosk.config import Config, load_config
from kiosk.model import Decision, Direction, Kind, Outcome, Reason, Visit
from kiosk.store import Store
from kiosk.sync.client import ServerClient, Timeouts
from kiosk.sync.fake import FakeServer
from kiosk.sync.state import SyncState
from kiosk.sync.transport import FunctionTransport
from kiosk.sync.worker import SyncWorker

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
TOKEN = "s3cret-device-token-XYZ-0123456789"


def sync_config(tmp_path: Path, **sync: str) -> Config:
    overrides = {
        "device.id": "dev-1",
        "location.code": "HUE-001",
        "store.database": str(tmp_path / "data" / "kiosk.db"),
        "sync.server_url": "https://province.example",
        "sync.state_dir": str(tmp_path / "sync"),
        "sync.batch_size": "50",
        "sync.backoff_base_s": "2",
        "sync.backoff_cap_s": "300",
        **{f"sync.{k}": v for k, v in sync.items()},
    }
    return load_config(environ={}, overrides=overrides)


def open_store(config: Config, *, owner: bool = True) -> Store:
    return Store.open(
        config.store.database,
        device_id=config.device.id,
        location_code=config.location.code,
        privacy_notice_version="2026-01",
        disk_free=lambda _d: 10_000 * 1024 * 1024,
        owner=owner,
    )


def record(store: Store, clock: FakeClock, n: int) -> list[Visit]:
    decision = Decision(outcome=Outcome.REFUSED, reason=Reason.UNKNOWN_FORMAT, kind=Kind.UNKNOWN)
    visits = []
    for _ in range(n):
        visits.append(store.record(decision, at=clock.now(), direction=Direction.IN))
        clock.advance(1)
    return visits


@dataclass
class Rig:
    """A gate store, a fake server, a fake clock and a worker; ``new_worker()`` is a restarted process."""

    config: Config
    store: Store
    server: FakeServer
    clock: FakeClock = field(default_factory=lambda: FakeClock(T0))
    seed: int = 7

    def __post_init__(self) -> None:
        self.transport = FunctionTransport(self.server)
        self.state = SyncState(self.config.sync.state_dir)
        self.worker = self.new_worker()

    def monotonic(self) -> float:
        return self.clock.monotonic_s

    def new_worker(self, store: Store | None = None, token: str = TOKEN) -> SyncWorker:
        client = ServerClient(
            self.config.sync.server_url,
            self.transport,
            token,
            Timeouts(self.config.sync.connect_timeout_s, self.config.sync.read_timeout_s),
            wall=lambda: self.clock.wall,
        )
        return SyncWorker(
            store or self.store,
            client,
            SyncState(self.config.sync.state_dir),
            self.clock,
            self.monotonic,
            random.Random(self.seed),
            self.config,
            lambda: {"camera_state": "running", "frame_rate": 29.8, "decode_ms_p50": 6.1},
        )

    def upload_sizes(self) -> list[int]:
        import json

        return [
            len(json.loads(r.body or b"{}")["visits"])
            for r in self.server.requests
            if r.url.endswith("/visits")
        ]
