"""Layer: core. Capped exponential back-off with full jitter, and ``Retry-After``.

After the ``n``-th failure in a row (``attempt`` counts from 0) the worker waits
``random.uniform(0, min(cap, base * 2**attempt))`` seconds ("full jitter", AWS Architecture Blog, "Exponential
Backoff And Jitter"): a fleet of kiosks coming back after an outage does not knock on the server in step.
When the server said ``Retry-After``, the wait is at least that (capped at ``MAX_RETRY_AFTER_S``).

The state (failures in a row, the wall time of the next attempt) is a frozen value that the worker persists
in ``state.json``, so a restart neither forgets the back-off nor hammers the server. The random source and the
time are passed in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

#: The longest ``Retry-After`` honoured: a server asking for more is waited on for this long.
MAX_RETRY_AFTER_S: Final = 3600.0
#: 2**60 seconds is far past any cap; the exponent stops there so the float never overflows.
_MAX_EXPONENT: Final = 60


@dataclass(frozen=True, slots=True)
class BackoffState:
    """Failures in a row and when the next attempt may be made (None: at once)."""

    attempt: int = 0
    next_attempt_at: datetime | None = None

    def wait_s(self, now: datetime, *, longest_s: float) -> float:
        """Seconds from ``now`` until the next attempt, 0 when it is due.

        At most ``longest_s``: a Pi has no battery clock, and a wall clock set back after the state was saved
        must not make the kiosk wait for days.
        """
        if self.next_attempt_at is None:
            return 0.0
        remaining = (self.next_attempt_at - now).total_seconds()
        return min(max(remaining, 0.0), longest_s)


class Backoff:
    """The back-off rule: ``base_s`` and ``cap_s`` (seconds), and the random source."""

    def __init__(self, base_s: float, cap_s: float, rng: random.Random) -> None:
        if not 0 < base_s <= cap_s:
            raise ValueError(f"need 0 < base_s <= cap_s, got base_s={base_s}, cap_s={cap_s}")
        self.base_s = base_s
        self.cap_s = cap_s
        self._rng = rng

    @property
    def longest_s(self) -> float:
        """The longest any one wait can be."""
        return max(self.cap_s, MAX_RETRY_AFTER_S)

    def ceiling_s(self, attempt: int) -> float:
        """The upper end of the jitter after failure number ``attempt`` (from 0): ``min(cap, base * 2**attempt)``."""
        return min(self.cap_s, self.base_s * 2.0 ** min(max(attempt, 0), _MAX_EXPONENT))

    def delay_s(self, attempt: int, retry_after_s: float | None = None) -> float:
        """The wait after failure number ``attempt``: full jitter, but at least ``retry_after_s`` (capped)."""
        delay = self._rng.uniform(0.0, self.ceiling_s(attempt))
        if retry_after_s is not None:
            delay = max(delay, min(max(retry_after_s, 0.0), MAX_RETRY_AFTER_S))
        return delay

    def failed(self, state: BackoffState, now: datetime, retry_after_s: float | None = None) -> BackoffState:
        """The state after one more failure at ``now``."""
        delay = self.delay_s(state.attempt, retry_after_s)
        return BackoffState(state.attempt + 1, now + timedelta(seconds=delay))

    def gave_up(self, state: BackoffState, now: datetime) -> BackoffState:
        """After an answer that retrying soon cannot change (403, an unexpected status): wait the cap."""
        return BackoffState(state.attempt + 1, now + timedelta(seconds=self.cap_s))

    @staticmethod
    def succeeded() -> BackoffState:
        return BackoffState()
