"""The touchscreen app's screens and flows (issue 8): verdict → result screen → back to scanning, the
language switch, the camera-lost state, the backlog count, kiosk lockdown, the PIN pad hooks, layouts."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from kiosk.device import CameraState
from kiosk.hints import Hint
from kiosk.model import Direction, Kind, Outcome, Reason
from tests.ui_support import ui_context
from ui import theme
from ui.language import LanguageSwitcher
from ui.lockdown import LockdownFilter
from ui.main_window import MainWindow, PlaceholderScreen
from ui.pin_pad import PinResult
from ui.viewmodel import CameraView, VerdictView

GRANTED = VerdictView(Outcome.GRANTED, Reason.OK, Kind.CCCD, Direction.IN, "Nguyễn V. A", "••••0321", True)
EXPIRED = VerdictView(Outcome.REFUSED, Reason.DCC_EXPIRED, Kind.DCC, Direction.IN, "Trương Ư.", "", True)
LOCATION = VerdictView(Outcome.REFUSED, Reason.LOCATION_CODE, Kind.LOCATION)
GUARD = VerdictView(
    Outcome.NEEDS_GUARD, Reason.NOT_RECORDED, Kind.CCCD, Direction.IN, "Đặng Q. V", "••••7788"
)


@pytest.fixture
def languages(qapp: QApplication) -> Iterator[LanguageSwitcher]:
    switcher = LanguageSwitcher(qapp)
    switcher.set_language("vi")
    yield switcher
    switcher.close()


@pytest.fixture
def window(qtbot: QtBot, languages: LanguageSwitcher) -> Iterator[MainWindow]:
    win = MainWindow(ui_context(result_s=0.4), languages)
    qtbot.addWidget(win)
    win.resize(800, 480)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.allow_close()


def emit_from_worker(signal: object, value: object) -> None:
    """Emit as the scan worker does: from another thread (Qt queues it to the GUI thread)."""
    thread = threading.Thread(target=lambda: signal.emit(value))  # type: ignore[attr-defined]
    thread.start()
    thread.join()


def test_a_verdict_shows_the_result_screen_then_scanning_again(qtbot: QtBot, window: MainWindow) -> None:
    assert window.current is window.scan
    with qtbot.waitSignal(window.verdict_shown, timeout=2000):
        emit_from_worker(window.context.bridge.decided, GRANTED)
    assert window.current is window.result
    assert window.result.colour == theme.RESULT_COLOURS[Outcome.GRANTED][0]
    assert window.result.word.text() == "HỢP LỆ"
    assert window.result.identity.text() == "Nguyễn V. A · ••••0321"
    assert window.result.icon.outcome is Outcome.GRANTED  # the shape, not only the colour
    qtbot.waitUntil(lambda: window.current is window.scan, timeout=3000)


@pytest.mark.parametrize(
    ("view", "word", "reason_words"),
    [
        (EXPIRED, "TỪ CHỐI", "hết hạn"),
        (LOCATION, "TỪ CHỐI", "mã của địa điểm"),
        (GUARD, "GẶP BẢO VỆ", "gặp bảo vệ"),
    ],
)
def test_refusals_show_colour_word_and_reason(
    qtbot: QtBot, window: MainWindow, view: VerdictView, word: str, reason_words: str
) -> None:
    window.show_verdict(view)
    assert window.result.colour == theme.RESULT_COLOURS[view.outcome][0]
    assert window.result.word.text() == word
    assert reason_words in window.result.reason.text().lower()
    assert window.result.reason.isVisible()
    if view.kind is Kind.LOCATION:
        assert not window.result.identity.isVisible()


def test_the_next_code_replaces_the_result_at_once(qtbot: QtBot, window: MainWindow) -> None:
    window.show_verdict(GRANTED)
    with qtbot.waitSignal(window.verdict_shown, timeout=2000):
        emit_from_worker(window.context.bridge.decided, EXPIRED)
    assert window.result.view == EXPIRED
    assert window.result.word.text() == "TỪ CHỐI"
    assert window.result_timer.isActive()  # the result's time starts again


def test_language_switch_changes_every_screen(qtbot: QtBot, window: MainWindow) -> None:
    window.show_verdict(EXPIRED)
    assert window.scan.direction.text() == "VÀO"
    assert window.scan.language_button.text() == "English"
    window.scan.language_button.click()
    assert window.languages is not None and window.languages.language == "en"
    assert window.scan.direction.text() == "IN"
    assert window.scan.language_button.text() == "Tiếng Việt"
    assert "camera" in window.scan.instruction.text().lower()
    assert window.result.word.text() == "REFUSED"
    assert "expired" in window.result.reason.text()
    window.scan.language_button.click()
    assert window.result.word.text() == "TỪ CHỐI"


def test_camera_lost_says_call_the_guard_and_recovers(qtbot: QtBot, window: MainWindow) -> None:
    emit_from_worker(window.context.bridge.camera_changed, CameraView(CameraState.LOST))
    qtbot.waitUntil(lambda: window.scan.preview.alert_title != "", timeout=2000)
    assert window.scan.preview.alert_title == "Camera không hoạt động"
    assert "bảo vệ" in window.scan.preview.alert_body
    window.set_language("en")
    assert window.scan.preview.alert_title == "Camera not working"
    emit_from_worker(window.context.bridge.camera_changed, CameraView(CameraState.RUNNING, 30.0))
    qtbot.waitUntil(lambda: window.scan.preview.alert_title == "", timeout=2000)


def test_backlog_count_changes_on_screen(qtbot: QtBot, window: MainWindow) -> None:
    window.set_language("en")
    emit_from_worker(window.context.bridge.backlog_changed, 1)
    qtbot.waitUntil(lambda: "1 visit waiting" in window.scan.sync_label.text(), timeout=2000)
    emit_from_worker(window.context.bridge.backlog_changed, 12)
    qtbot.waitUntil(lambda: "12 visits waiting" in window.scan.sync_label.text(), timeout=2000)
    assert window.scan.sync_label.text().startswith("Offline")
    window.set_language("vi")
    assert "12 lượt chờ gửi" in window.scan.sync_label.text()


def test_aiming_hint_shows_and_clears(qtbot: QtBot, window: MainWindow) -> None:
    emit_from_worker(window.context.bridge.hinted, Hint.TOO_FAR)
    qtbot.waitUntil(lambda: window.scan.preview.hint == "Đưa mã lại gần hơn", timeout=2000)
    emit_from_worker(window.context.bridge.hinted, Hint.NONE)
    qtbot.waitUntil(lambda: window.scan.preview.hint == "", timeout=2000)


def test_location_qr_is_the_places_own_code(window: MainWindow) -> None:
    import zxingcpp

    pixmap = window.scan.qr.pixmap()
    image = pixmap.toImage().convertToFormat(pixmap.toImage().Format.Format_Grayscale8)
    import numpy as np

    pixels = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    found = zxingcpp.read_barcodes(np.ascontiguousarray(pixels[:, : image.width()]))
    assert [r.text for r in found] == [f"QRGATE:LOC:{window.context.config.location.code}"]


# -- kiosk mode -------------------------------------------------------------------------------------


@pytest.fixture
def lockdown(qapp: QApplication) -> Iterator[LockdownFilter]:
    lock = LockdownFilter()
    qapp.installEventFilter(lock)
    yield lock
    qapp.removeEventFilter(lock)


@pytest.mark.parametrize(
    ("key", "modifiers"),
    [
        (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_F4, Qt.KeyboardModifier.AltModifier),
        (Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier),
        (Qt.Key.Key_Tab, Qt.KeyboardModifier.AltModifier),
        (Qt.Key.Key_F2, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier),
    ],
)
def test_lockdown_keys_do_nothing(
    qtbot: QtBot, window: MainWindow, lockdown: LockdownFilter, key: Qt.Key, modifiers: Qt.KeyboardModifier
) -> None:
    fired: list[str] = []
    shortcut = QShortcut(QKeySequence(key.value | modifiers.value), window)
    shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
    shortcut.activated.connect(lambda: fired.append("shortcut"))
    before = lockdown.blocked
    qtbot.keyClick(window, key, modifiers)
    assert lockdown.blocked > before
    assert fired == []
    assert window.isVisible()


def test_close_events_are_refused_in_kiosk_mode(qtbot: QtBot, window: MainWindow) -> None:
    event = QCloseEvent()
    QApplication.sendEvent(window, event)
    assert not event.isAccepted()
    assert window.close() is False
    assert window.isVisible()


def test_a_wedge_scanners_keystrokes_are_data_not_shortcuts(qtbot: QtBot, lockdown: LockdownFilter) -> None:
    field = QLineEdit()
    qtbot.addWidget(field)
    fired: list[str] = []
    shortcut = QShortcut(QKeySequence("Ctrl+S"), field)
    shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
    shortcut.activated.connect(lambda: fired.append("save"))
    field.show()
    field.setFocus()
    qtbot.keyClicks(field, "046090001234")
    qtbot.keyClick(field, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert field.text() == "046090001234"
    assert fired == []


# -- PIN pad and the hooks for the guard and admin screens --------------------------------------------


def test_hidden_gesture_opens_the_pin_pad(qtbot: QtBot, window: MainWindow) -> None:
    label = window.scan.location
    label._timer.setInterval(50)  # the real hold is 3 s
    qtbot.mousePress(label, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.current is window.pin_pad, timeout=2000)
    qtbot.mouseRelease(label, Qt.MouseButton.LeftButton)


def test_a_short_tap_on_the_location_does_nothing(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.mouseClick(window.scan.location, Qt.MouseButton.LeftButton)
    assert window.current is window.scan


def test_pin_accepted_opens_the_role_screen_or_a_placeholder(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui import main_window

    monkeypatch.setattr(
        main_window,
        "ROLE_SCREENS",
        {"guard": ("ui.no_such_console", "X"), "admin": ("ui.no_such_admin", "Y")},
    )
    window.pin_pad._check = lambda role, pin: PinResult(pin == "2468", role)
    window.open_guard_console()
    assert window.current is window.pin_pad and window.pin_pad.role == "guard"
    for digit in "1111":
        window.pin_pad.press(digit)
    window.pin_pad.submit()
    qtbot.waitUntil(lambda: window.pin_pad.message.text() == "Sai mã PIN.", timeout=2000)
    assert window.current is window.pin_pad
    for digit in "2468":
        window.pin_pad.press(digit)
    window.pin_pad.submit()
    qtbot.waitUntil(lambda: isinstance(window.current, PlaceholderScreen), timeout=2000)
    placeholder = window.current
    assert isinstance(placeholder, PlaceholderScreen) and placeholder.role == "guard"
    placeholder.back.click()
    assert window.current is window.scan


def test_the_pin_is_checked_off_the_gui_thread(qtbot: QtBot, window: MainWindow) -> None:
    threads: list[threading.Thread] = []

    def check(role: str, pin: str) -> PinResult:
        threads.append(threading.current_thread())
        return PinResult(False, role, locked_for_s=30)

    window.pin_pad._check = check
    window.open_admin()
    window.pin_pad.press("9")
    window.pin_pad.submit()
    qtbot.waitUntil(lambda: "30" in window.pin_pad.message.text(), timeout=2000)
    assert threads and threads[0] is not threading.main_thread()


def test_verdicts_do_not_cover_the_pin_pad(window: MainWindow) -> None:
    window.open_guard_console()
    window.show_verdict(GRANTED)
    assert window.current is window.pin_pad


# -- layouts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(800, 480), (1024, 600), (720, 1280), (1920, 1080)])
def test_touch_targets_are_at_least_9_mm_at_every_size(
    qtbot: QtBot, window: MainWindow, size: tuple[int, int]
) -> None:
    window.resize(*size)
    for screen in (window.scan, window.pin_pad):
        window.stack.setCurrentWidget(screen)
        QApplication.processEvents()
        for button in screen.findChildren(QPushButton):
            if button.isVisible():
                assert button.height() >= theme.MIN_TOUCH_PX, (size, button.text())
                assert button.width() >= theme.MIN_TOUCH_PX, (size, button.text())


def test_landscape_puts_the_preview_beside_portrait_above(qtbot: QtBot, window: MainWindow) -> None:
    window.resize(800, 480)
    QApplication.processEvents()
    preview, qr = window.scan.preview.geometry(), window.scan.qr_card.geometry()
    assert qr.left() >= preview.right()
    window.resize(720, 1280)
    QApplication.processEvents()
    preview, qr = window.scan.preview.geometry(), window.scan.qr_card.geometry()
    assert qr.top() >= preview.bottom()


def test_language_change_event_reaches_a_screen(
    qtbot: QtBot, window: MainWindow, languages: LanguageSwitcher
) -> None:
    languages.set_language("en")
    QApplication.sendEvent(window.scan, QEvent(QEvent.Type.LanguageChange))
    assert window.scan.direction.text() == "IN"


def test_online_badge_follows_the_sync_worker(qtbot: QtBot, window: MainWindow) -> None:
    window.set_language("en")
    emit_from_worker(window.context.bridge.backlog_changed, 2)
    emit_from_worker(window.context.bridge.online_changed, True)
    qtbot.waitUntil(lambda: window.scan.sync_label.text().startswith("Online"), timeout=2000)
    assert "2 visits waiting" in window.scan.sync_label.text()
    emit_from_worker(window.context.bridge.online_changed, False)
    qtbot.waitUntil(lambda: window.scan.sync_label.text().startswith("Offline"), timeout=2000)
    assert "2 visits waiting" in window.scan.sync_label.text()
