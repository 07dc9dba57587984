"""Layer: ui. The on-screen keyboard that types Vietnamese: ``VietKeyboard``, embedded in a screen (under
cage there is no other window to open), for touch only.

QWERTY with a row of digits, space, backspace, enter, shift (one letter) and a Telex switch. With Telex on
(the default) the keys go through ``kiosk.telex.TelexComposer``, one composer per field, so
``Nguyeenx Thij Hwowngf`` types "Nguyễn Thị Hường"; off, keys go in literally (a foreign name that spells a
Vietnamese one: ``Lee``). Holding a vowel (or ``d``) opens a small panel inside the window with its accented
forms (à á ả ã ạ ă ằ …), for guards who do not type Telex. Every key is at least ``theme.MIN_TOUCH_PX`` high
and wide.

The keyboard types into the field it is bound to (``bind``), always at the end of the text. It never
touches key events: keys from a physical keyboard or a keyboard-wedge 2D scanner go to the focused field as
Qt delivers them, and are taken literally (the composer re-reads the field before the next on-screen key),
so a scanned payload is never turned into Vietnamese. Use on the GUI thread.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from PySide6.QtCore import QEvent, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QMouseEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLineEdit, QPushButton, QSizePolicy, QWidget

from kiosk.telex import TelexComposer
from ui import theme

#: How long a key must be held for its accented forms.
LONG_PRESS_MS = 500

DIGITS = "1234567890"
ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")

_TONE_MARKS = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # none, huyền, sắc, hỏi, ngã, nặng
_BASES = {"a": "aăâ", "e": "eê", "i": "i", "o": "oôơ", "u": "uư", "y": "y"}
_SHAPES = {"ă": "a\u0306", "â": "a\u0302", "ê": "e\u0302", "ô": "o\u0302", "ơ": "o\u031b", "ư": "u\u031b"}


def _variants(letter: str) -> tuple[str, ...]:
    """The accented forms a long press on ``letter`` offers (lower case), in the order of the tone keys."""
    if letter == "d":
        return ("đ",)
    out: list[str] = []
    for base in _BASES.get(letter, ""):
        decomposed = _SHAPES.get(base, base)
        out += [unicodedata.normalize("NFC", decomposed + mark) for mark in _TONE_MARKS]
    return tuple(v for v in out if v != letter)


#: letter → its accented forms (a long press); letters not listed have none.
VARIANTS: dict[str, tuple[str, ...]] = {k: _variants(k) for k in "aeiouyd"}


class TouchLineEdit(QLineEdit):
    """A text field that says when it is touched (``touched``), so a screen can bind the on-screen keyboard
    to it and show it. Focus alone (the window opening) does not count: the keyboard would cover the screen
    before the guard asked for it."""

    touched = Signal()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        super().mousePressEvent(event)
        self.touched.emit()


class KeyButton(QPushButton):
    """One key: ``on_tap(key)`` on a tap; ``on_hold(key)`` when held ``LONG_PRESS_MS`` (then no tap follows).
    Never takes the focus, so the field keeps its cursor.

    Callbacks rather than Python-emitted signals: with PySide6 6.12.0 on Python 3.11 every ``Signal.emit``
    from Python drops a reference to ``True`` (the interpreter aborts once it reaches zero), and a key is the
    most frequent event of this screen. Qt's own ``clicked`` / ``pressed`` are emitted from C++ and are fine.
    """

    def __init__(
        self,
        key: str,
        label: str = "",
        parent: QWidget | None = None,
        *,
        on_tap: Callable[[str], None],
        on_hold: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(label or key, parent)
        self.key = key
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setMinimumSize(theme.MIN_TOUCH_PX, theme.MIN_TOUCH_PX)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._on_tap = on_tap
        self._on_hold = on_hold
        self._was_held = False
        if on_hold is not None:
            self._timer = QTimer(self)
            self._timer.setSingleShot(True)
            self._timer.setInterval(LONG_PRESS_MS)
            self._timer.timeout.connect(self._held)
            self.pressed.connect(self._timer.start)
            self.released.connect(self._timer.stop)
        self.clicked.connect(self._clicked)

    def _held(self) -> None:
        self._was_held = True
        if self._on_hold is not None:
            self._on_hold(self.key)

    def _clicked(self) -> None:
        if self._was_held:
            self._was_held = False  # the release after a long press chose nothing yet
            return
        self._on_tap(self.key)


class VariantPanel(QFrame):
    """The accented forms of one letter, over the keyboard (a child widget, not a popup window).
    ``on_choose(text)`` when one is tapped; a tap on ✕ closes it."""

    def __init__(self, parent: QWidget, on_choose: Callable[[str], None]) -> None:
        super().__init__(parent)
        self._on_choose = on_choose
        self.setObjectName("variantPanel")
        self.setFrameShape(QFrame.Shape.Box)
        self.setAutoFillBackground(True)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(6, 6, 6, 6)
        self.grid.setSpacing(4)
        self.buttons: list[KeyButton] = []
        self.hide()

    def open(self, variants: tuple[str, ...], near: QWidget, columns: int = 6) -> None:
        for button in self.buttons:
            self.grid.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        for index, text in enumerate((*variants, "✕")):
            button = KeyButton(text, parent=self, on_tap=self._on_tapped)
            button.setObjectName("variant")
            self.grid.addWidget(button, index // columns, index % columns)
            self.buttons.append(button)
        self.adjustSize()
        parent = self.parentWidget()
        assert parent is not None
        # Above the key held, kept inside the keyboard.
        top_left = near.mapTo(parent, QPoint(0, 0))
        x = min(max(0, top_left.x() - self.width() // 2 + near.width() // 2), parent.width() - self.width())
        y = max(0, top_left.y() - self.height())
        self.move(max(0, x), y)
        self.show()
        self.raise_()

    def _on_tapped(self, text: str) -> None:
        self.hide()
        if text != "✕":
            self._on_choose(text)


class VietKeyboard(QWidget):
    """The keyboard. ``bind(field)`` chooses the field it types into (the field's ``textChanged`` tells what
    was typed). Signals: ``hide_requested`` (the ⌄ key), ``telex_toggled(bool)``."""

    hide_requested = Signal()
    telex_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None, *, telex: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("vietKeyboard")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.field: QLineEdit | None = None
        self.shift = False
        self._telex = telex
        self._composers: dict[int, TelexComposer] = {}
        self.keys: dict[str, KeyButton] = {}

        grid = QGridLayout(self)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.setSpacing(4)
        for column, digit in enumerate(DIGITS):
            grid.addWidget(self._key(digit), 0, column)
        for row, letters in enumerate(ROWS, start=1):
            offset = 1 if row == 3 else 0
            for column, letter in enumerate(letters):
                grid.addWidget(self._key(letter, holdable=letter in VARIANTS), row, column + offset)
        grid.addWidget(self._key("\b", "⌫"), 2, 9)
        self.shift_key = self._key("shift", "⇧")
        self.shift_key.setCheckable(True)
        grid.addWidget(self.shift_key, 3, 0)
        grid.addWidget(self._key("-"), 3, 8)
        grid.addWidget(self._key("\n", "↵"), 3, 9)
        self.telex_key = self._key("telex", "Telex")
        self.telex_key.setCheckable(True)
        self.telex_key.setChecked(telex)
        grid.addWidget(self.telex_key, 4, 0, 1, 2)
        grid.addWidget(self._key(","), 4, 2)
        grid.addWidget(self._key(" ", "␣"), 4, 3, 1, 4)
        grid.addWidget(self._key("."), 4, 7)
        grid.addWidget(self._key("hide", "⌄"), 4, 8, 1, 2)
        for column in range(10):
            grid.setColumnStretch(column, 1)
        self.variants = VariantPanel(self, self.type_text)
        self.set_text_px(22)

    def _key(self, key: str, label: str = "", *, holdable: bool = False) -> KeyButton:
        button = KeyButton(
            key, label, self, on_tap=self.press, on_hold=self.show_variants if holdable else None
        )
        self.keys[key] = button
        return button

    # -- what the keyboard types into ---------------------------------------------------------------------

    @property
    def telex(self) -> bool:
        return self._telex

    def set_telex(self, enabled: bool) -> None:
        self._telex = enabled
        self.telex_key.setChecked(enabled)
        for composer in self._composers.values():
            composer.enabled = enabled
        self.telex_toggled.emit(enabled)

    def bind(self, field: QLineEdit | None) -> None:
        """Type into ``field`` from now on (None: nowhere). Each field keeps its own composer."""
        self.field = field
        self.variants.hide()

    def composer(self, field: QLineEdit) -> TelexComposer:
        """The field's composer, first made to agree with what the field shows (it may have been cleared
        by the screen or typed into with a physical keyboard or a scanner: that text is taken literally)."""
        composer = self._composers.get(id(field))
        if composer is None:
            composer = TelexComposer(enabled=self._telex)
            # Keyed by id: a field dies with its screen, as does this keyboard; a reused id meets a composer
            # that is re-read below whenever its text differs.
            self._composers[id(field)] = composer
        if composer.text != field.text():
            composer.enabled = False
            composer.clear()
            for char in field.text():
                composer.feed(char)
            composer.enabled = self._telex
        return composer

    # -- keys -------------------------------------------------------------------------------------------

    def press(self, key: str) -> None:
        """A key of the keyboard (its ``key``: a character, ``"\\b"``, ``"\\n"``, ``shift``, ``telex``,
        ``hide``)."""
        self.variants.hide()
        if key == "shift":
            self.set_shift(not self.shift)
        elif key == "telex":
            self.set_telex(not self._telex)
        elif key == "hide":
            self.hide_requested.emit()
        elif key == "\n":
            if self.field is not None:
                self.field.returnPressed.emit()  # what a physical Enter does
        else:
            self.type_text(key.upper() if self.shift and key.isalpha() else key)

    def type_text(self, text: str) -> None:
        """Type ``text`` (one key or one accented letter) into the bound field."""
        field = self.field
        if field is None or not field.isEnabled() or field.isReadOnly():
            return
        composer = self.composer(field)
        for char in text:
            composer.feed(char)
        if self.shift and text.isalpha():
            self.set_shift(False)
        field.setText(composer.text)  # a longer text than maxLength is cut: the composer re-reads it

    def set_shift(self, on: bool) -> None:
        self.shift = on
        self.shift_key.setChecked(on)
        for key, button in self.keys.items():
            if len(key) == 1 and key.isalpha():
                button.setText(key.upper() if on else key)

    def show_variants(self, key: str) -> None:
        forms = VARIANTS.get(key, ())
        if forms:
            shown = tuple(f.upper() for f in forms) if self.shift else forms
            self.variants.open(shown, self.keys[key])

    # -- looks ------------------------------------------------------------------------------------------

    def set_text_px(self, px: int) -> None:
        font = QFont()
        font.setPixelSize(px)
        self.setFont(font)
        self.setStyleSheet(
            f"#vietKeyboard {{ background: {theme.PREVIEW_BACKGROUND}; }}"
            f"KeyButton {{ background: #FFFFFF; color: {theme.TEXT}; border: none; border-radius: 6px;"
            f" font-size: {px}px; }}"
            f"KeyButton:pressed {{ background: {theme.HINT_BACKGROUND}; }}"
            f"KeyButton:checked {{ background: {theme.ACCENT}; color: {theme.ON_ACCENT}; }}"
            f"#variantPanel {{ background: {theme.BACKGROUND}; border: 2px solid {theme.ACCENT}; }}"
        )

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.EnabledChange and not self.isEnabled():
            self.variants.hide()
        super().changeEvent(event)
