"""Layer: hardware. 2D barcode scanners: serial / USB-CDC (``SerialScanner``) and HID keyboard-wedge
(``HidScanner``). Their payloads are raw bytes that enter the same pipeline as camera reads.

Which mode keeps Vietnamese intact, and how to set a scanner up: ``docs/scanners.md``.
"""

from __future__ import annotations

from collections.abc import Callable

from hardware.scanner.base import Backoff, PayloadCallback, ReconnectingReader, Scanner, StatusCallback
from hardware.scanner.hid import HidScanner, KeyDecoder
from hardware.scanner.serial import LineFramer, SerialScanner
from kiosk.config import ScannerConfig
from kiosk.device import SCANNER_BACKENDS

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
    for name, key in SCANNER_BACKENDS.items():
        device = getattr(config, key)
        if device:
            scanners.append(BUILDERS[name](device, config, on_status))
    return scanners


#: How each registered scanner back end is built (``kiosk.device.SCANNER_BACKENDS``).
BUILDERS: dict[str, Callable[[str, ScannerConfig, StatusCallback | None], Scanner]] = {
    "serial": lambda device, config, on_status: SerialScanner(
        device, config.serial_baud, on_status=on_status
    ),
    "hid": lambda device, _config, on_status: HidScanner(device, on_status=on_status),
}
