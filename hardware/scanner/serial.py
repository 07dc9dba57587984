"""Layer: hardware. A 2D scanner in serial or USB-CDC (virtual COM port) mode, read through pyserial.

This is the mode that carries Vietnamese intact: the scanner sends the QR code's bytes as they are (UTF-8
for CCCD names and addresses), and nothing here decodes them — the core does, exactly as for a camera read.
Payloads are framed by a CR, LF or CRLF suffix (set the scanner to send one), and, for scanners that send
no suffix, by a pause between bytes (``idle_timeout_s``). See ``docs/scanners.md``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from hardware.scanner.base import Backoff, ReconnectingReader, StatusCallback, describe_os_error
from kiosk.device import DeviceError

log = logging.getLogger(__name__)

_TERMINATORS = b"\r\n"
#: A QR code holds at most 2,953 bytes; anything far longer without a break is line noise, not a payload.
MAX_PAYLOAD_BYTES = 8192


class LineFramer:
    """Splits a byte stream into payloads. Pure: the caller passes the monotonic time of each chunk.

    CR, LF and CRLF all end a payload (empty payloads between them are dropped). If ``idle_timeout_s`` is
    set, pending bytes with no new byte for that long also end a payload. A run longer than
    ``max_bytes`` without a break is discarded up to the next break, never handed on truncated.
    """

    def __init__(self, idle_timeout_s: float | None = 0.3, max_bytes: int = MAX_PAYLOAD_BYTES) -> None:
        self.idle_timeout_s = idle_timeout_s
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self._last_byte_s = 0.0
        self._discarding = False

    def feed(self, data: bytes, now_s: float) -> list[bytes]:
        """Add bytes received at ``now_s``; return the payloads they complete, in order."""
        out = self.flush_if_idle(now_s)
        payloads = [out] if out else []
        if data:
            self._last_byte_s = now_s
        for byte in data:
            if byte in _TERMINATORS:
                if self._buffer and not self._discarding:
                    payloads.append(bytes(self._buffer))
                self._buffer.clear()
                self._discarding = False
            elif not self._discarding:
                self._buffer.append(byte)
                if len(self._buffer) > self.max_bytes:
                    log.warning("scanner sent over %d bytes without a break; discarding them", self.max_bytes)
                    self._buffer.clear()
                    self._discarding = True
        return payloads

    def flush_if_idle(self, now_s: float) -> bytes | None:
        """The pending payload if no byte came for ``idle_timeout_s``, else None."""
        if self.idle_timeout_s is None or now_s - self._last_byte_s < self.idle_timeout_s:
            return None
        pending = None if self._discarding or not self._buffer else bytes(self._buffer)
        self._buffer.clear()
        self._discarding = False
        return pending

    def reset(self) -> None:
        """Forget a half-received payload (the device went away mid-read)."""
        self._buffer.clear()
        self._discarding = False


class SerialPort(Protocol):
    """The part of ``serial.Serial`` used here."""

    @property
    def in_waiting(self) -> int: ...

    def read(self, size: int = 1) -> bytes: ...

    def close(self) -> None: ...


class SerialScanner(ReconnectingReader):
    """A serial / USB-CDC 2D scanner on ``port`` (e.g. ``/dev/ttyACM0`` or a ``/dev/serial/by-id/`` path).

    ``open_serial`` is called as ``open_serial(port=..., baudrate=..., timeout=..., exclusive=True)``;
    it defaults to ``serial.Serial`` (imported when the reader thread first opens the port). A port that
    cannot be opened, a baud rate its driver refuses, or pyserial missing make the scanner FAILED with the
    reason and what to do (``status()``), and it keeps retrying.
    """

    #: How long one read waits for a first byte; bounds how long ``close`` and idle detection lag.
    read_timeout_s = 0.05

    def __init__(
        self,
        port: str,
        baud: int = 115200,
        *,
        open_serial: Callable[..., SerialPort] | None = None,
        idle_timeout_s: float | None = 0.3,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_status: StatusCallback | None = None,
    ) -> None:
        super().__init__(f"serial scanner {port}", backoff=backoff, on_status=on_status)
        self.port = port
        self.baud = baud
        self._open_serial = open_serial
        self._framer = LineFramer(idle_timeout_s)
        self._clock = clock
        self._serial: SerialPort | None = None

    def _open(self) -> None:
        """Open the port (reader thread)."""
        opener: Callable[..., Any] | None = self._open_serial
        if opener is None:
            try:
                import serial  # noqa: PLC0415 - pyserial is optional; imported on first use
            except ImportError as exc:
                raise DeviceError(
                    "pyserial is not installed — apt install python3-serial / pip install pyserial"
                ) from exc
            opener = serial.Serial
        # exclusive: a second reader (a stray getty, ModemManager probing a ttyACM) would steal bytes.
        self._serial = opener(port=self.port, baudrate=self.baud, timeout=self.read_timeout_s, exclusive=True)
        self._framer.reset()

    def _problem(self, exc: Exception) -> str:
        """A serial port's errors in the words of the person fixing it (reader thread)."""
        if isinstance(exc, (ValueError, OverflowError)):
            # pyserial: "Not a valid baudrate", or the driver refused a custom rate; a huge int overflows.
            return (
                f"baud rate {self.baud} not accepted by the port — set scanner.serial_baud to the scanner's "
                "rate (usually 9600 or 115200)"
            )
        if isinstance(exc, OSError) and exc.errno is not None:
            return describe_os_error(
                exc,
                config_key="scanner.serial_port",
                group="dialout",
                busy="in use by another program (another kiosk, ModemManager, a serial console) — stop it",
            )
        if isinstance(exc, OSError):
            # pyserial's own SerialException without an errno: "device reports readiness to read but
            # returned no data (device disconnected …)" after an unplug, "Could not configure port" for a
            # path that is not a serial device.
            return f"{exc} — check the cable and scanner.serial_port"
        return super()._problem(exc)

    def _read_some(self) -> None:
        """Read what has arrived (reader thread): wait up to ``read_timeout_s`` for a byte, then drain."""
        port = self._serial
        assert port is not None
        data = port.read(1)
        if data:
            waiting = port.in_waiting
            if waiting:
                data += port.read(waiting)
        for payload in self._framer.feed(data, self._clock()):
            self._emit(payload)

    def _release(self) -> None:
        """Close the port (reader thread); a payload cut off by an unplug is dropped."""
        port, self._serial = self._serial, None
        self._framer.reset()
        if port is not None:
            try:
                port.close()
            except OSError as exc:
                log.debug("%s: close failed: %s", self.name, exc)
