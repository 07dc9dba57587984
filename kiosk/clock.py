"""Layer: core. Clocks: a wall clock for validity windows and records, a monotonic clock for debounce.

A Raspberry Pi has no battery clock, so every reading says whether the wall clock was synchronised, and
carries the boot id and time since boot; the server uses them to correct or flag records.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from kiosk.model import ClockReading

# systemd-timesyncd touches this file once the clock has been synchronised since boot.
_TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


class Clock(Protocol):
    def now(self) -> ClockReading: ...


class SystemClock:
    """The real clocks of this machine."""

    def __init__(self) -> None:
        try:
            self._boot_id = _BOOT_ID.read_text(encoding="ascii").strip()
        except OSError:
            self._boot_id = "unknown"

    def now(self) -> ClockReading:
        return ClockReading(
            wall=datetime.now(UTC),
            synchronised=_TIMESYNC_FLAG.exists(),
            boot_id=self._boot_id,
            monotonic_s=time.monotonic(),
        )


@dataclass
class FakeClock:
    """A clock that moves only when told to (tests, demos, replay)."""

    wall: datetime
    monotonic_s: float = 1000.0
    synchronised: bool = True
    boot_id: str = "fake-boot"

    def now(self) -> ClockReading:
        return ClockReading(self.wall, self.synchronised, self.boot_id, self.monotonic_s)

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.monotonic_s += seconds
