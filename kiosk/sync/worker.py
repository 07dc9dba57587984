"""Layer: core. The sync worker: drains the outbox to the provincial server, reports health, pulls config.

One cycle (``SyncWorker.run_once``), when the back-off allows:

1. **Upload** every pending visit in batches of ``sync.batch_size``, oldest first. Per record, exactly the
   UUIDs the server answered ``stored`` or ``duplicate`` are acknowledged (``Store.acknowledge``) — and only
   after the answer, so a kill at any moment loses nothing: what was not acknowledged is sent again and
   answered ``duplicate``. ``conflict`` and an invalid visit (422) are parked (``Store.park``): never sent
   again, counted, reported. ``413`` halves the batch, down to one visit.
2. **Heartbeat** every ``sync.heartbeat_s``: backlog, oldest pending visit, parked visits, the app's health.
3. **Configuration** every ``sync.config_poll_s`` with ``If-None-Match``; a new one is applied atomically
   (``kiosk.sync.state``). Its ``forget`` list (people whose data the province deleted on a verified request)
   is applied first: their visits leave the local record, un-uploaded ones included (``Store.forget``), so a
   failure there leaves the old configuration and the next poll tries again.

A retryable failure (no answer, 408, 429, 5xx, a truncated reply) ends the cycle and schedules the next
attempt with capped exponential back-off and full jitter, at least ``Retry-After`` (``kiosk.sync.backoff``);
the back-off survives a restart. A refused token (401) stops the worker with the status "token refused —
enrol again". ``run(stop)`` repeats cycles, waiting with ``stop.wait`` — it never sleeps.

The worker is its own process (``kiosk sync``), so a stalled network never freezes the gate; the outbox
table is its only contract with the gate. Everything runs on the caller's thread.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from kiosk import __version__
from kiosk.clock import Clock
from kiosk.config import Config
from kiosk.errors import (
    AuthError,
    BatchTooLarge,
    ForbiddenError,
    InvalidVisit,
    ProtocolError,
    RetryableError,
    StoreError,
    SyncError,
)
from kiosk.model import ClockReading
from kiosk.store import Store
from kiosk.sync.backoff import Backoff, BackoffState
from kiosk.sync.client import ConfigResult, ServerClient, VisitStatus
from kiosk.sync.state import SyncState, SyncStatus, WorkerState, forget_list, read_server_config

log = logging.getLogger(__name__)

#: The status shown when the server refused the device token.
TOKEN_REFUSED: Final = "token refused — enrol again (kiosk enroll --server URL --code CODE)"
#: How long an idle worker waits before looking at the outbox again.
IDLE_WAIT_S: Final = 5.0
_MIB: Final = 1024 * 1024

HealthSource = Callable[[], dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What one cycle did. ``attempted`` is False when the back-off said "not yet" (nothing was tried)."""

    attempted: bool = True
    #: A request went to the server in this cycle.
    contacted: bool = False
    sent: int = 0
    stored: int = 0
    duplicates: int = 0
    conflicts: int = 0
    invalid: int = 0
    #: Requests to be sent again: a 413 split, a 422, a retryable failure that ended the cycle.
    retries: int = 0
    backlog: int = 0
    parked: int = 0
    heartbeat_sent: bool = False
    config_applied: bool = False
    #: Visits deleted on the province's deletion requests in this cycle.
    forgotten: int = 0
    error: str | None = None
    auth_refused: bool = False
    next_attempt_at: datetime | None = None

    @property
    def drained(self) -> bool:
        """Nothing is left to send and the cycle ended without an error."""
        return self.attempted and self.error is None and self.backlog == 0

    def line(self) -> str:
        """One log line with the counts."""
        if not self.attempted:
            when = self.next_attempt_at.isoformat(timespec="seconds") if self.next_attempt_at else "soon"
            return f"sync: backing off until {when}; backlog {self.backlog}, parked {self.parked}"
        text = (
            f"sync: sent {self.sent}, stored {self.stored}, duplicates {self.duplicates}, "
            f"conflicts {self.conflicts}, invalid {self.invalid}, retries {self.retries}; "
            f"backlog {self.backlog}, parked {self.parked}"
        )
        if self.heartbeat_sent:
            text += "; heartbeat sent"
        if self.config_applied:
            text += "; new configuration applied"
        if self.forgotten:
            text += f"; forgot {self.forgotten} visits on the province's deletion requests"
        if self.error:
            text += f"; error: {self.error}"
        if self.next_attempt_at is not None and self.error:
            text += f"; next attempt at {self.next_attempt_at.isoformat(timespec='seconds')}"
        return text


@dataclass
class _Counts:
    contacted: bool = False
    sent: int = 0
    stored: int = 0
    duplicates: int = 0
    conflicts: int = 0
    invalid: int = 0
    retries: int = 0
    heartbeat_sent: bool = False
    config_applied: bool = False
    #: the ETag of the configuration applied in this cycle, if one was
    config_etag: str | None = None
    forgotten: int = 0


class SyncWorker:
    """Uploads the outbox of ``store`` through ``client``; remembers its state in ``state``.

    ``clock`` gives the wall time (acknowledgements, back-off, heartbeats); ``monotonic`` the time for the
    heartbeat and configuration intervals; ``rng`` the jitter. ``health_source`` returns the app's health
    (``kiosk.sync.state.health_file_source``) or None. The caller owns and closes ``store`` and ``client``.
    """

    def __init__(
        self,
        store: Store,
        client: ServerClient,
        state: SyncState,
        clock: Clock,
        monotonic: Callable[[], float],
        rng: random.Random,
        config: Config,
        health_source: HealthSource | None = None,
        *,
        idle_wait_s: float = IDLE_WAIT_S,
    ) -> None:
        self._store = store
        self._client = client
        self._state = state
        self._clock = clock
        self._monotonic = monotonic
        self._config = config
        self._sync = config.sync
        self._health_source = health_source
        self._idle_wait_s = idle_wait_s
        self._backoff = Backoff(self._sync.backoff_base_s, self._sync.backoff_cap_s, rng)
        self._saved = state.load()
        self._last_heartbeat: float | None = None
        self._last_config_poll: float | None = None
        self._stop: threading.Event | None = None

    @property
    def saved_state(self) -> WorkerState:
        return self._saved

    # -- one cycle -------------------------------------------------------------------------------------

    def run_once(self, *, force: bool = False) -> CycleReport:
        """One cycle: upload, heartbeat, configuration. ``force`` ignores the back-off (``kiosk sync --once``).

        Raises ``StoreError`` when the local database fails; a network or server problem is in the report.
        """
        reading = self._clock.now()
        now = reading.wall
        if not force and self._saved.backoff.wait_s(now, longest_s=self._backoff.longest_s) > 0:
            return CycleReport(
                attempted=False,
                backlog=self._store.backlog(),
                parked=self._store.parked_count(),
                error=self._saved.last_error,
                auth_refused=self._saved.auth_refused,
                next_attempt_at=self._saved.backoff.next_attempt_at,
            )
        counts = _Counts()
        saved = self._saved
        error: str | None = None
        try:
            self._upload(now, counts)
            self._maybe_heartbeat(reading, counts)
            error = self._maybe_pull_config(now, counts)
            if counts.contacted:
                saved = replace(
                    saved,
                    backoff=self._backoff.succeeded(),
                    last_success_at=now,
                    last_error=error,
                    auth_refused=False,
                )
        except AuthError as exc:
            log.error("the server refused the device token: %s", exc)
            error = TOKEN_REFUSED
            saved = replace(
                saved, backoff=self._backoff.gave_up(saved.backoff, now), last_error=error, auth_refused=True
            )
        except RetryableError as exc:
            counts.retries += 1
            error = str(exc)
            # Batches got through before the fault: the link works, so the back-off starts again from its
            # first step instead of growing towards the cap while the backlog drains (a flaky network).
            previous = BackoffState() if counts.sent else saved.backoff
            saved = replace(
                saved, backoff=self._backoff.failed(previous, now, exc.retry_after_s), last_error=error
            )
        except SyncError as exc:  # 403, an unexpected answer: retrying soon cannot change it
            error = str(exc)
            saved = replace(saved, backoff=self._backoff.gave_up(saved.backoff, now), last_error=error)
        if counts.forgotten:
            saved = replace(saved, forgotten=saved.forgotten + counts.forgotten)
        if counts.config_etag is not None:
            saved = replace(saved, config_etag=counts.config_etag)
        backlog = self._store.backlog()
        parked = self._store.parked_count()
        if counts.contacted or error is not None:
            saved = replace(saved, parked=parked)
            self._persist(saved, now, online=counts.contacted and not saved.backoff.attempt, backlog=backlog)
        self._saved = saved
        return CycleReport(
            attempted=True,
            contacted=counts.contacted,
            sent=counts.sent,
            stored=counts.stored,
            duplicates=counts.duplicates,
            conflicts=counts.conflicts,
            invalid=counts.invalid,
            retries=counts.retries,
            backlog=backlog,
            parked=parked,
            heartbeat_sent=counts.heartbeat_sent,
            config_applied=counts.config_applied,
            forgotten=counts.forgotten,
            error=error,
            auth_refused=saved.auth_refused,
            next_attempt_at=saved.backoff.next_attempt_at,
        )

    def _upload(self, now: datetime, counts: _Counts) -> None:
        batch = self._sync.batch_size
        while not self._stopping():
            visits = self._store.pending(batch)
            if not visits:
                return
            counts.contacted = True
            try:
                result = self._client.upload(visits)
            except BatchTooLarge as exc:
                counts.retries += 1
                if len(visits) == 1:
                    self._park(visits[0].uuid, "too_large: refused by the server even alone", now)
                    counts.invalid += 1
                    continue
                batch = max(1, len(visits) // 2)
                if exc.max_visits is not None:
                    batch = max(1, min(batch, exc.max_visits))
                log.info("batch of %d visits too large; trying %d", len(visits), batch)
                continue
            except InvalidVisit as exc:
                counts.retries += 1
                if exc.index is not None and 0 <= exc.index < len(visits):
                    bad = visits[exc.index]
                elif len(visits) == 1:
                    bad = visits[0]
                else:  # the server did not say which: narrow it down
                    batch = max(1, len(visits) // 2)
                    continue
                self._park(bad.uuid, f"invalid: {exc.detail or exc}", now)
                counts.invalid += 1
                continue
            counts.sent += len(visits)
            stored = result.uuids(VisitStatus.STORED)
            duplicates = result.uuids(VisitStatus.DUPLICATE)
            # Only after the server's answer: a kill before this line sends them again ("duplicate").
            self._store.acknowledge([*stored, *duplicates], at=now)
            counts.stored += len(stored)
            counts.duplicates += len(duplicates)
            conflicts = [r for r in result.results if r.status is VisitStatus.CONFLICT]
            for conflict in conflicts:
                self._park(
                    conflict.uuid, f"conflict: {conflict.detail or 'another visit has this UUID'}", now
                )
            counts.conflicts += len(conflicts)
            if not (stored or duplicates or conflicts):
                raise RetryableError(f"the server answered none of the {len(visits)} visits sent")

    def _park(self, visit_uuid: str, reason: str, now: datetime) -> None:
        if self._store.park(visit_uuid, reason, at=now):
            log.warning("visit %s parked (never sent again): %s", visit_uuid, reason)

    def _maybe_heartbeat(self, reading: ClockReading, counts: _Counts) -> None:
        mono = self._monotonic()
        if self._last_heartbeat is not None and mono - self._last_heartbeat < self._sync.heartbeat_s:
            return
        counts.contacted = True
        self._client.heartbeat(self.heartbeat_payload(reading))
        self._last_heartbeat = mono
        counts.heartbeat_sent = True

    def heartbeat_payload(self, reading: ClockReading) -> dict[str, Any]:
        """The heartbeat as the protocol has it; a field nobody knows is null."""
        health: dict[str, Any] = {}
        if self._health_source is not None:
            try:
                health = self._health_source() or {}
            except Exception:  # the app's health is optional: never let it stop the upload
                log.warning("cannot read the app's health", exc_info=True)
        oldest = self._store.oldest_pending()
        disk_free_mb = health.get("disk_free_mb")
        if disk_free_mb is None:
            try:
                disk_free_mb = self._store.free_bytes() // _MIB
            except StoreError:
                disk_free_mb = None
        location = self._config.location
        return {
            "sent_at": reading.wall.isoformat(timespec="milliseconds"),
            "clock_synchronised": reading.synchronised,
            "version": __version__,
            "camera_state": health.get("camera_state"),
            "frame_rate": health.get("frame_rate"),
            "decode_ms_p50": health.get("decode_ms_p50"),
            "backlog": self._store.backlog(),
            "oldest_pending_at": oldest.isoformat(timespec="milliseconds") if oldest else None,
            "parked": self._store.parked_count(),
            "disk_free_mb": disk_free_mb,
            "location": {
                "code": location.code,
                "name": location.name,
                "address": location.address,
                "district": location.district,
            },
        }

    def _maybe_pull_config(self, now: datetime, counts: _Counts) -> str | None:
        """Ask for the configuration when due; the error text of a refused document (kept: the old one)."""
        mono = self._monotonic()
        if self._last_config_poll is not None and mono - self._last_config_poll < self._sync.config_poll_s:
            return None
        counts.contacted = True
        # The applied index is the truth: without it, ask for everything again.
        current = read_server_config(self._state.state_dir)
        result = self._client.config(current.etag if current is not None else None)
        self._last_config_poll = mono
        if not isinstance(result, ConfigResult):
            return None
        try:
            forget = forget_list(result.document)
            if forget:
                counts.forgotten = self._store.forget(forget)
                if counts.forgotten:
                    log.warning(
                        "forgot %d visits of %d identity hashes on the province's deletion requests",
                        counts.forgotten,
                        len(forget),
                    )
            self._state.apply_config(result, at=now)
        except (ProtocolError, ForbiddenError) as exc:
            log.error("the server's configuration was refused; the last one stays: %s", exc)
            return f"configuration refused: {exc}"
        counts.config_etag = result.etag
        counts.config_applied = True
        log.info("applied the server's configuration %s", result.etag)
        return None

    def _persist(self, saved: WorkerState, now: datetime, *, online: bool, backlog: int) -> None:
        try:
            self._state.save(saved)
            self._state.write_status(
                SyncStatus(
                    written_at=now,
                    online=online,
                    last_success_at=saved.last_success_at,
                    last_error=saved.last_error,
                    backlog=backlog,
                    parked=saved.parked,
                    auth_refused=saved.auth_refused,
                    next_attempt_at=saved.backoff.next_attempt_at,
                    forgotten=saved.forgotten,
                )
            )
        except SyncError as exc:  # the next cycle tries again; the outbox itself is intact
            log.error("cannot save the sync state: %s", exc)

    # -- the loop -------------------------------------------------------------------------------------

    def next_wait_s(self) -> float:
        """Seconds until the next cycle is worth running: the back-off, else the idle wait."""
        backoff = self._saved.backoff
        if backoff.next_attempt_at is None:  # the last cycle succeeded: look at the outbox again later
            return self._idle_wait_s
        # After a failure: the back-off, 0 when it already ran out during the failed cycle (a read timeout
        # longer than the jittered delay) — not the idle wait, which would stall a kiosk with a backlog.
        return backoff.wait_s(self._clock.now().wall, longest_s=self._backoff.longest_s)

    def run(
        self, stop: threading.Event, on_cycle: Callable[[CycleReport], None] | None = None
    ) -> CycleReport:
        """Run cycles until ``stop`` is set (between batches too) or the token is refused; return the last
        report. ``on_cycle`` sees every cycle that contacted the server or failed."""
        self._stop = stop
        report = CycleReport(attempted=False)
        try:
            while not stop.is_set():
                report = self.run_once()
                if on_cycle is not None and (report.contacted or report.error):
                    on_cycle(report)
                if report.auth_refused:
                    break
                stop.wait(self.next_wait_s())
        finally:
            self._stop = None
        return report

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()
