"""Layer: hardware. A 2D scanner in USB HID keyboard-wedge mode, read through evdev with an exclusive grab.

The scanner "types" each payload as key presses followed by Enter. The device is grabbed (``EVIOCGRAB``),
so its key presses reach only this reader: a payload containing ``q`` or ``Alt``-codes is data, never a
shortcut in the kiosk UI or the compositor.

**This mode cannot carry Vietnamese.** A keyboard sends key positions, not characters, and there is no key
for ``ễ``. Scanners either drop such characters, type a substitute such as ``?``, or type Alt+numpad codes
in a Windows code page; what arrives depends on the scanner model and its settings, never on the QR code.
A CCCD's name and address fields therefore arrive mangled. That cannot be detected in general: "Nguyn Vn
An" (dropped) or "Nguyen Van An" (stripped) are well-formed text, and a real name may contain no
diacritics at all — so do not use keyboard-wedge mode where names matter. Use the scanner's USB-CDC /
serial mode (``hardware.scanner.serial``) or the camera. ID numbers, dates, ``HC1:`` certificates and
other ASCII payloads come through intact.

Alt+numpad sequences are decoded for scanners set to send them: ``Alt+0NNN`` as a byte in ``alt_code_page``
(Windows "ANSI", cp1252 by default; cp1258 is the Vietnamese one), ``Alt+NNN`` as cp437 (Windows "OEM"),
and a value above 255 as a Unicode code point (inference: what some scanners' "Unicode" keyboard output
sends). Whether a given scanner's Alt-codes survive is something to check on the bench (docs/scanners.md).

``KeyDecoder`` is the pure part (key codes in, payload bytes out) and needs no evdev.
"""

from __future__ import annotations

import errno
import logging
import select
from collections.abc import Callable, Iterable
from typing import Any

from hardware.scanner.base import Backoff, ReconnectingReader, StatusCallback, describe_os_error
from kiosk.device import DeviceError

log = logging.getLogger(__name__)

EV_KEY = 1  # linux/input-event-codes.h; these numbers are kernel ABI and never change
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2

# Linux key codes → (unshifted, shifted) on a US layout, the layout scanners emulate by default.
_ROWS: dict[int, tuple[str, str]] = {
    2: ("1", "!"), 3: ("2", "@"), 4: ("3", "#"), 5: ("4", "$"), 6: ("5", "%"), 7: ("6", "^"),
    8: ("7", "&"), 9: ("8", "*"), 10: ("9", "("), 11: ("0", ")"), 12: ("-", "_"), 13: ("=", "+"),
    26: ("[", "{"), 27: ("]", "}"), 39: (";", ":"), 40: ("'", '"'), 41: ("`", "~"), 43: ("\\", "|"),
    51: (",", "<"), 52: (".", ">"), 53: ("/", "?"), 57: (" ", " "),
}  # fmt: skip
_LETTERS = {
    16: "q", 17: "w", 18: "e", 19: "r", 20: "t", 21: "y", 22: "u", 23: "i", 24: "o", 25: "p",
    30: "a", 31: "s", 32: "d", 33: "f", 34: "g", 35: "h", 36: "j", 37: "k", 38: "l",
    44: "z", 45: "x", 46: "c", 47: "v", 48: "b", 49: "n", 50: "m",
}  # fmt: skip
# Keypad keys, as typed with Num Lock on (scanners in "emulate keypad" mode send digits this way).
_KEYPAD_DIGITS = {82: 0, 79: 1, 80: 2, 81: 3, 75: 4, 76: 5, 77: 6, 71: 7, 72: 8, 73: 9}
_KEYPAD_OTHER = {55: "*", 74: "-", 78: "+", 83: ".", 98: "/"}
_ENTER = {28, 96}  # KEY_ENTER, KEY_KPENTER
_SHIFT = {42, 54}  # KEY_LEFTSHIFT, KEY_RIGHTSHIFT
_ALT = {56, 100}  # KEY_LEFTALT, KEY_RIGHTALT
_CTRL = {29, 97}  # KEY_LEFTCTRL, KEY_RIGHTCTRL
_CAPSLOCK = 58

#: A QR code holds at most 2,953 bytes; the keystroke buffer is capped well above that.
MAX_PAYLOAD_CHARS = 8192


class KeyDecoder:
    """Turns key events from a keyboard-wedge scanner into payloads. Pure; feed it ``(code, value)`` pairs.

    Shift (either), Caps Lock, Enter (either) and Alt+numpad are understood; Ctrl combinations, key
    repeats and keys without a character (F-keys, arrows, Tab, Esc) are ignored.
    """

    def __init__(self, *, alt_code_page: str = "cp1252") -> None:
        "".encode(alt_code_page)  # fail now on an unknown code page name, not mid-scan
        self.alt_code_page = alt_code_page
        self._text: list[str] = []
        self._shift: set[int] = set()
        self._alt: set[int] = set()
        self._ctrl: set[int] = set()
        self._caps = False
        self._alt_digits = ""

    def feed(self, code: int, value: int) -> bytes | None:
        """One key event (``value``: 1 down, 0 up, 2 repeat); returns a payload's UTF-8 bytes on Enter."""
        if value == KEY_UP:
            self._key_up(code)
            return None
        if value != KEY_DOWN:
            # Autorepeat comes from the kernel when a key is held, not from the scanner's data.
            return None
        if code in _SHIFT:
            self._shift.add(code)
            return None
        if code in _ALT:
            self._alt.add(code)
            return None
        if code in _CTRL:
            self._ctrl.add(code)
            return None
        if code == _CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in _ENTER:
            return self._finish()
        if self._alt:
            if code in _KEYPAD_DIGITS:
                self._alt_digits += str(_KEYPAD_DIGITS[code])
            return None
        if self._ctrl:
            return None
        char = self._char(code)
        if char is not None and len(self._text) < MAX_PAYLOAD_CHARS:
            self._text.append(char)
        return None

    def feed_all(self, events: Iterable[tuple[int, int]]) -> list[bytes]:
        """Every payload completed by ``events`` (pairs of key code and value), in order."""
        return [p for code, value in events if (p := self.feed(code, value)) is not None]

    def reset(self) -> None:
        """Forget a half-typed payload and held modifiers (the device went away)."""
        self._text.clear()
        self._shift.clear()
        self._alt.clear()
        self._ctrl.clear()
        self._caps = False
        self._alt_digits = ""

    def _key_up(self, code: int) -> None:
        self._shift.discard(code)
        self._ctrl.discard(code)
        if code in self._alt:
            self._alt.discard(code)
            if not self._alt and self._alt_digits:
                char = _alt_code(self._alt_digits, self.alt_code_page)
                self._alt_digits = ""
                if char is not None and len(self._text) < MAX_PAYLOAD_CHARS:
                    self._text.append(char)

    def _char(self, code: int) -> str | None:
        shifted = bool(self._shift)
        if code in _LETTERS:
            letter = _LETTERS[code]
            return letter.upper() if shifted != self._caps else letter
        if code in _ROWS:
            return _ROWS[code][shifted]
        if code in _KEYPAD_DIGITS:
            return str(_KEYPAD_DIGITS[code])
        return _KEYPAD_OTHER.get(code)

    def _finish(self) -> bytes | None:
        text = "".join(self._text)
        self._text.clear()
        self._alt_digits = ""
        return text.encode("utf-8") if text else None


def _alt_code(digits: str, code_page: str) -> str | None:
    """The character an Alt+numpad sequence types on Windows, which is what scanners imitate."""
    value = int(digits)
    if value > 255:
        return chr(value) if value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF else None
    page = code_page if digits.startswith("0") else "cp437"
    try:
        return bytes([value]).decode(page)
    except UnicodeDecodeError:  # an unassigned byte in that code page
        return None


class HidScanner(ReconnectingReader):
    """A keyboard-wedge scanner at ``device_path`` (best: ``/dev/input/by-id/usb-…-event-kbd``).

    ``open_device(path)`` defaults to ``evdev.InputDevice`` (imported when the reader thread first opens
    the device); it must return an object with ``fd``, ``grab()``, ``ungrab()``, ``read()`` and ``close()``.
    A device that is missing, unreadable or grabbed by another program, or evdev missing, make the scanner
    FAILED with the reason and what to do (``status()``), and it keeps retrying.
    """

    #: How long one wait for events lasts; bounds how long ``close`` waits.
    poll_s = 0.05

    def __init__(
        self,
        device_path: str,
        *,
        open_device: Callable[[str], Any] | None = None,
        alt_code_page: str = "cp1252",
        backoff: Backoff | None = None,
        on_status: StatusCallback | None = None,
    ) -> None:
        super().__init__(f"HID scanner {device_path}", backoff=backoff, on_status=on_status)
        self.device_path = device_path
        self._open_device = open_device
        self._decoder = KeyDecoder(alt_code_page=alt_code_page)
        self._device: Any = None

    def _open(self) -> None:
        """Open and grab the device exclusively (reader thread)."""
        opener = self._open_device
        if opener is None:
            try:
                import evdev  # noqa: PLC0415 - optional, Linux only; imported on first use
            except ImportError as exc:
                raise DeviceError(
                    "evdev is not installed — apt install python3-evdev / pip install evdev"
                ) from exc
            opener = evdev.InputDevice
        device = opener(self.device_path)
        try:
            # Exclusive: while grabbed, the scanner's keystrokes reach no other reader (compositor, UI,
            # console), so a payload can never act as a shortcut.
            device.grab()
        except OSError:
            device.close()
            raise
        self._device = device
        self._decoder.reset()

    def _problem(self, exc: Exception) -> str:
        """An input device's errors in the words of the person fixing it (reader thread)."""
        if isinstance(exc, OSError) and exc.errno is not None:
            return describe_os_error(
                exc,
                config_key="scanner.hid_device",
                group="input",
                busy="grabbed by another program (is a second kiosk running?) — stop it",
            )
        return super()._problem(exc)

    def _read_some(self) -> None:
        """Wait up to ``poll_s`` for key events and decode them (reader thread)."""
        device = self._device
        ready, _, _ = select.select([device.fd], [], [], self.poll_s)
        if not ready:
            return
        try:
            events = list(device.read())
        except BlockingIOError:
            return
        for event in events:
            if event.type == EV_KEY:
                payload = self._decoder.feed(event.code, event.value)
                if payload is not None:
                    self._emit(payload)

    def _release(self) -> None:
        """Release the grab and close the device (reader thread)."""
        device, self._device = self._device, None
        self._decoder.reset()
        if device is None:
            return
        try:
            device.ungrab()
        except OSError as exc:
            # After an unplug the device is gone and so is the grab: ENODEV here is expected.
            if exc.errno != errno.ENODEV:
                log.debug("%s: ungrab failed: %s", self.name, exc)
        try:
            device.close()
        except OSError as exc:
            log.debug("%s: close failed: %s", self.name, exc)
