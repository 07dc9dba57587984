"""Layer: hardware. ``FrameGrabber``: reads a camera on its own thread, keeps only the newest frame, and
supervises the camera.

::

    supervisor thread ──starts──▶ reader thread: open() → read() → read() → …  (publishes the newest Frame)
          │ watches the time of the last frame and the reader's errors
          ▼
    silent for lost_after_s, or read/open raised → LOST: close() the camera (unblocks a stalled read),
    wait for the reader to end, back off (reopen_min_s doubling to reopen_max_s), start a new reader
    → RUNNING again on its first frame

Frames are never queued: a consumer slower than the camera sees the newest frame and skipped ``seq``
numbers, so the scan loop never works on the past. ``seq`` keeps increasing across reopens, so a consumer's
``after_seq`` stays meaningful. A blocked ``read()`` cannot be interrupted from Python; that is why reads run
on a thread of their own, watched by the supervisor, and why cameras make ``close()`` release such a read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Self

from hardware.camera.base import Camera
from kiosk.device import CameraState, CameraStatus, DeviceError, Frame

log = logging.getLogger(__name__)

FPS_WINDOW_S = 1.0
JOIN_TIMEOUT_S = 5.0


class FrameGrabber:
    """A ``kiosk.device.FrameSource`` over a ``Camera``. ``on_status`` is called on the grabber's threads."""

    def __init__(
        self,
        camera: Camera,
        *,
        lost_after_s: float,
        reopen_max_s: float,
        reopen_min_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        on_status: Callable[[CameraStatus], None] | None = None,
    ) -> None:
        self.camera = camera
        self.lost_after_s = lost_after_s
        self.reopen_max_s = reopen_max_s
        self.reopen_min_s = min(reopen_min_s, reopen_max_s)
        self._clock = clock
        self._on_status = on_status
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._seq = 0
        self._times: deque[float] = deque()
        self._state = CameraState.STOPPED
        self._detail = ""
        self._attempts = 0
        self._session = 0  # a reader publishes only while its session is current
        self._last_frame_s = 0.0
        self._reader_error: str | None = None
        self._stopping = False
        self._started = False
        self._supervisor: threading.Thread | None = None
        self._reader: threading.Thread | None = None

    # -- FrameSource --------------------------------------------------------------------------------

    def latest(self, after_seq: int, timeout_s: float) -> Frame | None:
        """The newest frame with ``seq > after_seq``, waiting up to ``timeout_s``; None if none came."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._stopping or (self._frame is not None and self._frame.seq > after_seq),
                timeout=timeout_s,
            )
            frame = self._frame
        return frame if frame is not None and frame.seq > after_seq else None

    def status(self) -> CameraStatus:
        with self._cond:
            return self._status_locked()

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the supervisor (idempotent). The camera is opened on the reader thread."""
        with self._cond:
            if self._started:
                return
            self._started = True
            self._stopping = False
        self._set_state(CameraState.STARTING, "")
        self._supervisor = threading.Thread(target=self._supervise, name="camera-supervisor", daemon=True)
        self._supervisor.start()

    def stop(self) -> None:
        """Stop the threads and close the camera. Idempotent; waits for the threads to end."""
        with self._cond:
            if self._stopping or not self._started:
                self._stopping = True
                return
            self._stopping = True
            self._cond.notify_all()
        self.camera.close()  # unblocks a reader waiting in the driver
        self._join(self._supervisor)
        # A reader started just before the stop may have opened the camera after the first close.
        self.camera.close()
        self._join(self._reader)
        self._set_state(CameraState.STOPPED, "")

    @staticmethod
    def _join(thread: threading.Thread | None) -> None:
        if thread is None:
            return
        thread.join(JOIN_TIMEOUT_S)
        if thread.is_alive():
            log.error("camera thread %s did not end (read hung in the driver)", thread.name)

    close = stop

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- supervisor ---------------------------------------------------------------------------------

    def _supervise(self) -> None:
        delay = self.reopen_min_s
        while True:
            reader = self._start_reader()
            problem = self._watch()
            if problem is None:  # stopping
                break
            with self._cond:
                attempt = self._attempts + 1 if self._state is CameraState.LOST else 1
                had_frames = self._state is CameraState.RUNNING
            if had_frames:
                delay = self.reopen_min_s
            self._set_state(CameraState.LOST, problem, attempts=attempt)
            self.camera.close()  # makes a stalled read return or raise, per the Camera contract
            if not self._wait_for_reader(reader):
                break
            with self._cond:
                self._cond.wait_for(lambda: self._stopping, timeout=delay)
                if self._stopping:
                    break
            delay = min(delay * 2, self.reopen_max_s)
            log.debug("reopening %s (attempt %d)", self.camera.name, attempt)

    def _start_reader(self) -> threading.Thread:
        with self._cond:
            self._session += 1
            self._reader_error = None
            self._last_frame_s = self._clock()
            session = self._session
        reader = threading.Thread(target=self._read_loop, args=(session,), name="camera-reader", daemon=True)
        self._reader = reader
        reader.start()
        return reader

    def _watch(self) -> str | None:
        """Wait until the reader fails or goes silent (the problem, for the screen) or we stop (None)."""
        with self._cond:
            while not self._stopping:
                if self._reader_error is not None:
                    return self._reader_error
                silent_s = self._clock() - self._last_frame_s
                if silent_s >= self.lost_after_s:
                    return f"no frame from {self.camera.name} for {silent_s:.1f} s"
                self._cond.wait(timeout=min(self.lost_after_s - silent_s, self.lost_after_s / 4))
            return None

    def _wait_for_reader(self, reader: threading.Thread) -> bool:
        """Wait for the old reader to end before reopening the camera it used; False if we are stopping."""
        warned = False
        while reader.is_alive():
            reader.join(timeout=min(self.lost_after_s, 0.5))
            with self._cond:
                if self._stopping:
                    return False
            if reader.is_alive() and not warned:
                warned = True
                # The camera's close() should have released the read; until it returns, reopening the
                # same device would share it, so stay LOST and keep waiting.
                self._set_state(CameraState.LOST, f"{self.camera.name}: read is hung in the driver")
        return True

    # -- reader -------------------------------------------------------------------------------------

    def _read_loop(self, session: int) -> None:
        try:
            with self._cond:
                if self._stopping:
                    return
            self.camera.open()
            while True:
                gray, full = self.camera.read()
                now = self._clock()
                with self._cond:
                    if self._stopping or session != self._session:
                        return
                    self._seq += 1
                    self._frame = Frame(gray=gray, seq=self._seq, captured_s=now, full=full)
                    self._last_frame_s = now
                    self._times.append(now)
                    while self._times and now - self._times[0] > FPS_WINDOW_S:
                        self._times.popleft()
                    recovered = self._state is not CameraState.RUNNING
                    self._cond.notify_all()
                if recovered:
                    self._set_state(CameraState.RUNNING, "", attempts=0)
        except Exception as exc:
            # Any failure (DeviceError, or a driver's own exception) is a lost camera, never a dead thread.
            with self._cond:
                if session == self._session and not self._stopping:
                    # Our cameras name themselves in their messages; a library's own error gets the name here.
                    named = isinstance(exc, DeviceError)
                    self._reader_error = str(exc) if named else f"{self.camera.name}: {exc!r}"
                    self._cond.notify_all()

    # -- status -------------------------------------------------------------------------------------

    def _status_locked(self) -> CameraStatus:
        now = self._clock()
        while self._times and now - self._times[0] > FPS_WINDOW_S:
            self._times.popleft()
        fps = 0.0
        if len(self._times) >= 2:
            span = self._times[-1] - self._times[0]
            fps = (len(self._times) - 1) / span if span > 0 else 0.0
        return CameraStatus(self._state, fps, self._detail, self._attempts)

    def _set_state(self, state: CameraState, detail: str, *, attempts: int | None = None) -> None:
        with self._cond:
            before = (self._state, self._detail, self._attempts)
            previous = self._state
            self._state, self._detail = state, detail
            if attempts is not None:
                self._attempts = attempts
            if (self._state, self._detail, self._attempts) == before:
                return
            status = self._status_locked()
            self._cond.notify_all()
        if state is not previous:
            # Once per transition, not per frame or per retry: a lost camera must not flood the journal.
            level = logging.WARNING if state is CameraState.LOST else logging.INFO
            log.log(level, "camera %s: %s%s", self.camera.name, state.value, f" ({detail})" if detail else "")
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:
                # A broken listener must not kill the supervisor: the camera would never be reopened.
                log.exception("camera status listener failed")
