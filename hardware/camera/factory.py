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
from kiosk.device import DeviceError

log = logging.getLogger(__name__)

ALLOWED = "auto, picamera2, opencv, opencv:DEVICE, replay:PATH, demo"


def make_camera(config: CameraConfig, *, clock: Callable[[], float] = time.monotonic) -> Camera:
    """The camera for ``config.source``, already opened (so a missing device fails here, loudly).

    ``clock`` paces the replay and demo cameras. Raises ``DeviceError`` naming what was tried.
    """
    source = config.source.strip()
    kind, _, arg = source.partition(":")
    camera: Camera
    if source == "auto":
        return _auto(config)
    if source == "picamera2":
        camera = Picamera2Camera(config)
    elif kind == "opencv":
        camera = OpenCVCamera(parse_device(arg) if arg else default_device(), config)
    elif kind == "replay" and arg:
        camera = ReplayCamera(Path(arg), config, clock=clock)
    elif source == "demo":
        camera = DemoCamera(config, clock=clock)
    else:
        raise DeviceError(f"camera.source {source!r} is not one of: {ALLOWED}")
    _open(camera)
    return camera


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
