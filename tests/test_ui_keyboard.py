"""The on-screen keyboard (ui.keyboard): Vietnamese typed by clicking keys, with Telex and long-press
accents; physical keys (a keyboard-wedge scanner) are never turned into Vietnamese."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from ui import theme
from ui.keyboard import VARIANTS, TouchLineEdit, VietKeyboard


@pytest.fixture
def keyboard(qtbot: QtBot) -> Iterator[tuple[VietKeyboard, TouchLineEdit]]:
    host = QWidget()
    field = TouchLineEdit()
    board = VietKeyboard()
    layout = QVBoxLayout(host)
    layout.addWidget(field)
    layout.addWidget(board)
    qtbot.addWidget(host)
    host.resize(800, 420)
    host.show()
    qtbot.waitExposed(host)
    field.touched.connect(lambda: board.bind(field))
    qtbot.mouseClick(field, Qt.MouseButton.LeftButton)
    assert board.field is field
    yield board, field


def click_keys(qtbot: QtBot, board: VietKeyboard, keys: str) -> None:
    """Click the on-screen key for each character; capitals with the shift key first."""
    for char in keys:
        if char.isupper():
            qtbot.mouseClick(board.keys["shift"], Qt.MouseButton.LeftButton)
        qtbot.mouseClick(board.keys[char.lower()], Qt.MouseButton.LeftButton)


@pytest.mark.parametrize(
    ("keys", "text"),
    [
        ("Nguyeenx Thij Hwowngf", "Nguyễn Thị Hường"),
        ("DDawngj Quoocs Vieetj", "Đặng Quốc Việt"),
        ("Truwowng Wng", "Trương Ưng"),
    ],
)
def test_clicking_keys_types_vietnamese_with_telex(
    qtbot: QtBot, keyboard: tuple[VietKeyboard, TouchLineEdit], keys: str, text: str
) -> None:
    board, field = keyboard
    click_keys(qtbot, board, keys)
    assert field.text() == text
    assert unicodedata.is_normalized("NFC", field.text())


def test_shift_capitalises_one_letter(qtbot: QtBot, keyboard: tuple[VietKeyboard, TouchLineEdit]) -> None:
    board, field = keyboard
    qtbot.mouseClick(board.keys["shift"], Qt.MouseButton.LeftButton)
    assert board.keys["a"].text() == "A"
    click_keys(qtbot, board, "an")
    assert field.text() == "An"
    assert not board.shift


def test_backspace_digits_and_space(qtbot: QtBot, keyboard: tuple[VietKeyboard, TouchLineEdit]) -> None:
    board, field = keyboard
    click_keys(qtbot, board, "vieetj")
    qtbot.mouseClick(board.keys["\b"], Qt.MouseButton.LeftButton)
    assert field.text() == "việ"
    for key in " 2026":
        qtbot.mouseClick(board.keys[key], Qt.MouseButton.LeftButton)
    assert field.text() == "việ 2026"


def test_telex_off_types_letters_as_they_are(
    qtbot: QtBot, keyboard: tuple[VietKeyboard, TouchLineEdit]
) -> None:
    board, field = keyboard
    qtbot.mouseClick(board.keys["telex"], Qt.MouseButton.LeftButton)
    assert not board.telex
    click_keys(qtbot, board, "Lee")
    assert field.text() == "Lee"
    qtbot.mouseClick(board.keys["telex"], Qt.MouseButton.LeftButton)
    click_keys(qtbot, board, " lee")
    assert field.text() == "Lee lê"


def test_enter_acts_like_return(qtbot: QtBot, keyboard: tuple[VietKeyboard, TouchLineEdit]) -> None:
    board, field = keyboard
    with qtbot.waitSignal(field.returnPressed, timeout=1000):
        qtbot.mouseClick(board.keys["\n"], Qt.MouseButton.LeftButton)


def test_long_press_offers_accented_vowels(
    qtbot: QtBot, keyboard: tuple[VietKeyboard, TouchLineEdit]
) -> None:
    board, field = keyboard
    assert "ự" in VARIANTS["u"] and "ặ" in VARIANTS["a"] and VARIANTS["d"] == ("đ",)
    click_keys(qtbot, board, "th")
    key = board.keys["u"]
    qtbot.mousePress(key, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(board.variants.isVisible, timeout=2000)
    qtbot.mouseRelease(key, Qt.MouseButton.LeftButton)
    assert field.text() == "th"  # the release after a long press types nothing
    choice = next(b for b in board.variants.buttons if b.key == "ự")
    assert choice.width() >= theme.MIN_TOUCH_PX and choice.height() >= theme.MIN_TOUCH_PX
    # the panel lies inside the keyboard (no other window under cage)
    assert board.rect().contains(board.variants.geometry())
    qtbot.mouseClick(choice, Qt.MouseButton.LeftButton)
    assert field.text() == "thự"
    assert not board.variants.isVisible()
    click_keys(qtbot, board, "c")
    assert field.text() == "thực"


def test_physical_keys_are_not_taken_by_the_keyboard(
    qtbot: QtBot, keyboard: tuple[VietKeyboard, TouchLineEdit]
) -> None:
    """A keyboard-wedge scanner types into the focused field as Qt delivers it: never through Telex."""
    board, field = keyboard
    field.setFocus()
    qtbot.keyClicks(field, "HC1:aass")
    assert field.text() == "HC1:aass"
    click_keys(qtbot, board, " an")  # on-screen keys go on from the field's text
    assert field.text() == "HC1:aass an"
    field.clear()
    click_keys(qtbot, board, "ddi")
    assert field.text() == "đi"


def test_keys_are_touch_sized(qtbot: QtBot, keyboard: tuple[VietKeyboard, TouchLineEdit]) -> None:
    board, _ = keyboard
    for button in board.keys.values():
        assert button.width() >= theme.MIN_TOUCH_PX, button.key
        assert button.height() >= theme.MIN_TOUCH_PX, button.key
        assert button.focusPolicy() == Qt.FocusPolicy.NoFocus
