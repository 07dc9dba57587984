"""Layer: ui. The main window: a stack of screens, fed by the bridge's signals on the GUI thread.

::

    ScanBridge ── decided ──▶ ResultScreen (for ui.result_s, or until the next code) ──▶ ScanScreen
              ── hinted / camera_changed / backlog_changed / frame_ready ──▶ ScanScreen
    location name held 3 s ──▶ PinPad ── guard PIN ──▶ ui.guard_console.GuardConsole(context, parent)
                                      └─ admin PIN ──▶ ui.admin.AdminScreen(context, parent)

Hooks for the guard and admin screens: ``open_guard_console()`` and ``open_admin()`` show the PIN pad for
that role; after the right PIN the screen's module is imported (lazily: it may not exist in this build, and
then a "not available yet" screen says so). A role screen goes back with ``show_scan()``, or by emitting a
``closed`` signal if it has one; any screen but the scan screen closes itself after ``IDLE_CLOSE_S`` without
a touch. In kiosk mode the window refuses to close (``allow_close()`` first, as ``run_app`` does on exit).
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import time
from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QFont, QImage
from PySide6.QtWidgets import QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from kiosk.device import CameraState
from kiosk.hints import Hint
from kiosk.model import Direction
from ui import theme
from ui.context import UiContext, gate_direction
from ui.language import LanguageSwitcher
from ui.pin_pad import ADMIN, GUARD, PinPad, VaultChecker
from ui.result_screen import ResultScreen
from ui.scan_screen import ScanScreen
from ui.viewmodel import CameraView, PlaceView, SyncView, VerdictView

log = logging.getLogger(__name__)

#: A PIN pad, guard console or admin screen left alone this long goes back to scanning.
IDLE_CLOSE_S = 60.0

#: role → (module, class) of the screen a right PIN opens. Written by the guard/admin work; may be absent.
ROLE_SCREENS = {
    GUARD: ("ui.guard_console", "GuardConsole"),
    ADMIN: ("ui.admin", "AdminScreen"),
}


class PlaceholderScreen(QWidget):
    """Stands in for a screen this build does not have yet."""

    def __init__(self, role: str, back: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self.setObjectName("placeholder")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(
            f"#placeholder {{ background: {theme.BACKGROUND}; }} QLabel {{ color: {theme.TEXT}; }}"
            f"QPushButton {{ background: {theme.ACCENT}; color: {theme.ON_ACCENT}; border: none;"
            " border-radius: 8px; padding: 8px 24px; }"
        )
        self.title = QLabel()
        self.body = QLabel()
        self.back = QPushButton()
        self.back.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.back.clicked.connect(back)
        for label in (self.title, self.body):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        layout.addWidget(self.back, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        font = QFont()
        font.setPixelSize(28)
        font.setBold(True)
        self.title.setFont(font)
        font = QFont()
        font.setPixelSize(22)
        self.body.setFont(font)
        self.back.setFont(font)
        self.back.setMinimumHeight(theme.MIN_TOUCH_PX)
        self.retranslate()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self.title.setText(self.tr("Guard console") if self.role == GUARD else self.tr("Administration"))
        self.body.setText(self.tr("This screen is not available in this version yet."))
        self.back.setText(self.tr("Back to scanning"))


class MainWindow(QWidget):
    """The kiosk's one window. Signals for the app: ``preview_resized(w, h)``, ``frame_painted()`` (each
    preview frame drawn), ``first_frame_shown()`` (once), ``verdict_shown(VerdictView)``."""

    preview_resized = Signal(int, int)
    frame_painted = Signal()
    first_frame_shown = Signal()
    verdict_shown = Signal(object)

    def __init__(
        self,
        context: UiContext,
        languages: LanguageSwitcher | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        idle_since: Callable[[], float] | None = None,
    ) -> None:
        super().__init__()
        self.context = context
        self.languages = languages
        self._monotonic = monotonic
        self._idle_since = idle_since
        self._may_close = not context.config.ui.kiosk_mode
        self.setWindowTitle("QR gate kiosk")
        self.first_frame = False
        self.camera = CameraView(CameraState.STARTING)
        self.backlog = 0
        self.online = False
        self.role_screen: QWidget | None = None

        config = context.config
        place = PlaceView(config.location.name, config.location.code, gate_direction(context))
        self.stack = QStackedWidget(self)
        self.scan = ScanScreen(place)
        self.result = ResultScreen()
        checker = VaultChecker(context.pin_path, context.clock)
        self.pin_pad = PinPad(checker.check)
        for screen in (self.scan, self.result, self.pin_pad):
            self.stack.addWidget(screen)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        self.result_timer = QTimer(self)
        self.result_timer.setSingleShot(True)
        self.result_timer.setInterval(round(config.ui.result_s * 1000))
        self.result_timer.timeout.connect(self.show_scan)
        self.idle_timer = QTimer(self)
        self.idle_timer.setInterval(5000)
        self.idle_timer.timeout.connect(self._close_when_idle)
        self.idle_timer.start()

        bridge = context.bridge
        bridge.decided.connect(self.show_verdict)
        bridge.hinted.connect(self._on_hint)
        bridge.camera_changed.connect(self._on_camera)
        bridge.backlog_changed.connect(self._on_backlog)
        bridge.online_changed.connect(self._on_online)
        bridge.frame_ready.connect(self._on_frame)
        self.scan.preview.resized.connect(self.preview_resized)
        self.scan.preview.painted.connect(self._on_painted)
        self.scan.language_toggled.connect(self.toggle_language)
        self.scan.hidden_gesture.connect(self.open_pin_pad)
        self.pin_pad.accepted.connect(self.open_role_screen)
        self.pin_pad.setup_needed.connect(partial(self.open_role_screen, ADMIN))
        self.pin_pad.cancelled.connect(self.show_scan)
        if languages is not None:
            self.scan.language = languages.language or "vi"
            self.scan.retranslate()

    # -- what the screen shows ----------------------------------------------------------------------

    @property
    def current(self) -> QWidget | None:
        return self.stack.currentWidget()

    def show_scan(self) -> None:
        self.result_timer.stop()
        self.pin_pad.digits = ""
        self.stack.setCurrentWidget(self.scan)
        self._drop_role_screen()

    def show_verdict(self, view: VerdictView) -> None:
        """A verdict: the result screen, at once (replacing the one on screen), while the gate scans.
        While the PIN pad or a role screen is open the verdict is not shown there (the gate outputs and the
        record already acted; the guard console lists it)."""
        if self.current not in (self.scan, self.result):
            return
        self.result.show_verdict(view)
        self.stack.setCurrentWidget(self.result)
        self.result_timer.start()
        self.verdict_shown.emit(view)

    def _on_hint(self, hint: Hint) -> None:
        self.scan.set_hint(hint)

    def _on_camera(self, camera: CameraView) -> None:
        self.camera = camera
        self.scan.set_camera(camera)

    def _on_backlog(self, backlog: int) -> None:
        self.backlog = backlog
        self.scan.set_sync(SyncView(online=self.online, backlog=backlog))

    def _on_online(self, online: bool) -> None:
        self.online = online
        self.scan.set_sync(SyncView(online=online, backlog=self.backlog))

    def _on_frame(self, image: QImage) -> None:
        self.scan.show_frame(image)
        if self.current is not self.scan:
            self.frame_painted.emit()  # not painted while hidden: let the pump go on

    def _on_painted(self) -> None:
        self.frame_painted.emit()
        if not self.first_frame:
            self.first_frame = True
            self.first_frame_shown.emit()

    def toggle_language(self) -> None:
        if self.languages is None:
            return
        language = "en" if self.languages.language == "vi" else "vi"
        self.set_language(language)

    def set_language(self, language: str) -> None:
        if self.languages is None:
            return
        self.scan.language = language
        self.languages.set_language(language)
        # Qt also posts every widget a LanguageChange event; saying it again now means no frame shows a
        # screen half in the old language.
        for screen in (self.scan, self.result, self.pin_pad, self.role_screen):
            retranslate = getattr(screen, "retranslate", None)
            if retranslate is not None:
                retranslate()

    # -- guard and admin hooks ------------------------------------------------------------------------

    def open_pin_pad(self, role: str = GUARD) -> None:
        self.result_timer.stop()
        self.pin_pad.request(role)
        self.stack.setCurrentWidget(self.pin_pad)

    def open_guard_console(self) -> None:
        """Ask for the guard PIN, then show the guard console."""
        self.open_pin_pad(GUARD)

    def open_admin(self) -> None:
        """Ask for the admin PIN, then show the admin screens."""
        self.open_pin_pad(ADMIN)

    def open_role_screen(self, role: str) -> None:
        """After the right PIN: the role's screen, imported now; a placeholder when this build lacks it."""
        module_name, class_name = ROLE_SCREENS[role]
        self._drop_role_screen()
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise  # the screen exists but something it needs does not: a real error
            screen: QWidget = PlaceholderScreen(role, self.show_scan)
        else:
            screen = getattr(module, class_name)(self.context, self)
            closed = getattr(screen, "closed", None)
            if closed is not None:
                closed.connect(self.show_scan)
            direction_changed = getattr(screen, "direction_changed", None)
            if direction_changed is not None:
                direction_changed.connect(self._direction_changed)
        self.role_screen = screen
        self.stack.addWidget(screen)
        self.stack.setCurrentWidget(screen)

    def _direction_changed(self, direction: Direction) -> None:
        """The guard switched VÀO / RA: the scan screen shows it at once."""
        self.scan.set_place(dataclasses.replace(self.scan.place, direction=direction))

    def _drop_role_screen(self) -> None:
        screen, self.role_screen = self.role_screen, None
        if screen is not None:
            self.stack.removeWidget(screen)
            screen.deleteLater()

    def _close_when_idle(self) -> None:
        if self.current in (self.scan, self.result) or self._idle_since is None:
            return
        if self._monotonic() - self._idle_since() >= IDLE_CLOSE_S:
            log.info(
                "closing the %s screen after %.0f s without a touch",
                type(self.current).__name__,
                IDLE_CLOSE_S,
            )
            self.show_scan()

    # -- kiosk mode ---------------------------------------------------------------------------------

    def allow_close(self) -> None:
        """Let the next close event through (the app is quitting on purpose)."""
        self._may_close = True

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._may_close:
            event.accept()
        else:
            event.ignore()  # Alt+F4 from a window manager, a stray close request: the gate stays up
