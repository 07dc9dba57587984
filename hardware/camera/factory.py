"""Layer: hardware. ``make_camera(config)``: the camera named by ``camera.source``, opened.

``auto`` tries a Pi camera module (picamera2), then a webcam (OpenCV), and logs each fallback at WARNING.
A backend named explicitly that fails is an error, never a silent fallback, and the replay and demo cameras
are reached only when asked for: a kiosk whose camera is missing must say so, not show a demo.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from hardware.camera.base import Camera
from hardware.camera.demo import DemoCamera
from hardware.camera.opencv import OpenCVCamera, default_device, parse_device
from hardware.camera.picamera2 import Picamera2Camera
from hardware.camera.replay import ReplayCamera
from kiosk.config import CameraConfig
from kiosk.device import DeviceError, parse_camera_source

log = logging.getLogger(__name__)


def make_camera(config: CameraConfig, *, clock: Callable[[], float] = time.monotonic) -> Camera:
    """The camera for ``config.source``, already opened (so a missing device fails here, loudly).

    The source is parsed by ``kiosk.device.parse_camera_source``, the registry that validation uses too.
    ``clock`` paces the replay and demo cameras. Raises ``DeviceError`` naming what was tried.
    """
    try:
        backend, argument = parse_camera_source(config.source)
    except ValueError as exc:
        raise DeviceError(f"camera.source {exc}") from exc
    if backend.name == "auto":
        return _auto(config)
    camera = BUILDERS[backend.name](config, argument, clock)
    _open(camera)
    return camera


#: How each registered back end is built (``kiosk.device.CAMERA_BACKENDS``; ``auto`` is ``_auto``).
BUILDERS: dict[str, Callable[[CameraConfig, str, Callable[[], float]], Camera]] = {
    "picamera2": lambda config, _arg, _clock: Picamera2Camera(config),
    "opencv": lambda config, arg, _clock: OpenCVCamera(
        parse_device(arg) if arg else default_device(), config
    ),
    "replay": lambda config, arg, clock: ReplayCamera(Path(arg), config, clock=clock),
    "demo": lambda config, _arg, clock: DemoCamera(config, clock=clock),
}


def _auto(config: CameraConfig) -> Camera:
    tried: list[str] = []
    candidates: list[Camera] = [Picamera2Camera(config), OpenCVCamera(default_device(), config)]
    for camera in candidates:
        try:
            _open(camera)
        except DeviceError as exc:
            tried.append(str(exc))
            log.warning("camera auto: %s; %s", exc, "trying the next" if camera is not candidates[-1] else "")
            continue
        log.info("camera auto: using %s", camera.name)
        return camera
    raise DeviceError("no camera found; tried " + "; ".join(tried))


def _open(camera: Camera) -> None:
    try:
        camera.open()
    except DeviceError:
        camera.close()
        raise
    except Exception as exc:
        camera.close()
        raise DeviceError(f"{camera.name}: {exc}") from exc
