"""What the end-to-end sync tests (tests/test_sync_e2e.py) share: a real provincial server, a real kiosk
database, and real ``kiosk sync`` / ``kiosk enroll`` processes, each behind a context manager that always
cleans up (process groups are killed even when a test fails).

- ``province(tmp_path, ...)`` → ``Province``: ``kiosk-server serve`` (gunicorn, SQLite in ``tmp_path``) with
  optional extra environment (``KIOSK_SERVER_MAX_VISITS``, ``KIOSK_SERVER_TEST_DIE_AFTER_COMMIT``) and TLS;
  ``.db()`` reads the server's SQLite file read-only (``ServerDb``), ``.cli(...)`` runs ``kiosk-server``.
- ``Kiosk``: a config file, a visit database and a sync state directory under ``tmp_path``; ``.record(n)``
  writes visits as the gate would, ``.enrol(province)`` spends a one-time code, ``.sync_once(...)`` runs
  ``kiosk sync --once``, ``.worker(...)`` starts the long-running ``kiosk sync`` (a ``SyncProcess``).
- ``poll(predicate, timeout_s, what=...)``: waits for a condition with a deadline (never a bare sleep).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import pytest

from kiosk.clock import FakeClock
from kiosk.model import Credential, Decision, Direction, Kind, Outcome, Reason, Visit
from kiosk.store import Store
from kiosk.sync.client import visit_json
from tests import server_support
from tests.server_support import ServerProcess

T = TypeVar("T")

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
DEVICE_ID = "gate-1"
LOCATION = "HUE-0001"
POLL_S = 0.05
#: How long a ``kiosk`` command may take before the test fails (they normally take well under 5 s).
COMMAND_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0

#: The worker's settings for these tests: short timeouts and back-off, no heartbeat or config poll mid-run.
FAST_SYNC: Mapping[str, object] = {
    "batch_size": 50,
    "connect_timeout_s": 1.0,
    "read_timeout_s": 2.0,
    "heartbeat_s": 3600.0,
    "config_poll_s": 3600.0,
    "backoff_base_s": 0.1,  # the config allows no less
    "backoff_cap_s": 1.0,  # the config allows no less
}


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def clean_env() -> dict[str, str]:
    """The environment of a ``kiosk`` subprocess: nothing KIOSK_* from the machine."""
    return {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}


def poll(
    predicate: Callable[[], T],
    timeout_s: float,
    *,
    what: str | Callable[[], str] = "condition",
    interval_s: float = POLL_S,
) -> T:
    """The first truthy value of ``predicate()``, checked every ``interval_s``; fails the test after
    ``timeout_s`` naming ``what`` (a function is called only then, to show the state reached)."""
    deadline = time.monotonic() + timeout_s
    tick = threading.Event()  # never set: its timed wait is the poll interval
    while not (value := predicate()):
        if time.monotonic() >= deadline:
            pytest.fail(f"{what() if callable(what) else what} not reached within {timeout_s:g} s")
        tick.wait(interval_s)
    return value


def pause(seconds: float) -> None:
    """Let ``seconds`` pass on purpose (a random moment to kill a process at), not to wait for a condition."""
    threading.Event().wait(seconds)


def kill_group(process: subprocess.Popen[Any], sig: int = signal.SIGKILL) -> None:
    """Signal ``process``'s whole process group (it was started with ``start_new_session``) and reap it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT_S)


# -- the server --------------------------------------------------------------------------------------------


class E2EServer(ServerProcess):
    """``ServerProcess`` with extra environment variables (``server_env`` drops every KIOSK_* of the test
    process, so the server's test switches are passed here) and a ``close`` that never leaves a process."""

    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(data_dir, **kwargs)
        self.extra_env = dict(env or {})

    def start(self) -> E2EServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            _bin("kiosk-server"),
            "serve",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
        ]
        if self.certfile is not None and self.keyfile is not None:
            args += ["--certfile", str(self.certfile), "--keyfile", str(self.keyfile)]
        env = {**server_support.server_env(self.data_dir, self.database_url), **self.extra_env}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                args,
                env=env,
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self._wait_healthy()
        return self

    def close(self) -> None:
        try:
            self.stop()
        finally:
            if self.process is not None:
                kill_group(self.process)


@dataclass
class UploadTotals:
    requests: int
    visits: int
    stored: int
    duplicates: int
    conflicts: int
    largest: int


class ServerDb:
    """The server's SQLite database, opened read-only (``mode=ro``) for one query at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        if not self.path.exists():
            return []
        with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)) as conn:
            return list(conn.execute(sql, params))

    def counts(self) -> tuple[int, int]:
        """``(rows, distinct UUIDs)`` in ``province_visit``."""
        rows = self.query("SELECT count(*), count(DISTINCT uuid) FROM province_visit")
        return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)

    def visit_count(self) -> int:
        return self.counts()[0]

    def visits(self) -> dict[str, dict[str, Any]]:
        """Every stored visit by UUID, with the columns the tests compare."""
        names = (
            "uuid",
            "seq",
            "kind",
            "identity_hash",
            "identity_key_id",
            "id_number",
            "name",
            "direction",
            "outcome",
            "reason",
            "content_hash",
        )
        rows = self.query(
            f"SELECT {', '.join('v.' + n for n in names)}, d.device_id FROM province_visit v "
            "JOIN province_device d ON d.id = v.device_id"
        )
        return {row[0]: dict(zip((*names, "device_id"), row, strict=True)) for row in rows}

    def uploads(self) -> UploadTotals:
        rows = self.query(
            "SELECT count(*), coalesce(sum(count), 0), coalesce(sum(stored), 0), coalesce(sum(duplicates), 0),"
            " coalesce(sum(conflicts), 0), coalesce(max(count), 0) FROM province_uploadlog"
        )
        return UploadTotals(*(int(x) for x in rows[0])) if rows else UploadTotals(0, 0, 0, 0, 0, 0)

    def upload_sizes(self) -> list[int]:
        return [int(r[0]) for r in self.query("SELECT count FROM province_uploadlog ORDER BY id")]

    def conflicts(self) -> list[tuple[str, str]]:
        """``(uuid, content hash)`` of every ``VisitConflict`` row."""
        return [
            (str(u), str(h)) for u, h in self.query("SELECT uuid, content_hash FROM province_visitconflict")
        ]

    def device(self, device_id: str) -> dict[str, Any]:
        rows = self.query(
            "SELECT parked_count, revoked_at, last_seen_at FROM province_device WHERE device_id = ?",
            device_id,
        )
        assert rows, f"no device {device_id} on the server"
        return dict(zip(("parked_count", "revoked_at", "last_seen_at"), rows[0], strict=True))


@dataclass
class Province:
    """A running server and its data directory."""

    data_dir: Path
    server: E2EServer

    @property
    def url(self) -> str:
        return self.server.url

    def db(self) -> ServerDb:
        return ServerDb(self.data_dir / "server.sqlite3")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = server_support.run_cli(self.data_dir, *args)
        assert done.returncode == 0, f"kiosk-server {' '.join(args)}: {done.returncode}\n{done.stderr}"
        return done

    def new_code(self, device_id: str = DEVICE_ID, location: str = LOCATION) -> str:
        return self.cli("code", "new", "--location", location, "--device", device_id).stdout.split()[0]

    def log_tail(self, chars: int = 3000) -> str:
        return self.server.log_text()[-chars:]


@contextlib.contextmanager
def province(
    tmp_path: Path,
    *,
    workers: int = 2,
    env: Mapping[str, str] | None = None,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    location: str = LOCATION,
) -> Iterator[Province]:
    """A server on a fresh data directory with ``location`` registered; stopped (and killed) at the end."""
    data_dir = tmp_path / "server"
    server = E2EServer(data_dir, env, workers=workers, certfile=certfile, keyfile=keyfile)
    try:
        server.start()
        prov = Province(data_dir, server)
        prov.cli("location", "add", location, "--name", "Phường Thuận Hóa", "--district", "Huế")
        yield prov
    finally:
        server.close()


# -- the kiosk ---------------------------------------------------------------------------------------------


def content_hash(visit: Visit) -> str:
    """The server's content hash of ``visit`` as the kiosk sends it (docs/sync-protocol.md: canonical JSON,
    sorted keys, compact separators, UTF-8; ``wall_time`` in UTC with microseconds, as the kiosk writes it)."""
    doc = visit_json(visit)
    doc["monotonic_s"] = float(doc["monotonic_s"])
    if doc["overrides_uuid"] is None:  # left out while null: hashes as before the field existed
        del doc["overrides_uuid"]
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _decision(i: int) -> Decision:
    """Varied visits: a granted citizen ID with a Vietnamese name every third, else a refused payload."""
    if i % 3:
        return Decision(outcome=Outcome.REFUSED, reason=Reason.UNKNOWN_FORMAT, kind=Kind.UNKNOWN)
    number = f"046{i:09d}"
    credential = Credential(
        kind=Kind.CCCD, identity_key=f"id:{number}", id_number=number, name=f"Nguyễn Văn Ấn {i}"
    )
    return Decision(
        outcome=Outcome.GRANTED,
        reason=Reason.OK,
        kind=Kind.CCCD,
        credential=credential,
        identity_hash=hashlib.sha256(number.encode()).hexdigest(),
        identity_key_id="hue-2026",
    )


@dataclass
class SyncProcess:
    """A long-running ``kiosk sync`` in its own process group; output in ``log_path``."""

    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def terminate(self) -> int:
        """SIGTERM (as systemd stops it) and wait; the exit status. Killed if it does not stop in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                kill_group(self.process)
                pytest.fail(f"kiosk sync did not stop within {STOP_TIMEOUT_S:g} s of SIGTERM")
        return int(self.process.returncode)

    def kill(self) -> None:
        """SIGKILL the worker (its process group), as a power cut or the OOM killer would."""
        kill_group(self.process)


@dataclass
class Kiosk:
    """A kiosk's files under ``root``: config, visit database, sync state. Not a process: commands run as
    subprocesses of ``.venv/bin/kiosk`` on these files."""

    root: Path
    device_id: str = DEVICE_ID
    location: str = LOCATION
    sync: Mapping[str, object] = field(default_factory=lambda: dict(FAST_SYNC))
    clock: FakeClock = field(default_factory=lambda: FakeClock(T0))
    recorded: list[Visit] = field(default_factory=list)
    _runs: int = 0

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.db = self.root / "kiosk.db"
        self.state_dir = self.root / "sync"
        self.config = self.root / "kiosk.toml"
        lines = [
            "[device]",
            f'id = "{self.device_id}"',
            "[location]",
            f'code = "{self.location}"',
            "[store]",
            f'database = "{self.db}"',
            f'admin_settings = "{self.root / "admin-settings.toml"}"',
            "min_free_mb = 0",
            "[sync]",
            f'state_dir = "{self.state_dir}"',
            *(f"{key} = {json.dumps(value)}" for key, value in self.sync.items()),
        ]
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    # -- the gate's side -----------------------------------------------------------------------------

    def open_store(self) -> Store:
        return Store.open(
            self.db,
            device_id=self.device_id,
            location_code=self.location,
            privacy_notice_version="2026-01",
            min_free_mb=0,
        )

    def record(self, n: int) -> list[Visit]:
        """Record ``n`` visits as the gate does (the database's owner), one second apart on a fake clock."""
        visits: list[Visit] = []
        with self.open_store() as store:
            for _ in range(n):
                i = len(self.recorded) + len(visits)
                visits.append(store.record(_decision(i), at=self.clock.now(), direction=Direction.IN))
                self.clock.advance(1)
        self.recorded += visits
        return visits

    def snapshot(self) -> Store:
        return Store.open_read_only(self.db)

    def backlog(self) -> int:
        with self.snapshot() as store:
            return store.backlog()

    def outbox(self) -> tuple[int, int]:
        """``(pending, parked)``."""
        with self.snapshot() as store:
            return store.backlog(), store.parked_count()

    def token(self) -> str:
        return (self.state_dir / "token").read_text(encoding="ascii").strip()

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.state_dir / "status.json").read_text(encoding="utf-8"))
        return data

    # -- commands ------------------------------------------------------------------------------------

    def command(
        self, *args: str, server_url: str | None = None, sets: Mapping[str, object] | None = None
    ) -> list[str]:
        """``kiosk COMMAND --config FILE [--set sync.server_url=…] [--set …] ARGS…``."""
        command, *rest = args
        argv = [_bin("kiosk"), command, "--config", str(self.config)]
        settings = dict(sets or {})
        if server_url is not None:
            settings["sync.server_url"] = server_url
        for key, value in settings.items():
            argv += ["--set", f"{key}={value}"]
        return argv + rest

    def run(
        self, *args: str, server_url: str | None = None, sets: Mapping[str, object] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args, server_url=server_url, sets=sets),
            env=clean_env(),
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )

    def enrol(self, prov: Province, *, ca_file: Path | None = None) -> str:
        """``kiosk enroll --server <server> --code <new code>``; returns the token it saved."""
        args = ["enroll", "--server", prov.url, "--code", prov.new_code(self.device_id, self.location)]
        if ca_file is not None:
            args += ["--ca-file", str(ca_file)]
        done = self.run(*args)
        assert done.returncode == 0, f"kiosk enroll failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        assert "warning" not in done.stderr, done.stderr
        return self.token()

    def sync_once(
        self, server_url: str | None = None, sets: Mapping[str, object] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.run("sync", "--once", server_url=server_url, sets=sets)

    def spawn_once(self, server_url: str | None = None, name: str = "once") -> SyncProcess:
        """``kiosk sync --once`` started, not waited for (see ``processes``)."""
        return self._spawn(("sync", "--once"), server_url, name)

    @contextlib.contextmanager
    def worker(
        self, server_url: str | None = None, sets: Mapping[str, object] | None = None
    ) -> Iterator[SyncProcess]:
        """The long-running ``kiosk sync``; killed (process group) at the end if the test did not stop it."""
        proc = self._spawn(("sync",), server_url, "worker", sets)
        try:
            yield proc
        finally:
            proc.kill()

    def _spawn(
        self,
        args: tuple[str, ...],
        server_url: str | None,
        name: str,
        sets: Mapping[str, object] | None = None,
    ) -> SyncProcess:
        self._runs += 1
        log_path = self.root / f"{name}-{self._runs}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                self.command(*args, server_url=server_url, sets=sets),
                env=clean_env(),
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill_group reaches everything it started
            )
        return SyncProcess(process, log_path)

    # -- checks --------------------------------------------------------------------------------------

    def assert_all_on_server(self, db: ServerDb) -> dict[str, dict[str, Any]]:
        """Every visit this kiosk recorded is on the server exactly once, with identical content, and the
        server holds nothing else; the outbox is empty with nothing parked."""
        rows, distinct = db.counts()
        assert rows == distinct == len(self.recorded), (rows, distinct, len(self.recorded))
        stored = db.visits()
        assert set(stored) == {v.uuid for v in self.recorded}
        for visit in self.recorded:
            row = stored[visit.uuid]
            expected = {
                "seq": visit.seq,
                "kind": visit.kind.value,
                "identity_hash": visit.identity_hash,
                "identity_key_id": visit.identity_key_id,
                "id_number": visit.id_number,
                "name": visit.name,
                "direction": visit.direction.value,
                "outcome": visit.outcome.value,
                "reason": visit.reason.value,
                "content_hash": content_hash(visit),
                "device_id": visit.device_id,
            }
            assert {k: row[k] for k in expected} == expected, visit.uuid
        assert self.outbox() == (0, 0)
        return stored


class Processes:
    """Several ``SyncProcess`` started together; every one is killed at the end."""

    def __init__(self) -> None:
        self.items: list[SyncProcess] = []

    def add(self, proc: SyncProcess) -> SyncProcess:
        self.items.append(proc)
        return proc

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for proc in self.items:
            proc.kill()
