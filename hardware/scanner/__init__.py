"""Layer: hardware. 2D barcode scanners: serial / USB-CDC (``SerialScanner``) and HID keyboard-wedge
(``HidScanner``). Their payloads are raw bytes that enter the same pipeline as camera reads.

Which mode keeps Vietnamese intact, and how to set a scanner up: ``docs/scanners.md``.
"""

from __future__ import annotations

from hardware.scanner.base import Backoff, PayloadCallback, ReconnectingReader, Scanner
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
    "make_scanners",
]


def make_scanners(config: ScannerConfig) -> list[Scanner]:
    """The scanners named in ``[scanner]`` (none, one or both), not yet started.

    Nothing is opened here: each scanner opens its device on its reader thread and keeps retrying with
    back-off, so a scanner plugged in after start-up is picked up.
    """
    scanners: list[Scanner] = []
    if config.serial_port:
        scanners.append(SerialScanner(config.serial_port, config.serial_baud))
    if config.hid_device:
        scanners.append(HidScanner(config.hid_device))
    return scanners
