"""Layer: hardware. What every 2D scanner offers, and the reader thread they share.

A scanner hands each payload it reads, as the raw bytes it received, to a callback; the core decodes
them (UTF-8, NFC, checks) exactly as it decodes a camera read. ``ReconnectingReader`` owns the thread:
open the device, read until it fails, close it, reopen with capped exponential back-off — so a scanner
unplugged and plugged back in just works again, and its loss is logged once, not once per retry.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

log = logging.getLogger(__name__)

PayloadCallback = Callable[[bytes], None]


class Scanner(Protocol):
    """A 2D scanner: ``start`` begins reading in the background; ``on_payload`` gets each read's bytes."""

    def start(self, on_payload: PayloadCallback) -> None: ...

    def close(self) -> None: ...


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

    def __init__(self, name: str, *, backoff: Backoff | None = None) -> None:
        self.name = name
        self._backoff = backoff or Backoff()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = threading.Event()
        self._on_payload: PayloadCallback | None = None

    @property
    def connected(self) -> bool:
        """True while the device is open and being read (for the status screen)."""
        return self._connected.is_set()

    def start(self, on_payload: PayloadCallback) -> None:
        """Start the reader thread; ``on_payload`` is called on that thread, one call per payload."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} already started")
        if self._stop.is_set():
            raise RuntimeError(f"{self.name} is closed")
        self._on_payload = on_payload
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
        lost_logged = False
        while not self._stop.is_set():
            try:
                self._open()
            except OSError as exc:
                if not lost_logged:
                    log.warning("%s unavailable (%s); retrying in the background", self.name, exc)
                    lost_logged = True
                else:
                    log.debug("%s still unavailable: %s", self.name, exc)
                self._stop.wait(self._backoff.next_delay())
                continue
            if lost_logged:
                log.info("%s is back", self.name)
                lost_logged = False
            self._backoff.reset()
            self._connected.set()
            try:
                while not self._stop.is_set():
                    self._read_some()
            except OSError as exc:  # unplugged: ENODEV/EIO, pyserial's SerialException is an OSError too
                log.warning("%s lost (%s); reopening with back-off", self.name, exc)
                lost_logged = True
            finally:
                self._connected.clear()
                self._release()
            if lost_logged:
                self._stop.wait(self._backoff.next_delay())

    @abstractmethod
    def _open(self) -> None:
        """Open (and, for HID, grab) the device; raise OSError if it is not there. Reader thread."""

    @abstractmethod
    def _read_some(self) -> None:
        """Wait briefly for input, and ``_emit`` every payload it completes. Reader thread."""

    @abstractmethod
    def _release(self) -> None:
        """Close the device; must not raise. Reader thread."""
