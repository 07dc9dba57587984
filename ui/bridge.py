"""Layer: ui. The bridge from the scan worker's threads to the GUI thread, and the preview pump.

::

    scan-loop thread ──publish_verdict / publish_hint──┐
    camera threads ────publish_camera_status───────────┤  signals (queued to the GUI thread,
    ui-status thread ──backlog, every second───────────┤  where the bridge lives)
    ui-preview thread ─newest frame → resize → QImage──┘──────────────▶ widgets

``ScanBridge`` is a QObject created on the GUI thread. Its ``publish_*`` methods are called on the
workers' threads: they turn core values into view-models there (``ui.viewmodel``) and emit signals. Qt
delivers a signal emitted on another thread to receivers on the GUI thread as a queued event (auto
connection), so a widget is only ever touched on the GUI thread (STYLE 16) and the scan loop never waits
for the screen.

``PreviewPump`` reads the grabber's newest frame on its own thread, scales it with OpenCV to the size the
preview widget asked for and converts it to a ``QImage`` there (only ``ui`` converts arrays to images). It
sends at most one frame at a time: until the widget says it painted the last one (``frame_shown``), newer
frames are dropped, so a slow screen shows fewer frames and never queues them or slows the scan loop.

``StatusPoller`` asks the store how many visits wait to be sent once a second on its own thread: the GUI
thread never touches the database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from kiosk.device import CameraStatus, FrameSource
from kiosk.hints import Hint
from kiosk.model import Gray
from kiosk.scanloop import LoopVerdict
from ui.viewmodel import CameraView, VerdictView, verdict_view

log = logging.getLogger(__name__)

#: The preview is refreshed at most this often: a Pi display runs at 60 Hz, the camera at 30 frames/s.
PREVIEW_MAX_FPS = 30.0
BACKLOG_POLL_S = 1.0
#: How often the WAL is checkpointed while the app runs (as ``kiosk run --headless`` does).
HOUSEKEEPING_EVERY_S = 60.0
#: How often the app's health file is written for the sync worker's heartbeats (``kiosk.health``).
HEALTH_EVERY_S = 15.0


class ScanBridge(QObject):
    """Signals from the scan worker to the screens. Create it on the GUI thread."""

    decided = Signal(object)  # VerdictView
    hinted = Signal(object)  # kiosk.hints.Hint
    camera_changed = Signal(object)  # CameraView
    backlog_changed = Signal(int)
    online_changed = Signal(bool)  # the sync worker's last word: online (True) or not
    frame_ready = Signal(QImage)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._listeners: list[Callable[[LoopVerdict], None]] = []

    def add_verdict_listener(self, listener: Callable[[LoopVerdict], None]) -> None:
        """Also call ``listener`` with every published verdict, on the scan thread (the demo prints them)."""
        self._listeners.append(listener)

    # -- called on worker threads ---------------------------------------------------------------------

    def publish_verdict(self, published: LoopVerdict) -> None:
        """``ScanLoop(on_verdict=...)``. Called on the scan-loop thread."""
        for listener in self._listeners:
            try:
                listener(published)
            except Exception:
                log.exception("a verdict listener failed")
        self.decided.emit(verdict_view(published))

    def publish_hint(self, hint: Hint) -> None:
        """``ScanLoop(on_hint=...)``. Called on the scan-loop thread."""
        self.hinted.emit(hint)

    def publish_camera_status(self, status: CameraStatus) -> None:
        """``FrameGrabber(on_status=...)``. Called on the camera's threads."""
        self.camera_changed.emit(CameraView(status.state, status.fps))

    def publish_backlog(self, backlog: int) -> None:
        """Called on the status poller's thread."""
        self.backlog_changed.emit(backlog)

    def publish_online(self, online: bool) -> None:
        """Called on the status poller's thread."""
        self.online_changed.emit(online)


def to_qimage(gray: Gray, width: int, height: int) -> QImage:
    """A grayscale frame scaled to fit ``width`` × ``height`` (aspect kept) as a QImage that owns its
    pixels. Called on the preview thread; OpenCV does the scaling there, not the GUI thread's painter."""
    import cv2  # noqa: PLC0415 - OpenCV loads lazily, as everywhere else

    h, w = gray.shape[:2]
    scale = min(width / w, height / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size != (w, h):
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        gray = np.asarray(cv2.resize(gray, size, interpolation=interpolation), dtype=np.uint8)
    gray = np.ascontiguousarray(gray)
    image = QImage(gray.data, gray.shape[1], gray.shape[0], gray.strides[0], QImage.Format.Format_Grayscale8)
    return image.copy()  # detach from the numpy buffer, which dies with this call


class PreviewPump:
    """Newest camera frame → scaled QImage → ``bridge.frame_ready``, one frame in flight at a time."""

    def __init__(
        self,
        frames: FrameSource,
        bridge: ScanBridge,
        *,
        max_fps: float = PREVIEW_MAX_FPS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._frames = frames
        self._bridge = bridge
        self._min_interval_s = 1.0 / max_fps
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._size = (640, 480)
        self._shown = threading.Event()
        self._shown.set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.dropped = 0

    def set_target_size(self, width: int, height: int) -> None:
        """The preview widget's size in device pixels. Called on the GUI thread when it is resized."""
        with self._lock:
            self._size = (max(16, width), max(16, height))

    def frame_shown(self) -> None:
        """The widget painted the last frame; the next may come. Called on the GUI thread."""
        self._shown.set()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="ui-preview", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        """Runs on the preview thread."""
        last_seq = -1
        last_sent_s = -1e9
        while not self._stop.is_set():
            try:
                frame = self._frames.latest(last_seq, 0.2)
            except Exception:
                log.exception("reading a preview frame failed")
                self._stop.wait(0.2)
                continue
            if frame is None:
                continue
            last_seq = frame.seq
            if not self._shown.is_set():
                self.dropped += 1  # the screen has not caught up: never queue frames for it
                continue
            wait_s = last_sent_s + self._min_interval_s - self._monotonic()
            if wait_s > 0 and self._stop.wait(wait_s):
                return
            with self._lock:
                width, height = self._size
            try:
                image = to_qimage(frame.gray, width, height)
            except Exception:
                log.exception("scaling a preview frame failed")
                continue
            self._shown.clear()
            last_sent_s = self._monotonic()
            self.sent += 1
            self._bridge.frame_ready.emit(image)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread and wait for it. Idempotent."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)

    close = stop

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class StatusPoller:
    """Reads the backlog (a database query) and the sync worker's status off the GUI thread and publishes
    them when they change; runs the store's housekeeping (the WAL checkpoint) and writes the app's health
    file for the sync worker's heartbeats there too."""

    def __init__(
        self,
        backlog: Callable[[], int],
        bridge: ScanBridge,
        *,
        period_s: float = BACKLOG_POLL_S,
        housekeeping: Callable[[], object] | None = None,
        housekeeping_every_s: float = HOUSEKEEPING_EVERY_S,
        online: Callable[[], bool] | None = None,
        health: Callable[[], object] | None = None,
        health_every_s: float = HEALTH_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._backlog = backlog
        self._bridge = bridge
        self._period_s = period_s
        self._housekeeping = housekeeping
        self._housekeeping_every_s = housekeeping_every_s
        self._online = online
        self._health = health
        self._health_every_s = health_every_s
        self._monotonic = monotonic
        self._next_housekeeping_s = monotonic() + housekeeping_every_s
        self._next_health_s = monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_backlog: int | None = None
        self.last_online: bool | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="ui-status", daemon=True)
            self._thread.start()

    def poll(self) -> None:
        """One look at the backlog. Called on the poller's thread (or a test's)."""
        try:
            backlog = self._backlog()
        except Exception:
            log.exception("reading the backlog failed")
            return
        if backlog != self.last_backlog:
            self.last_backlog = backlog
            self._bridge.publish_backlog(backlog)
        if self._online is None:
            return
        try:
            online = self._online()
        except Exception:
            log.exception("reading the sync status failed")
            online = False
        if online != self.last_online:
            self.last_online = online
            self._bridge.publish_online(online)

    def _run(self) -> None:
        while True:
            self.poll()
            if self._housekeeping is not None and self._monotonic() >= self._next_housekeeping_s:
                self._next_housekeeping_s = self._monotonic() + self._housekeeping_every_s
                try:
                    self._housekeeping()
                except Exception:
                    log.exception("housekeeping failed")
            if self._health is not None and self._monotonic() >= self._next_health_s:
                self._next_health_s = self._monotonic() + self._health_every_s
                try:
                    self._health()
                except Exception:
                    log.exception("writing the health file failed")
            if self._stop.wait(self._period_s):
                return

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)

    close = stop

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


__all__ = ["PreviewPump", "ScanBridge", "StatusPoller", "VerdictView", "to_qimage"]
