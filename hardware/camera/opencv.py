"""Layer: hardware. USB/V4L2 webcams through OpenCV (imported lazily).

Opened by a stable path (``/dev/v4l/by-id/...``, which survives re-plugging into another port) or an index.
MJPG is asked for because most UVC webcams only reach their full rate at 640×480 and above compressed.
The driver's buffer queue is shrunk to one so ``read`` returns a recent frame, not one from a second ago.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import Any

from hardware.camera.base import CameraBase, FramePair, fit, manual_value, to_gray
from kiosk.config import CameraConfig
from kiosk.device import DeviceError

log = logging.getLogger(__name__)

BY_ID = Path("/dev/v4l/by-id")


def default_device() -> int | str:
    """The first webcam under ``/dev/v4l/by-id`` (a stable name), else index 0."""
    try:
        # "-video-index0" is a device's capture node; index1 is usually its metadata node.
        names = sorted(p for p in BY_ID.iterdir() if p.name.endswith("-video-index0"))
    except OSError:
        names = []
    return str(names[0]) if names else 0


def parse_device(text: str) -> int | str:
    """``"0"`` → 0, a path stays a path."""
    text = text.strip()
    if not text:
        raise DeviceError("opencv: empty device (use opencv:INDEX or opencv:/dev/v4l/by-id/...)")
    return int(text) if text.isdigit() else text


class OpenCVCamera(CameraBase):
    """A V4L2 webcam. ``read_timeout_s`` bounds a read where the OpenCV backend honours it."""

    def __init__(
        self,
        device: int | str,
        config: CameraConfig,
        *,
        read_timeout_s: float = 2.0,
        api_preference: int | None = None,
    ) -> None:
        self.device = device
        # None: V4L2 on Linux. Tests pass CAP_FFMPEG to run this code on a video file standing in for a device.
        self.api_preference = api_preference
        self.config = config
        self.read_timeout_s = read_timeout_s
        self.name = f"opencv:{device}"
        self._lock = threading.Lock()
        self._cap: Any = None
        self._reading = False
        self._closed = True
        self._warned_size = False

    def open(self) -> None:
        with self._lock:
            if self._reading:
                # A read abandoned by close() is still inside the driver; opening again now would share it.
                raise DeviceError(f"{self.name}: the previous read has not returned yet")
            if self._cap is not None and not self._closed:
                return
        if isinstance(self.device, str) and not Path(self.device).exists():
            raise DeviceError(f"{self.name}: device {self.device} does not exist")
        import cv2  # noqa: PLC0415 - OpenCV only where it is needed

        backend = self.api_preference
        if backend is None:
            backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        cap = cv2.VideoCapture(self.device, backend)
        if not cap.isOpened():
            cap.release()
            raise DeviceError(f"{self.name}: cannot open the camera (unplugged, busy or not a camera?)")
        try:
            self._configure(cap, cv2)
        except BaseException:
            cap.release()
            raise
        with self._lock:
            self._cap = cap
            self._closed = False
        log.info("%s opened", self.name)

    def _configure(self, cap: Any, cv2: Any) -> None:
        cfg = self.config
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, cfg.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, cfg.height)
        cap.set(cv2.CAP_PROP_FPS, cfg.fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        # Not every OpenCV backend honours a read timeout; the grabber's watchdog covers the rest.
        cap.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout_s * 1000))
        exposure = manual_value(cfg.exposure, "exposure")
        if exposure is not None:
            # V4L2: auto-exposure 1 = manual; exposure_time_absolute is in units of 100 µs.
            cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, 1)
            if not cap.set(cv2.CAP_PROP_EXPOSURE, exposure / 100.0):
                log.warning("%s: the driver has no manual exposure control", self.name)
        focus = manual_value(cfg.focus, "focus")
        if focus is None:
            cap.set(cv2.CAP_PROP_AUTOFOCUS, 1)
        else:
            cap.set(cv2.CAP_PROP_AUTOFOCUS, 0)
            if not cap.set(cv2.CAP_PROP_FOCUS, focus):
                log.warning("%s: the driver has no manual focus control", self.name)
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC))
        codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4))
        log.debug(
            "%s: %s %dx%d at %.1f fps",
            self.name,
            codec,
            int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            cap.get(cv2.CAP_PROP_FPS),
        )

    def read(self) -> FramePair:
        with self._lock:
            cap = self._cap
            if cap is None or self._closed:
                raise DeviceError(f"{self.name}: camera is closed")
            self._reading = True
        try:
            ok, image = cap.read()
        finally:
            with self._lock:
                self._reading = False
                abandoned = self._closed
                if abandoned:
                    # close() came from another thread during the read: release here, after the driver
                    # returned, because releasing a VideoCapture under a running read is unsafe.
                    self._release_locked()
        if abandoned:
            raise DeviceError(f"{self.name}: camera closed during read")
        if not ok or image is None:
            raise DeviceError(f"{self.name}: no frame (camera unplugged or stalled?)")
        gray = to_gray(image)
        size = (self.config.width, self.config.height)
        if gray.shape[::-1] != size and not self._warned_size:
            self._warned_size = True
            log.warning("%s: driver gives %dx%d, resized to %dx%d", self.name, *gray.shape[::-1], *size)
        return fit(gray, size)

    def close(self) -> None:
        """Idempotent; safe from any thread (a read in progress releases the device when it returns)."""
        with self._lock:
            self._closed = True
            if not self._reading:
                self._release_locked()

    def _release_locked(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()
            log.info("%s closed", self.name)
