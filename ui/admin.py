"""Layer: ui. The admin screens, opened by ``MainWindow`` after the admin PIN (``AdminScreen(context, parent)``).

::

    AdminScreen ── header: title, location, Close
                ├─ nav: Status · Camera · Gate · Export · Staff · Settings
                └─ pages (ui.admin_pages) ── work ──▶ TaskRunner (QThreadPool) ── TaskDone ──▶ page

Pages never touch the disk, the database or a device on the GUI thread: they hand the work to
``ui.admin_tasks`` through the screen's ``TaskRunner`` and show the answer when its queued signal arrives.
The screen emits ``closed`` when the admin taps Close, and by itself after ``IDLE_CLOSE_S`` without a touch
(not while an export or import is still running), so a kiosk is never left open in admin mode. When no admin
PIN has been chosen yet (the first-run set-up) it opens on the PIN page.
"""

from __future__ import annotations

import logging
from functools import partial

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.admin_pages import (
    CameraPage,
    ExportPage,
    GatePage,
    Page,
    SettingsPage,
    StaffPage,
    StatusPage,
    admin_style,
)
from ui.admin_tasks import MediaSeam, TaskDone, TaskRunner, needs_setup
from ui.context import UiContext

log = logging.getLogger(__name__)

# Dense pages: on a large portrait screen the text stops growing here.
MAX_TEXT_PX = 24
# The admin screen closes itself after this long without a touch.
IDLE_CLOSE_S = 120.0
_ACTIVITY = frozenset(
    {
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.KeyPress,
        QEvent.Type.Wheel,
    }
)


#: Below this window height the open keyboard takes the header's room (see ``_keyboard_toggled``).
COMPACT_BELOW_PX = 700


class AdminScreen(QWidget):
    """The admin's pages. ``closed`` when done (Close, or idle for ``idle_s``)."""

    closed = Signal()

    def __init__(
        self,
        context: UiContext,
        parent: QWidget | None = None,
        *,
        idle_s: float = IDLE_CLOSE_S,
        media: MediaSeam | None = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName("admin")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(admin_style())
        self.runner = TaskRunner(self)
        seam = media or MediaSeam()

        self.title = QLabel()
        self.title.setObjectName("title")
        self.place = QLabel(context.config.location.name)
        self.place.setObjectName("muted")
        self.close_button = QPushButton()
        self.close_button.setObjectName("primary")
        self.close_button.clicked.connect(self.close_screen)
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.place, 1)
        header.addWidget(self.close_button)

        self.status = StatusPage(context, self.runner)
        self.camera = CameraPage(context, self.runner)
        self.gate = GatePage(context, self.runner)
        self.export = ExportPage(context, self.runner, seam)
        self.staff = StaffPage(context, self.runner, seam)
        self.settings = SettingsPage(context, self.runner)
        self.settings.keyboard_toggled.connect(self._keyboard_toggled)
        self.pages: list[Page] = [self.status, self.camera, self.gate, self.export, self.staff, self.settings]
        self.stack = QStackedWidget()
        self.nav_buttons: list[QPushButton] = []
        for page in self.pages:
            self.stack.addWidget(page)
            button = QPushButton()
            button.setObjectName("nav")
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(partial(self.show_page, page))
            self.nav_buttons.append(button)
        self.nav = QGridLayout()
        self.nav.setSpacing(4)
        self.body = QHBoxLayout()
        self.body.addLayout(self.nav)
        self.body.addWidget(self.stack, 1)
        outer = QVBoxLayout(self)
        outer.addLayout(header)
        outer.addLayout(self.body, 1)
        self._portrait: bool | None = None
        self._text_px = 0
        self._place_nav(portrait=False)

        self.idle_timer = QTimer(self)
        self.idle_timer.setSingleShot(True)
        self.idle_timer.setInterval(round(idle_s * 1000))
        self.idle_timer.timeout.connect(self._idle)
        self.idle_timer.start()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)  # any touch anywhere on the screen counts as activity

        self.retranslate()
        self.show_page(self.status)
        self.runner.run(partial(needs_setup, context.pin_path), self._on_setup_checked)

    # -- navigation ---------------------------------------------------------------------------------

    @property
    def current(self) -> Page:
        page = self.stack.currentWidget()
        assert isinstance(page, Page)
        return page

    def show_page(self, page: Page) -> None:
        previous = self.stack.currentWidget()
        if isinstance(previous, Page) and previous is not page:
            previous.deactivate()
        self.stack.setCurrentWidget(page)
        for button, candidate in zip(self.nav_buttons, self.pages, strict=True):
            button.setChecked(candidate is page)
        page.activate()

    def close_screen(self) -> None:
        self.idle_timer.stop()
        self.current.deactivate()
        self.closed.emit()

    def _on_setup_checked(self, done: TaskDone) -> None:
        if done.ok and done.value:
            self.show_page(self.settings)
            self.settings.first_run()

    # -- inactivity ---------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY and self.isVisible():
            self.idle_timer.start()
        return False

    def _idle(self) -> None:
        if self.runner.busy:  # an export is being written: let it finish and say so first
            self.idle_timer.start()
            return
        log.info("closing the admin screen after %.0f s without a touch", self.idle_timer.interval() / 1000)
        self.close_screen()

    # -- layout and language ------------------------------------------------------------------------

    def _keyboard_toggled(self, shown: bool) -> None:
        """On a short screen (800×480) the header and the page buttons make room for the keyboard while it
        is open, so the field being typed into stays in view."""
        compact = shown and self.height() < COMPACT_BELOW_PX
        for widget in (self.title, self.place, self.close_button, *self.nav_buttons):
            widget.setVisible(not compact)
        layout = self.layout()
        if layout is not None:
            layout.activate()

    def _place_nav(self, *, portrait: bool) -> None:
        if portrait == self._portrait:
            return
        self._portrait = portrait
        for button in self.nav_buttons:
            self.nav.removeWidget(button)
        columns = 3 if portrait else 1
        for index, button in enumerate(self.nav_buttons):
            self.nav.addWidget(button, index // columns, index % columns)
        self.body.setDirection(
            QHBoxLayout.Direction.TopToBottom if portrait else QHBoxLayout.Direction.LeftToRight
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        metrics = theme.Metrics(self.width(), self.height())
        self._place_nav(portrait=metrics.portrait)
        text_px = min(metrics.text_px(0.85), MAX_TEXT_PX)
        if text_px != self._text_px:
            self._text_px = text_px
            self.setStyleSheet(admin_style(text_px))
        for button in [*self.nav_buttons, self.close_button]:
            button.setMinimumSize(metrics.touch_px, metrics.touch_px)
        for page in self.pages:
            page.set_metrics(metrics)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self.title.setText(self.tr("Administration"))
        self.close_button.setText(self.tr("Close"))
        names = (
            self.tr("Status"),
            self.tr("Camera"),
            self.tr("Gate"),
            self.tr("Export"),
            self.tr("Staff"),
            self.tr("Settings"),
        )
        for button, name in zip(self.nav_buttons, names, strict=True):
            button.setText(name)
        for page in self.pages:
            page.retranslate()
