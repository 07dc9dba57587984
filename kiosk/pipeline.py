"""Layer: core. The scan pipeline: payload (or grayscale frame) → parse → decide → record → verdict.

Used by ``kiosk scan``, the demo, and (later) the camera scan loop and the touchscreen app. The pipeline
never raises for a bad payload or a storage fault: every outcome is a ``Verdict`` the gate can act on.
Methods are called from whichever single thread owns the pipeline (the scan worker); it is not shared.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kiosk.config import PolicyConfig
from kiosk.errors import OutOfServiceError, PayloadError, StorageFullError, StoreError
from kiosk.identity import IdentityKeyring, IdentitySet
from kiosk.model import ClockReading, Decision, Direction, Outcome, Reason, Symbol, Visit
from kiosk.payloads import parse
from kiosk.policy import LocalState, decide

if TYPE_CHECKING:
    from kiosk.payloads.trust import TrustList
    from kiosk.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What happened to one scanned code: the decision, and whether (and as what) it was recorded."""

    decision: Decision
    visit: Visit | None
    #: why it was not recorded (``repeat``, ``not_recorded``, ``out_of_service``), None when recorded
    not_recorded: Reason | None = None
    symbol: Symbol | None = None
    #: the way the gate counted this code (the pipeline's direction when it was handled)
    direction: Direction = Direction.IN

    @property
    def outcome(self) -> Outcome:
        # Every entry must be recorded. A kiosk below its free-space floor is out of service and opens
        # nothing; a visit that could not be written (disk full) goes to the guard, who admits by hand.
        if self.not_recorded is Reason.OUT_OF_SERVICE:
            return Outcome.REFUSED
        if self.not_recorded is Reason.NOT_RECORDED and self.decision.outcome is Outcome.GRANTED:
            return Outcome.NEEDS_GUARD
        return self.decision.outcome

    @property
    def reason(self) -> Reason:
        if self.not_recorded in (Reason.OUT_OF_SERVICE, Reason.NOT_RECORDED):
            return self.not_recorded
        return self.decision.reason

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.GRANTED


class ScanPipeline:
    """Parse, decide and record. ``decode`` turns a grayscale frame into symbols (the Decoder)."""

    def __init__(
        self,
        *,
        store: Store,
        policy: PolicyConfig,
        direction: Direction,
        keyring: IdentityKeyring,
        trust: TrustList | None = None,
        deny: IdentitySet | None = None,
        roster: IdentitySet | None = None,
        decode: Callable[[np.ndarray], list[Symbol]] | None = None,
    ) -> None:
        self._store = store
        self._policy = policy
        self._keyring = keyring
        self._trust = trust
        self._deny = deny if deny is not None else IdentitySet()
        self._roster = roster if roster is not None else IdentitySet()
        self._decode = decode
        self._last_seen: dict[str, float] = {}
        self._failed: StoreError | None = None
        self.direction = Direction.IN if direction is Direction.BOTH else direction

    def update(
        self,
        *,
        policy: PolicyConfig,
        trust: TrustList | None,
        deny: IdentitySet,
        roster: IdentitySet,
    ) -> None:
        """Use a new policy, trust list, deny list and roster from the next code on (a configuration pulled
        from the provincial server). Safe from any thread: each is one immutable object swapped by reference,
        so a code being decided sees the old one or the new one, never half of one."""
        self._policy = policy
        self._trust = trust
        self._deny = deny
        self._roster = roster

    @property
    def failed(self) -> StoreError | None:
        """The error that stopped recording, or None. Once the database fails (damaged, unreadable, its file
        gone) nothing more is recorded: every verdict says "not recorded", and the owner of the pipeline
        should exit so that systemd restarts the kiosk and the store moves a damaged file aside at open."""
        return self._failed

    def resume(self, recent: Iterable[Visit], now: ClockReading) -> int:
        """Carry the repeat window over a restart: visits recorded earlier in this boot (same boot id,
        so their monotonic times compare with ``now``) count as seen. Returns how many were taken.
        Only hashes made with the current identity key compare with new ones."""
        taken = 0
        current = self._keyring.current.key_id
        for visit in recent:
            if (
                visit.identity_hash
                and visit.identity_key_id == current
                and visit.at.boot_id == now.boot_id
                and visit.at.monotonic_s <= now.monotonic_s
            ):
                seen = self._last_seen.get(visit.identity_hash)
                if seen is None or visit.at.monotonic_s > seen:
                    self._last_seen[visit.identity_hash] = visit.at.monotonic_s
                    taken += 1
        return taken

    def handle_frame(self, gray: np.ndarray, at: ClockReading) -> list[Verdict]:
        """Decode a frame and handle every symbol in it."""
        if self._decode is None:
            raise RuntimeError("this pipeline was built without a decoder")
        return [self.handle_payload(s.raw, at, symbol=s) for s in self._decode(gray)]

    def handle_payload(
        self, payload: bytes | str, at: ClockReading, *, symbol: Symbol | None = None
    ) -> Verdict:
        direction = self.direction  # read once: the guard may switch it while this code is handled
        try:
            credential = parse(payload, now=at.wall, trust=self._trust)
        except PayloadError as exc:
            decision = decide(exc, self._state(), at, self._policy)
        else:
            decision = decide(credential, self._state(), at, self._policy)
        if decision.repeat:
            return Verdict(decision, None, Reason.REPEAT, symbol, direction)
        if self._failed is not None:
            return Verdict(decision, None, Reason.NOT_RECORDED, symbol, direction)
        try:
            visit = self._store.record(decision, at=at, direction=direction)
        except OutOfServiceError:
            log.error("out of service: free disk space is below the floor; visit not recorded")
            return Verdict(decision, None, Reason.OUT_OF_SERVICE, symbol, direction)
        except StorageFullError:
            log.error("disk full: visit not recorded (stored visits are intact)")
            return Verdict(decision, None, Reason.NOT_RECORDED, symbol, direction)
        except StoreError as exc:
            # One line, once: the database will not come back by itself, and a log line (or a traceback)
            # per visitor would bury the reason.
            self._failed = exc
            log.error("the visit database failed, recording stopped: %s", exc)
            return Verdict(decision, None, Reason.NOT_RECORDED, symbol, direction)
        if decision.identity_hash is not None:
            self._last_seen[decision.identity_hash] = at.monotonic_s
        return Verdict(decision, visit, None, symbol, direction)

    def _state(self) -> LocalState:
        return LocalState(
            keyring=self._keyring, deny=self._deny, roster=self._roster, last_seen=self._last_seen
        )
