"""Layer: hardware. What every 2D scanner offers, and the reader thread they share.

A scanner hands each payload it reads, as the raw bytes it received, to a callback; the core decodes
them (UTF-8, NFC, checks) exactly as it decodes a camera read. ``ReconnectingReader`` owns the thread:
open the device, read until it fails, close it, reopen with capped exponential back-off — so a scanner
unplugged and plugged back in just works again.

Whatever stops a scanner — no such device, no permission, a baud rate the driver refuses, a missing optional
library (pyserial, evdev) — is a state, never a dead thread::

    STOPPED ──start()──▶ STARTING ──opened──▶ RUNNING ──read fails──▶ FAILED ──back-off, reopened──▶ RUNNING
                             └──open fails──────────────────────────▶ FAILED ◀─┘ open fails again (retried)
    any state ──close()──▶ STOPPED

``status()`` gives the state with the reason and what to do (``kiosk.device.ScannerStatus``), for the health
report, ``kiosk doctor`` and the screen; ``on_status`` hears every change. The log gets one line per change
of state or of reason, not one per retry (those are DEBUG).
"""

from __future__ import annotations

import errno
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from kiosk.device import DeviceError, ScannerState, ScannerStatus

log = logging.getLogger(__name__)

PayloadCallback = Callable[[bytes], None]
StatusCallback = Callable[[ScannerStatus], None]


class Scanner(Protocol):
    """A 2D scanner: ``start`` begins reading in the background; ``on_payload`` gets each read's bytes."""

    name: str

    def start(self, on_payload: PayloadCallback) -> None: ...

    def status(self) -> ScannerStatus: ...

    def close(self) -> None: ...


def describe_os_error(exc: OSError, *, config_key: str, group: str, busy: str) -> str:
    """What an ``OSError`` from opening or reading a scanner means for the person at the kiosk, and what to do.

    ``config_key`` names the setting that holds the device path, ``group`` the Unix group that gives access,
    ``busy`` what to say when another program holds the device.
    """
    code = exc.errno
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return f"no such device — check the cable or {config_key}"
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied — add the kiosk user to the {group} group"
    if code in (errno.EBUSY, errno.EAGAIN):
        return busy
    if code == errno.EIO:
        return "input/output error — unplugged? check the cable"
    return str(exc) or type(exc).__name__


class Backoff:
    """Capped exponential back-off: ``initial_s``, doubled per failure up to ``max_s``; ``reset`` on success."""

    def __init__(self, initial_s: float = 0.5, max_s: float = 5.0) -> None:
        if not 0 < initial_s <= max_s:
            raise ValueError("back-off needs 0 < initial_s <= max_s")
        self.initial_s = initial_s
        self.max_s = max_s
        self._next_s = initial_s

    def next_delay(self) -> float:
        delay = self._next_s
        self._next_s = min(self._next_s * 2, self.max_s)
        return delay

    def reset(self) -> None:
        self._next_s = self.initial_s


class ReconnectingReader(ABC):
    """A background reader that reopens its device with back-off. Subclasses implement the device parts.

    ``_open``, ``_read_some`` and ``_release`` run on the reader thread only. ``_read_some`` must return
    within a fraction of a second (a short read timeout) so that ``close`` never waits long.
    """

    def __init__(
        self, name: str, *, backoff: Backoff | None = None, on_status: StatusCallback | None = None
    ) -> None:
        """``on_status`` hears each change of state or reason: on the reader thread, and on the caller's
        thread for ``start`` (STARTING). It must return quickly and not call ``close``."""
        self.name = name
        self._backoff = backoff or Backoff()
        self._on_status = on_status
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = threading.Event()
        self._on_payload: PayloadCallback | None = None
        self._lock = threading.Lock()
        self._status = ScannerStatus(name, ScannerState.STOPPED)

    @property
    def connected(self) -> bool:
        """True while the device is open and being read (for the status screen)."""
        return self._connected.is_set()

    def status(self) -> ScannerStatus:
        """The current state, with the reason and what to do when failed. Any thread."""
        with self._lock:
            return self._status

    def start(self, on_payload: PayloadCallback) -> None:
        """Start the reader thread; ``on_payload`` is called on that thread, one call per payload."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} already started")
        if self._stop.is_set():
            raise RuntimeError(f"{self.name} is closed")
        self._on_payload = on_payload
        self._set_status(ScannerStatus(self.name, ScannerState.STARTING))
        self._thread = threading.Thread(target=self._run, name=f"scanner {self.name}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the reader thread and release the device. Idempotent."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _emit(self, payload: bytes) -> None:
        """Hand one payload to the callback (reader thread). A failing callback must not end the reader."""
        if not payload or self._on_payload is None:
            return
        try:
            self._on_payload(payload)
        except Exception:
            log.exception("%s: payload callback failed; the scanner keeps reading", self.name)

    def _run(self) -> None:
        """The reader thread: open, read until failure, release, back off, repeat until closed."""
        while not self._stop.is_set():
            try:
                self._open()
            except Exception as exc:  # any failure to open is a failed scanner, never a dead thread
                self._stop.wait(self._failed(exc))
                continue
            self._backoff.reset()
            self._connected.set()
            self._running()
            failure: Exception | None = None
            try:
                while not self._stop.is_set():
                    self._read_some()
            except Exception as exc:  # unplugged: ENODEV/EIO, pyserial's SerialException is an OSError too
                failure = exc
            finally:
                self._connected.clear()
                self._release()
            if failure is not None and not self._stop.is_set():
                self._stop.wait(self._failed(failure))
        self._set_status(ScannerStatus(self.name, ScannerState.STOPPED))

    def _running(self) -> None:
        """The device is open (reader thread): one line in the log, one status change."""
        previous = self.status()
        if previous.state is ScannerState.FAILED:
            log.info("%s is back", self.name)
        else:
            log.info("%s running", self.name)
        self._set_status(ScannerStatus(self.name, ScannerState.RUNNING))

    def _failed(self, exc: Exception) -> float:
        """Record a failed open or read (reader thread); returns how long to back off before the next try.

        One log line when the scanner fails and when the reason changes; every retry after that is DEBUG.
        """
        detail = self._problem(exc)
        previous = self.status()
        delay = self._backoff.next_delay()
        failures = previous.failures + 1 if previous.state is ScannerState.FAILED else 1
        news = previous.state is not ScannerState.FAILED or detail != previous.detail
        if news and not isinstance(exc, (OSError, DeviceError)):
            log.debug("%s: %s", self.name, type(exc).__name__, exc_info=exc)  # not a device error: for -v
        if previous.state is ScannerState.RUNNING:
            log.warning("%s lost (%s); reopening with back-off", self.name, detail)
        elif previous.state is not ScannerState.FAILED:
            log.warning("%s unavailable (%s); retrying in the background", self.name, detail)
        elif detail != previous.detail:
            log.info("%s still unavailable, now: %s", self.name, detail)
        else:
            log.debug(
                "%s still unavailable: %s (attempt %d, next in %.2f s)", self.name, detail, failures, delay
            )
        self._set_status(ScannerStatus(self.name, ScannerState.FAILED, detail, failures, delay))
        return delay

    def _set_status(self, status: ScannerStatus) -> None:
        """Store ``status``; tell ``on_status`` when the state or the reason changed (not per retry)."""
        with self._lock:
            previous, self._status = self._status, status
        if (previous.state, previous.detail) == (status.state, status.detail) or self._on_status is None:
            return
        try:
            self._on_status(status)
        except Exception:
            # A broken listener must not end the reader: the scanner would never be reopened.
            log.exception("%s: status listener failed", self.name)

    def _problem(self, exc: Exception) -> str:
        """What ``exc`` means and what to do, for the status and the log (reader thread).

        Subclasses translate their device's errors (see ``describe_os_error``); a ``DeviceError`` already
        says it in its message.
        """
        if isinstance(exc, DeviceError):
            return str(exc)
        if isinstance(exc, OSError):
            return str(exc) or type(exc).__name__
        return f"{type(exc).__name__}: {exc}"

    @abstractmethod
    def _open(self) -> None:
        """Open (and, for HID, grab) the device (reader thread). Raise ``OSError`` if it is not there, a
        ``DeviceError`` saying what to do for a missing library; any exception makes the scanner FAILED."""

    @abstractmethod
    def _read_some(self) -> None:
        """Wait briefly for input, and ``_emit`` every payload it completes. Reader thread."""

    @abstractmethod
    def _release(self) -> None:
        """Close the device; must not raise. Reader thread."""
