"""Layer: ui. Unattended kiosk mode: an application-wide event filter that takes the ways out away.

Alt+F4, Esc, Ctrl+Q, Ctrl+W, Alt+Tab, Ctrl+Alt+Fn and the Super key do nothing. No shortcut fires at all:
every ``ShortcutOverride`` is accepted, which tells Qt to deliver the keys as plain key presses to the focused
widget, so a keyboard-wedge 2D scanner's keystrokes stay data (a payload with a ``Ctrl``-letter in it cannot
trigger anything). Closing the main window is refused by the window itself (``MainWindow.closeEvent``).

Under cage a visitor's keyboard never reaches another program: cage runs one client and, without ``-s``,
allows no VT switching; this filter covers what does reach the app. Input events also mark the user as
active (``last_input_s``), which the guard and admin screens use to close themselves when left alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent

_FUNCTION_KEYS = {getattr(Qt.Key, f"Key_F{n}") for n in range(1, 13)}
_SYSTEM_KEYS = {Qt.Key.Key_Meta, Qt.Key.Key_Super_L, Qt.Key.Key_Super_R, Qt.Key.Key_Menu}
_INPUT_EVENTS = {
    QEvent.Type.MouseButtonPress,
    QEvent.Type.TouchBegin,
    QEvent.Type.KeyPress,
}


def is_escape_key(event: QKeyEvent) -> bool:
    """Whether a key press is one of the ways out of a kiosk app."""
    key = event.key()
    mods = event.modifiers()
    alt = bool(mods & Qt.KeyboardModifier.AltModifier)
    ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
    if key == Qt.Key.Key_Escape or key in _SYSTEM_KEYS:
        return True
    if alt and key in (Qt.Key.Key_F4, Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
        return True
    if ctrl and key in (Qt.Key.Key_Q, Qt.Key.Key_W):
        return True
    return bool(ctrl and alt and (key in _FUNCTION_KEYS or key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)))


class LockdownFilter(QObject):
    """Install on the QApplication (``app.installEventFilter``). ``blocked`` counts the keys it ate."""

    def __init__(
        self, parent: QObject | None = None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(parent)
        self._monotonic = monotonic
        self.blocked = 0
        self.last_input_s = monotonic()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in _INPUT_EVENTS:
            self.last_input_s = self._monotonic()
        if kind == QEvent.Type.ShortcutOverride:
            # Accepted: Qt skips its shortcut map and delivers the key as an ordinary key press.
            event.accept()
            if isinstance(event, QKeyEvent) and is_escape_key(event):
                self.blocked += 1
                return True
            return False
        if kind == QEvent.Type.Shortcut:
            self.blocked += 1
            return True
        is_key = kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and isinstance(event, QKeyEvent)
        if is_key and is_escape_key(event):  # type: ignore[arg-type]
            if kind == QEvent.Type.KeyPress:
                self.blocked += 1
            return True
        return False
