"""Layer: hardware. ``ScriptedCamera``: a camera whose behaviour a test switches while it runs.

Shipped beside the real cameras (as gpiozero ships ``MockFactory``) so that every layer's tests — the frame
grabber's, the scan loop's, the app's — drive the same fake instead of each writing its own. It is a test
double: ``make_camera`` never builds it and ``auto`` never falls back to it; a test constructs it by name.

Modes (``ScriptedMode``), switched from any thread with ``set_mode``:

- ``ok``: a frame every ``period_s``, like a driver delivering at its frame rate;
- ``raise``: ``open`` and ``read`` raise ``DeviceError`` (a camera pulled out);
- ``stall``: ``read`` blocks until the camera is closed or the mode changes (a USB camera that stops
  delivering: ``close`` releases the read, as the real backends make it do);
- ``hang``: ``read`` blocks even through ``close``, until the mode changes (a driver that never returns).

Frames are the ``frames`` given, in order and looping, or else flat frames of ``size`` whose grey level
goes up by one per frame, so a test can tell frames apart.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from enum import StrEnum

import numpy as np

from hardware.camera.base import CameraBase, FramePair
from kiosk.device import DeviceError
from kiosk.model import Gray


class ScriptedMode(StrEnum):
    OK = "ok"
    RAISE = "raise"
    STALL = "stall"
    HANG = "hang"


class ScriptedCamera(CameraBase):
    """A ``Camera`` driven by a test. ``opens`` counts real opens; ``blocked`` is True while a read waits."""

    def __init__(
        self,
        *,
        frames: Sequence[Gray] = (),
        size: tuple[int, int] = (16, 12),
        period_s: float = 0.005,
        name: str = "scripted",
    ) -> None:
        self.name = name
        self.frames = list(frames)
        self.size = size  # (width, height) of the generated frames when ``frames`` is empty
        self.period_s = period_s
        self.mode = ScriptedMode.OK
        self.opens = 0
        self.reads = 0  # frames handed out since construction
        self.blocked = False
        self._cond = threading.Condition()
        self._open = False

    def set_mode(self, mode: ScriptedMode | str) -> None:
        """Switch behaviour; a read blocked in ``stall`` or ``hang`` looks at the new mode at once."""
        with self._cond:
            self.mode = ScriptedMode(mode)
            self._cond.notify_all()

    def open(self) -> None:
        with self._cond:
            if self.mode is ScriptedMode.RAISE:
                raise DeviceError(f"{self.name}: no such device (unplugged)")
            if self._open:
                return
            self._open = True
            self.opens += 1

    def read(self) -> FramePair:
        with self._cond:
            waited = False
            while True:
                if self.mode is ScriptedMode.HANG or (self.mode is ScriptedMode.STALL and self._open):
                    self.blocked = True
                    self._cond.notify_all()
                    self._cond.wait()
                    continue
                self.blocked = False
                if not self._open:
                    raise DeviceError(f"{self.name}: camera is closed")
                if self.mode is ScriptedMode.RAISE:
                    raise DeviceError(f"{self.name}: read failed (unplugged)")
                if waited:
                    break
                # The frame interval of a real camera; then look at the mode again, as a driver would.
                self._cond.wait(timeout=self.period_s)
                waited = True
            index = self.reads
            self.reads += 1
        if self.frames:
            return self.frames[index % len(self.frames)], None
        width, height = self.size
        return np.full((height, width), (index + 1) % 256, dtype=np.uint8), None

    def wait_until_blocked(self, timeout_s: float = 5.0) -> None:
        """Wait until a read is blocked in ``stall``/``hang`` (so every earlier frame was handed over).

        Raises ``TimeoutError`` when no read blocked within ``timeout_s``.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: self.blocked, timeout=timeout_s):
                raise TimeoutError(f"{self.name}: no read blocked within {timeout_s:g} s")

    def close(self) -> None:
        """Idempotent; from any thread. Releases a read blocked in ``stall`` (not one in ``hang``)."""
        with self._cond:
            self._open = False
            self._cond.notify_all()
