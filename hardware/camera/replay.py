"""Layer: hardware. A camera that replays a folder of images or a video file, looping.

For demos, bug reproduction (record what the kiosk saw, replay it on a laptop) and benchmarks. Paced in real
time at the configured rate, or as fast as frames can be read (``realtime=False``). The clock and the sleep
are passed in so tests check the pacing without waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hardware.camera.base import CameraBase, FramePair, fit, to_gray
from kiosk.config import CameraConfig
from kiosk.device import DeviceError
from kiosk.model import Gray

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".webp"})


class ReplayCamera(CameraBase):
    """Frames from ``path``: a folder (images in name order) or a video file."""

    def __init__(
        self,
        path: Path,
        config: CameraConfig,
        *,
        realtime: bool | None = None,
        loop: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.config = config
        self.realtime = config.replay_realtime if realtime is None else realtime
        self.loop = loop
        self.name = f"replay:{self.path}"
        self._clock = clock
        self._wake = threading.Event()  # set by close() to cut a pacing sleep short
        self._sleep = sleep if sleep is not None else self._wake.wait
        self._lock = threading.Lock()
        self._open = False
        self._images: list[Path] = []
        self._video: Any = None
        self._index = 0  # frames handed out since open (pacing) and position in a folder
        self._start_s = 0.0
        self.loops = 0  # times the replay wrapped around to the first frame

    def open(self) -> None:
        with self._lock:
            if self._open:
                return
            if not self.path.exists():
                raise DeviceError(f"{self.name}: {self.path} does not exist")
            if self.path.is_dir():
                self._images = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
                if not self._images:
                    raise DeviceError(f"{self.name}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in it")
            else:
                self._video = self._open_video()
            self._wake.clear()
            self._index = 0
            self.loops = 0
            self._start_s = self._clock()
            self._open = True

    def _open_video(self) -> Any:
        import cv2  # noqa: PLC0415 - OpenCV only where it is needed

        video = cv2.VideoCapture(str(self.path))
        if not video.isOpened():
            video.release()
            raise DeviceError(f"{self.name}: not a video OpenCV can read")
        return video

    def read(self) -> FramePair:
        if self.realtime:
            self._pace()
        with self._lock:
            if not self._open:
                raise DeviceError(f"{self.name}: camera is closed")
            gray = self._next_locked()
            self._index += 1
        return fit(gray, (self.config.width, self.config.height))

    def _pace(self) -> None:
        """Wait until frame ``index`` is due at ``fps`` since open (no drift: due times are absolute)."""
        with self._lock:
            due = self._start_s + self._index / self.config.fps
        delay = due - self._clock()
        if delay > 0:
            self._sleep(delay)

    def _next_locked(self) -> Gray:
        if self._video is None:
            position = self._index % len(self._images)
            if position == 0 and self._index:
                self._wrapped()
            return self._load_image(self._images[position])
        ok, image = self._video.read()
        if not ok:
            self._wrapped()
            self._video.release()
            self._video = self._open_video()  # reopening is more reliable than seeking in MJPG/AVI
            ok, image = self._video.read()
            if not ok:
                raise DeviceError(f"{self.name}: the video has no readable frames")
        return to_gray(image)

    def _wrapped(self) -> None:
        if not self.loop:
            raise DeviceError(f"{self.name}: end of replay")
        self.loops += 1

    def _load_image(self, path: Path) -> Gray:
        import cv2  # noqa: PLC0415 - OpenCV only where it is needed

        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise DeviceError(f"{self.name}: cannot read image {path.name}")
        return to_gray(image)

    def close(self) -> None:
        """Idempotent; safe from any thread (a pacing sleep is cut short)."""
        self._wake.set()
        with self._lock:
            self._open = False
            video, self._video = self._video, None
            if video is not None:
                video.release()
