"""Layer: hardware. Raspberry Pi camera modules through picamera2 (imported lazily; on a Pi it comes from the
OS package ``python3-picamera2``, never from pip).

Two streams of the same scene: the low-resolution stream in YUV420 at the configured size, whose Y plane is
the grayscale frame the decoder reads every time, and the main stream (about 1080 lines, the same aspect),
whose Y plane is passed as ``full`` for the decoder's rare main-stream fallbacks. Both come from one request,
so they show the same instant. Modules with autofocus (Camera Module 3) run it continuously over the full
range, because visitors hold phones close and at varying distances.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from hardware.camera.base import CameraBase, FramePair, manual_value
from kiosk.config import CameraConfig
from kiosk.device import DeviceError
from kiosk.model import Gray

log = logging.getLogger(__name__)

# libcamera's enum values (controls::AfModeEnum, AfRangeEnum), used when libcamera's bindings are absent.
AF_MODE_CONTINUOUS = 2
AF_RANGE_FULL = 2
MAIN_MAX = (1920, 1080)


def main_size(width: int, height: int) -> tuple[int, int]:
    """The main stream's size: the lores aspect, as large as fits in 1920×1080, never below lores."""
    scale = max(1.0, min(MAIN_MAX[0] / width, MAIN_MAX[1] / height))
    # Even sizes: YUV420 halves both chroma dimensions.
    return (int(width * scale) // 2 * 2, int(height * scale) // 2 * 2)


class Picamera2Camera(CameraBase):
    """A Pi camera module. ``read`` waits at most ``read_timeout_s`` for a request."""

    def __init__(self, config: CameraConfig, *, camera_num: int = 0, read_timeout_s: float = 2.0) -> None:
        self.config = config
        self.camera_num = camera_num
        self.read_timeout_s = read_timeout_s
        self.name = f"picamera2:{camera_num}"
        self._lock = threading.Lock()
        self._cam: Any = None
        self._closed = True
        self.autofocus = False

    def open(self) -> None:
        with self._lock:
            if self._cam is not None and not self._closed:
                return
        try:
            from picamera2 import Picamera2  # noqa: PLC0415 - only on a Pi, from the OS package
        except ImportError as exc:
            raise DeviceError(f"{self.name}: picamera2 is not installed ({exc})") from exc
        try:
            cameras = Picamera2.global_camera_info()
        except Exception as exc:
            raise DeviceError(f"{self.name}: libcamera failed to list cameras: {exc}") from exc
        if len(cameras) <= self.camera_num:
            raise DeviceError(f"{self.name}: no camera module connected (libcamera found {len(cameras)})")
        cam: Any = None
        try:
            cam = Picamera2(self.camera_num)
            self._configure(cam)
            cam.start()
        except Exception as exc:
            if cam is not None:
                _quietly_close(cam)
            raise DeviceError(f"{self.name}: cannot start the camera: {exc}") from exc
        with self._lock:
            self._cam = cam
            self._closed = False
        log.info("%s opened (%s)", self.name, cameras[self.camera_num].get("Model", "unknown model"))

    def _configure(self, cam: Any) -> None:
        cfg = self.config
        lores = (cfg.width, cfg.height)
        controls: dict[str, Any] = {"FrameRate": float(cfg.fps)}
        exposure = manual_value(cfg.exposure, "exposure")
        if exposure is not None:
            controls["ExposureTime"] = int(exposure)  # microseconds
        config = cam.create_video_configuration(
            main={"size": main_size(*lores), "format": "YUV420"},
            lores={"size": lores, "format": "YUV420"},
            controls=controls,
            buffer_count=4,
        )
        cam.configure(config)
        available = getattr(cam, "camera_controls", {}) or {}
        focus = manual_value(cfg.focus, "focus")
        if "AfMode" in available:
            if focus is None:
                af = {"AfMode": _af_enum("AfModeEnum", "Continuous", AF_MODE_CONTINUOUS)}
                if "AfRange" in available:
                    af["AfRange"] = _af_enum("AfRangeEnum", "Full", AF_RANGE_FULL)
                cam.set_controls(af)
                self.autofocus = True
            else:
                cam.set_controls({"AfMode": _af_enum("AfModeEnum", "Manual", 0), "LensPosition": focus})
        elif focus is not None:
            log.warning("%s: this module has a fixed-focus lens; camera.focus ignored", self.name)

    def read(self) -> FramePair:
        with self._lock:
            cam = self._cam
            if cam is None or self._closed:
                raise DeviceError(f"{self.name}: camera is closed")
        try:
            # wait=False gives a job whose wait() takes a timeout; a plain capture_request() can block forever.
            job = cam.capture_request(wait=False)
            request = cam.wait(job, timeout=self.read_timeout_s)
        except TimeoutError as exc:
            raise DeviceError(f"{self.name}: no frame for {self.read_timeout_s:g} s") from exc
        except Exception as exc:
            raise DeviceError(f"{self.name}: capture failed: {exc}") from exc
        try:
            lores = request.make_array("lores")
            main = request.make_array("main")
        except Exception as exc:
            raise DeviceError(f"{self.name}: bad frame: {exc}") from exc
        finally:
            request.release()  # give the buffer back to libcamera at once; the arrays are copies
        width, height = self.config.width, self.config.height
        return _y_plane(lores, width, height), _y_plane(main, *main_size(width, height))

    def close(self) -> None:
        """Idempotent; from any thread. Stopping the camera makes a waiting read time out or fail."""
        with self._lock:
            self._closed = True
            cam, self._cam = self._cam, None
        if cam is not None:
            _quietly_close(cam)
            log.info("%s closed", self.name)


def _y_plane(array: Any, width: int, height: int) -> Gray:
    """The Y plane of a YUV420 array (``height * 3 / 2`` rows: Y, then U and V)."""
    import numpy as np  # noqa: PLC0415

    y = np.asarray(array)[:height, :width]
    if y.shape != (height, width):
        raise DeviceError(f"YUV420 frame of shape {np.asarray(array).shape} is smaller than {width}x{height}")
    return np.ascontiguousarray(y, dtype=np.uint8)


def _af_enum(enum: str, member: str, fallback: int) -> Any:
    try:
        from libcamera import controls  # noqa: PLC0415 - part of the OS camera stack on a Pi
    except ImportError:
        return fallback
    return getattr(getattr(controls, enum), member)


def _quietly_close(cam: Any) -> None:
    for step in ("stop", "close"):
        try:
            getattr(cam, step)()
        except Exception:
            # A half-started or already-unplugged camera can fail to stop; closing must still release it.
            log.debug("picamera2 %s failed", step, exc_info=True)
