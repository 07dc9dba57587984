"""Layer: hardware. 2D barcode scanners: serial / USB-CDC (``SerialScanner``) and HID keyboard-wedge
(``HidScanner``). Their payloads are raw bytes that enter the same pipeline as camera reads.

Which mode keeps Vietnamese intact, and how to set a scanner up: ``docs/scanners.md``.
"""

from __future__ import annotations

from hardware.scanner.base import Backoff, PayloadCallback, ReconnectingReader, Scanner, StatusCallback
from hardware.scanner.hid import HidScanner, KeyDecoder
from hardware.scanner.serial import LineFramer, SerialScanner
from kiosk.config import ScannerConfig

__all__ = [
    "Backoff",
    "HidScanner",
    "KeyDecoder",
    "LineFramer",
    "PayloadCallback",
    "ReconnectingReader",
    "Scanner",
    "SerialScanner",
    "StatusCallback",
    "make_scanners",
]


def make_scanners(config: ScannerConfig, *, on_status: StatusCallback | None = None) -> list[Scanner]:
    """The scanners named in ``[scanner]`` (none, one or both), not yet started.

    Nothing is opened here: each scanner opens its device on its reader thread and keeps retrying with
    back-off, so a scanner plugged in after start-up is picked up. ``on_status`` hears each scanner's
    changes of state (see ``ReconnectingReader``).
    """
    scanners: list[Scanner] = []
    if config.serial_port:
        scanners.append(SerialScanner(config.serial_port, config.serial_baud, on_status=on_status))
    if config.hid_device:
        scanners.append(HidScanner(config.hid_device, on_status=on_status))
    return scanners
