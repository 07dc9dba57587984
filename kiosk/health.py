"""Layer: core. The app's health, as the sync worker reads it for its heartbeats.

The gate app (``kiosk run``) and the sync worker (``kiosk sync``) are separate processes; the outbox is
their only contract for visits. What the province's dashboard wants to know about the gate itself (camera
state, frame rate, decode time) the app writes every few seconds to a small JSON file beside the sync
worker's state, replaced atomically; the worker puts it into its next heartbeat. A file older than
``max_age_s`` means the app is not running (or stuck): the heartbeat then says ``app_running: false``
instead of repeating stale figures.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.fileio import replace_atomically

__all__ = ["HEALTH_FILE", "DeviceHealth", "read_health", "write_health"]

#: The file's name inside ``sync.state_dir``.
HEALTH_FILE = "health.json"
#: Bigger than any real health file: a larger one is not read (a damaged or foreign file).
_MAX_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """One look at the running gate."""

    written_at: datetime  # timezone-aware wall time
    camera_state: str  # kiosk.device.CameraState value
    frame_rate: float
    decode_ms: float  # the last frame's decode time
    loop_ok: bool  # the scan loop turned recently

    def to_json(self) -> dict[str, Any]:
        return {
            "written_at": self.written_at.astimezone(UTC).isoformat(),
            "camera_state": self.camera_state,
            "frame_rate": round(self.frame_rate, 1),
            "decode_ms": round(self.decode_ms, 2),
            "loop_ok": self.loop_ok,
        }


def write_health(path: Path, health: DeviceHealth) -> None:
    """Replace the health file (``OSError`` when it cannot be written; the caller logs and goes on)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(health.to_json(), sort_keys=True).encode("utf-8")
    replace_atomically(path, data, mode=0o640)


def read_health(path: Path, *, now: datetime, max_age_s: float = 60.0) -> DeviceHealth | None:
    """The app's last health, or None when there is none, it is damaged, or older than ``max_age_s``."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(_MAX_BYTES + 1)
    except OSError:
        return None
    if len(raw) > _MAX_BYTES:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
        health = DeviceHealth(
            written_at=datetime.fromisoformat(str(data["written_at"])),
            camera_state=str(data["camera_state"])[:40],
            frame_rate=_finite(data["frame_rate"]),
            decode_ms=_finite(data["decode_ms"]),
            loop_ok=bool(data["loop_ok"]),
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
        return None
    if health.written_at.tzinfo is None:
        return None
    age_s = (now - health.written_at).total_seconds()
    if age_s > max_age_s or age_s < -max_age_s:
        return None
    return health


def _finite(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return float(value)
