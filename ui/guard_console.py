"""Layer: ui. The guard console, opened after the guard PIN (``MainWindow.open_role_screen``).

What it does (DESIGN §5, issue 8)::

    header   people inside now (entries − exits today) · VÀO / RA switch · close
    tabs     Recent visits │ Search │ Manual entry                           guard name
    pages    recent visits ── a refused one ──▶ Override (a stock reason or a typed one) ──▶ recorded
             search (name words or the last 4+ digits of the ID number)
             manual entry (name, ID number optional, reason) ──▶ a ``manual`` visit
    keyboard VietKeyboard, shown while a text field is in use

Every line shows ``kiosk.guard.ConsoleLine``s: the ID number masked (``••••1234``), never in full; the
visits themselves (with the full number) stay on the worker thread.

Database work runs on this screen's own thread pool (one thread, so jobs run in order); results come back
to the GUI thread by a queued signal (STYLE 16). The store is thread-safe (one connection under a lock).

The VÀO / RA switch sets ``pipeline.direction`` (each verdict carries the direction it was counted in) — only when the
device is configured ``direction = "both"``; otherwise it is shown disabled. ``direction_changed`` tells
the main window, so the scan screen can say the new direction.

The console closes itself (``closed``) after ``inactivity_s`` without a touch or a key.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QScroller,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.errors import AlreadyOverriddenError, PayloadError
from kiosk.export import VIETNAM_TIME
from kiosk.guard import (
    MANUAL_ENTRY_REASONS,
    MIN_ID_DIGITS,
    OVERRIDE_REASONS,
    ConsoleLine,
    InsideCount,
    console_line,
)
from kiosk.model import Direction, Outcome, Reason, Visit
from ui import theme
from ui.context import UiContext, gate_direction
from ui.keyboard import TouchLineEdit, VietKeyboard
from ui.texts import direction_word, reason_text

if TYPE_CHECKING:
    from kiosk.store import Store

log = logging.getLogger(__name__)

#: The console goes back to scanning after this long without a touch.
INACTIVITY_S = 60.0
RECENT_LIMIT = 50
SEARCH_LIMIT = 50
ID_DIGITS = 12
_INPUT_EVENTS = {QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin, QEvent.Type.KeyPress}


def stock_reason_text(code: str) -> str:
    """A stock reason (``OVERRIDE_REASONS``, ``MANUAL_ENTRY_REASONS``: English codes) in the screen's
    language; any other text (a reason the guard typed) as it is."""
    texts = {
        "known staff member": QCoreApplication.translate("GuardReason", "known staff member"),
        "visitor expected by the office": QCoreApplication.translate(
            "GuardReason", "visitor expected by the office"
        ),
        "code damaged, identity checked by hand": QCoreApplication.translate(
            "GuardReason", "code damaged, identity checked by hand"
        ),
        "elderly visitor without phone": QCoreApplication.translate(
            "GuardReason", "elderly visitor without phone"
        ),
        "emergency or official duty": QCoreApplication.translate("GuardReason", "emergency or official duty"),
        "visitor without phone": QCoreApplication.translate("GuardReason", "visitor without phone"),
        "visitor without ID card": QCoreApplication.translate("GuardReason", "visitor without ID card"),
        "elderly visitor": QCoreApplication.translate("GuardReason", "elderly visitor"),
        "code does not scan": QCoreApplication.translate("GuardReason", "code does not scan"),
        "delivery or contractor": QCoreApplication.translate("GuardReason", "delivery or contractor"),
    }
    return texts.get(code, code)


def console_lines(store: Store, visits: list[Visit]) -> tuple[ConsoleLine, ...]:
    """``visits`` as console lines, each refusal marked when the guard already let it in (on the worker
    thread: one indexed read per refusal)."""
    return tuple(
        console_line(
            v,
            overridden=v.outcome is not Outcome.GRANTED and store.override_of(v.uuid) is not None,
        )
        for v in visits
    )


@dataclass(frozen=True, slots=True)
class Overview:
    """What the worker reads for the console's first page: recent visits and people inside now."""

    recent: tuple[ConsoleLine, ...]
    inside: InsideCount


@dataclass(frozen=True, slots=True)
class JobResult:
    """A finished database job: its value, or the error it raised."""

    value: Any = None
    error: Exception | None = None


class _Relay(QObject):
    """Carries job results from the worker thread to the GUI thread (a queued connection)."""

    finished = Signal(int, object)  # job number, JobResult


def _font_px(widget: QWidget, px: int, *, bold: bool = False) -> None:
    font = widget.font()
    font.setPixelSize(px)
    font.setBold(bold)
    widget.setFont(font)


class GuardConsole(QWidget):
    """The guard console. Signals: ``closed`` (the close button or inactivity), ``direction_changed``
    (``Direction``), ``refreshed`` (recent visits and the inside count shown), ``searched`` (results
    shown), ``recorded`` (a ``ConsoleLine`` of a manual entry or an override just recorded)."""

    closed = Signal()
    direction_changed = Signal(object)
    refreshed = Signal()
    searched = Signal()
    recorded = Signal(object)

    def __init__(
        self,
        context: UiContext,
        parent: QWidget | None = None,
        *,
        role: str = "guard",
        inactivity_s: float = INACTIVITY_S,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("guardConsole")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.context = context
        self.role = role
        self._direction = gate_direction(context)  # the switch's own state where there is no pipeline
        self.inside = InsideCount(0, 0)
        self.override_line: ConsoleLine | None = None
        self._jobs: dict[int, Callable[[JobResult], None]] = {}
        self._job_numbers = itertools.count(1)
        # Created before the relay: a child pool is destroyed first, and waits for a running job.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _Relay(self)
        self._relay.finished.connect(self._on_job_finished)

        self._build()
        self.keyboard.hide_requested.connect(self.hide_keyboard)

        self.idle_timer = QTimer(self)
        self.idle_timer.setSingleShot(True)
        self.idle_timer.setInterval(round(inactivity_s * 1000))
        self.idle_timer.timeout.connect(self._on_idle)
        self.idle_timer.start()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)  # any touch or key, anywhere in the window, is activity

        # The scan loop goes on while the console is open: what it records shows up here.
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(300)
        self._refresh_timer.timeout.connect(self.refresh)
        context.bridge.decided.connect(self._refresh_timer.start)

        self.show_page(self.recent_page)
        self.retranslate()
        self.refresh()

    # -- building ---------------------------------------------------------------------------------------

    def _button(self, slot: Callable[[], object] | None = None, *, checkable: bool = False) -> QPushButton:
        button = QPushButton()
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setMinimumHeight(theme.MIN_TOUCH_PX)
        button.setMinimumWidth(theme.MIN_TOUCH_PX)
        button.setCheckable(checkable)
        if slot is not None:
            button.clicked.connect(slot)
        return button

    def _field(self) -> TouchLineEdit:
        field = TouchLineEdit()
        field.setMinimumHeight(theme.MIN_TOUCH_PX)
        field.touched.connect(lambda f=field: self.show_keyboard(f))
        return field

    def _list(self) -> QListWidget:
        lst = QListWidget()
        lst.setWordWrap(True)
        lst.setTextElideMode(Qt.TextElideMode.ElideNone)  # a masked ID cut to "…" would say nothing
        lst.setResizeMode(QListWidget.ResizeMode.Adjust)
        lst.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        lst.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        lst.setMinimumHeight(theme.MIN_TOUCH_PX)
        # Takes the room that is left (and scrolls), rather than pushing the buttons off a short screen.
        lst.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        lst.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        QScroller.grabGesture(lst.viewport(), QScroller.ScrollerGestureType.LeftMouseButtonGesture)
        return lst

    def _build(self) -> None:
        # header: inside now, direction switch, close
        self.header = QFrame()
        self.header.setObjectName("header")
        self.title = QLabel()
        self.title.setObjectName("title")
        self.inside_label = QLabel()
        self.inside_label.setObjectName("inside")
        self.inside_label.setWordWrap(True)
        self.in_button = self._button(lambda: self.set_direction(Direction.IN), checkable=True)
        self.out_button = self._button(lambda: self.set_direction(Direction.OUT), checkable=True)
        self.in_button.setObjectName("direction")
        self.out_button.setObjectName("direction")
        ways = QButtonGroup(self)
        ways.addButton(self.in_button)
        ways.addButton(self.out_button)
        self.close_button = self._button(self.close_console)
        self.head_grid = QGridLayout(self.header)
        self.head_grid.setContentsMargins(0, 0, 0, 0)
        self._show_direction()

        # tabs and the guard's name
        self.nav = QFrame()
        self.recent_tab = self._button(lambda: self.show_page(self.recent_page), checkable=True)
        self.search_tab = self._button(lambda: self.show_page(self.search_page), checkable=True)
        self.manual_tab = self._button(lambda: self.show_page(self.manual_page), checkable=True)
        tabs = QButtonGroup(self)
        for tab in (self.recent_tab, self.search_tab, self.manual_tab):
            tab.setObjectName("tab")
            tabs.addButton(tab)
        self.guard_label = QLabel()
        self.guard_field = self._field()
        self.guard_field.setMaxLength(64)
        self.guard_field.setPlaceholderText(self.role)
        self.guard_field.setMinimumWidth(140)
        self.nav_grid = QGridLayout(self.nav)
        self.nav_grid.setContentsMargins(0, 0, 0, 0)

        # pages
        self.pages = QStackedWidget()
        self.recent_page = QWidget()
        self.recent_list = self._list()
        self.recent_override = self._button(lambda: self.start_override(self.recent_list))
        page = QVBoxLayout(self.recent_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.addWidget(self.recent_list, 1)
        page.addWidget(self.recent_override, 0, Qt.AlignmentFlag.AlignRight)
        self.recent_list.currentItemChanged.connect(self._update_override_buttons)

        self.search_page = QWidget()
        self.search_field = self._field()
        self.search_field.setMaxLength(60)
        self.search_field.returnPressed.connect(self.search)
        self.search_button = self._button(self.search)
        self.search_hint = QLabel()
        self.search_hint.setObjectName("muted")
        self.search_hint.setWordWrap(True)
        self.search_list = self._list()
        self.search_override = self._button(lambda: self.start_override(self.search_list))
        self.search_list.currentItemChanged.connect(self._update_override_buttons)
        page = QVBoxLayout(self.search_page)
        page.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.search_field, 1)
        row.addWidget(self.search_button)
        page.addLayout(row)
        page.addWidget(self.search_hint)
        page.addWidget(self.search_list, 1)
        page.addWidget(self.search_override, 0, Qt.AlignmentFlag.AlignRight)

        self.manual_page = QWidget()
        self.name_label, self.id_label = QLabel(), QLabel()
        self.manual_reason_label, self.manual_other_label = QLabel(), QLabel()
        self.name_field = self._field()
        self.name_field.setMaxLength(100)
        self.id_field = self._field()
        self.id_field.setMaxLength(ID_DIGITS)
        self.manual_reasons = self._reason_list(MANUAL_ENTRY_REASONS)
        self.manual_other = self._field()
        self.manual_other.setMaxLength(200)
        self.record_button = self._button(self.record_manual)
        self.record_button.setObjectName("primary")
        # Enter on the keyboard goes to the next field; on the last one it records.
        self.name_field.returnPressed.connect(lambda: self._next_field(self.id_field))
        self.id_field.returnPressed.connect(lambda: self._next_field(self.manual_other))
        self.manual_other.returnPressed.connect(self.record_manual)
        self.manual_last = QWidget()
        last = QHBoxLayout(self.manual_last)
        last.setContentsMargins(0, 0, 0, 0)
        last.addWidget(self.manual_other, 1)
        last.addWidget(self.record_button)
        self.manual_grid = QGridLayout(self.manual_page)
        self.manual_grid.setContentsMargins(0, 0, 0, 0)

        self.override_page = QWidget()
        self.override_title = QLabel()
        self.override_title.setObjectName("subtitle")
        self.override_visit = QLabel()
        self.override_visit.setWordWrap(True)
        self.override_reasons = self._reason_list(OVERRIDE_REASONS)
        self.override_other_label = QLabel()
        self.override_other = self._field()
        self.override_other.setMaxLength(200)
        self.override_confirm = self._button(self.record_override)
        self.override_confirm.setObjectName("primary")
        self.override_cancel = self._button(self.cancel_override)
        self.override_other.returnPressed.connect(self.record_override)
        self.guard_field.returnPressed.connect(self.hide_keyboard)
        page = QVBoxLayout(self.override_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.addWidget(self.override_title)
        page.addWidget(self.override_visit)
        page.addWidget(self.override_reasons, 1)
        row = QHBoxLayout()
        row.addWidget(self.override_other_label)
        row.addWidget(self.override_other, 1)
        row.addWidget(self.override_cancel)
        row.addWidget(self.override_confirm)
        page.addLayout(row)

        # Each page scrolls on its own when the keyboard takes the room (the field in use is scrolled into
        # view), so one page's height never makes the window taller than the screen.
        self._scrolls: dict[QWidget, QScrollArea] = {}
        for widget in (self.recent_page, self.search_page, self.manual_page, self.override_page):
            area = QScrollArea()
            area.setWidgetResizable(True)
            area.setFrameShape(QFrame.Shape.NoFrame)
            area.setWidget(widget)
            QScroller.grabGesture(area.viewport(), QScroller.ScrollerGestureType.LeftMouseButtonGesture)
            self._scrolls[widget] = area
            self.pages.addWidget(area)

        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.hide()
        self.keyboard = VietKeyboard()
        self.keyboard.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.header)
        layout.addWidget(self.nav)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.keyboard)
        self.apply_metrics(theme.Metrics(800, 480))

    def _place(self, portrait: bool) -> None:
        """Lay the header, the tabs and the manual entry form out for a landscape or a portrait screen."""
        if getattr(self, "_portrait", None) is portrait:
            return
        self._portrait = portrait
        grids = (self.head_grid, self.nav_grid, self.manual_grid)
        for grid in grids:
            while grid.count():
                grid.takeAt(0)
            for i in range(8):
                grid.setRowStretch(i, 0)
                grid.setColumnStretch(i, 0)
        head, nav, form = grids
        tabs = (self.recent_tab, self.search_tab, self.manual_tab)
        top = Qt.AlignmentFlag.AlignTop
        if portrait:  # two rows each, labels above the fields
            head.addWidget(self.title, 0, 0, 1, 3)
            head.addWidget(self.close_button, 0, 3)
            head.addWidget(self.inside_label, 1, 0, 1, 2)
            head.addWidget(self.in_button, 1, 2)
            head.addWidget(self.out_button, 1, 3)
            head.setColumnStretch(0, 1)
            for column, tab in enumerate(tabs):
                nav.addWidget(tab, 0, column, 1, 2 if column == 2 else 1)
            nav.addWidget(self.guard_label, 1, 0)
            nav.addWidget(self.guard_field, 1, 1, 1, 3)
            for row, widget in enumerate(
                (
                    self.name_label,
                    self.name_field,
                    self.id_label,
                    self.id_field,
                    self.manual_reason_label,
                    self.manual_reasons,
                    self.manual_other_label,
                    self.manual_last,
                )
            ):
                form.addWidget(widget, row, 0)
            form.setRowStretch(5, 1)
            form.setColumnStretch(0, 1)
        else:  # one row each, labels beside the fields
            for column, widget in enumerate(
                (self.title, self.inside_label, self.in_button, self.out_button, self.close_button)
            ):
                head.addWidget(widget, 0, column)
            head.setColumnStretch(1, 1)
            for column, tab in enumerate(tabs):
                nav.addWidget(tab, 0, column)
            nav.addWidget(self.guard_label, 0, 4)
            nav.addWidget(self.guard_field, 0, 5)
            nav.setColumnStretch(3, 1)
            nav.setColumnStretch(5, 1)
            rows = (
                (self.name_label, self.name_field),
                (self.id_label, self.id_field),
                (self.manual_reason_label, self.manual_reasons),
                (self.manual_other_label, self.manual_last),
            )
            for row, (label, widget) in enumerate(rows):
                form.addWidget(label, row, 0, top if widget is self.manual_reasons else Qt.AlignmentFlag(0))
                form.addWidget(widget, row, 1)
            form.setRowStretch(2, 1)
            form.setColumnStretch(1, 1)

    def _reason_list(self, codes: tuple[str, ...]) -> QListWidget:
        lst = self._list()
        for code in codes:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, code)
            lst.addItem(item)
        return lst

    # -- texts and looks --------------------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self.title.setText(self.tr("Guard console"))
        self.in_button.setText(direction_word(Direction.IN))
        self.out_button.setText(direction_word(Direction.OUT))
        self.close_button.setText(self.tr("Close"))
        self.recent_tab.setText(self.tr("Recent"))
        self.search_tab.setText(self.tr("Search"))
        self.manual_tab.setText(self.tr("Manual entry"))
        self.guard_label.setText(self.tr("Guard:"))
        self.search_field.setPlaceholderText(self.tr("Name or last digits of the ID"))
        self.search_button.setText(self.tr("Search"))
        self.search_hint.setText(
            self.tr("Type words of the name, or at least %1 last digits of the ID number.").replace(
                "%1", str(MIN_ID_DIGITS)
            )
        )
        for button in (self.recent_override, self.search_override):
            button.setText(self.tr("Override refusal…"))
        self.name_label.setText(self.tr("Name"))
        self.id_label.setText(self.tr("ID number (optional)"))
        self.manual_reason_label.setText(self.tr("Reason"))
        self.manual_other_label.setText(self.tr("Other reason"))
        self.manual_other.setPlaceholderText(self.tr("or type a reason"))
        self.record_button.setText(self.tr("Record entry"))
        self.override_title.setText(self.tr("Let in a refused visitor"))
        self.override_other_label.setText(self.tr("Other reason"))
        self.override_other.setPlaceholderText(self.tr("or type a reason"))
        self.override_confirm.setText(self.tr("Let in"))
        self.override_cancel.setText(self.tr("Cancel"))
        for lst in (self.manual_reasons, self.override_reasons):
            for row in range(lst.count()):
                item = lst.item(row)
                item.setText(stock_reason_text(str(item.data(Qt.ItemDataRole.UserRole))))
        self._show_inside()
        for lst in (self.recent_list, self.search_list):
            for row in range(lst.count()):
                item = lst.item(row)
                item.setText(self.line_text(item.data(Qt.ItemDataRole.UserRole)))
        if self.override_line is not None:
            self.override_visit.setText(self.line_text(self.override_line))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.apply_metrics(theme.Metrics(self.width(), self.height()))

    def apply_metrics(self, metrics: theme.Metrics) -> None:
        self.metrics = metrics
        self._place(metrics.portrait)
        px = metrics.text_px()
        self.setStyleSheet(
            f"#guardConsole {{ background: {theme.BACKGROUND}; }}"
            f"QLabel {{ color: {theme.TEXT}; font-size: {px}px; }}"
            f"QLabel#title {{ font-size: {metrics.text_px(1.1)}px; font-weight: bold; }}"
            f"QLabel#subtitle {{ font-weight: bold; }}"
            f"QLabel#muted {{ color: {theme.MUTED_TEXT}; font-size: {metrics.text_px(0.85)}px; }}"
            f"QLabel#message {{ color: {theme.TEXT}; font-weight: bold; }}"
            f"QPushButton {{ background: #FFFFFF; color: {theme.TEXT}; border: 2px solid {theme.ACCENT};"
            f" border-radius: 8px; padding: 4px 12px; font-size: {px}px; }}"
            f"QPushButton:checked, QPushButton#primary {{ background: {theme.ACCENT}; color: {theme.ON_ACCENT}; }}"
            f"QPushButton:disabled {{ background: {theme.BACKGROUND}; color: {theme.MUTED_TEXT};"
            f" border-color: {theme.MUTED_TEXT}; }}"
            f"QLineEdit {{ background: #FFFFFF; color: {theme.TEXT}; border: 2px solid {theme.MUTED_TEXT};"
            f" border-radius: 6px; padding: 2px 8px; font-size: {px}px; }}"
            f"QLineEdit:focus {{ border-color: {theme.ACCENT}; }}"
            f"QListWidget {{ background: #FFFFFF; color: {theme.TEXT}; font-size: {px}px; }}"
            f"QListWidget::item {{ border-bottom: 1px solid #D0D5DB; }}"
            f"QListWidget::item:selected {{ background: {theme.ACCENT}; color: {theme.ON_ACCENT}; }}"
        )
        self.keyboard.set_text_px(metrics.text_px())
        # Five rows of keys; on a short screen exactly the smallest touch size, so that the keyboard's
        # height never feeds back into the metrics it is computed from.
        key_px = theme.MIN_TOUCH_PX if self._short(metrics) else metrics.touch_px
        self.keyboard.setFixedHeight(5 * key_px + 4 * 4 + 8)
        self._arrange(self.keyboard.isVisibleTo(self))

    @staticmethod
    def _short(metrics: theme.Metrics) -> bool:
        return metrics.height < 700

    def _arrange(self, keyboard: bool) -> None:
        """A short screen (800×480) gives the keyboard the header's room while it is shown; the header is
        hidden before the keyboard shows, so the window never has to grow."""
        compact = keyboard and self._short(self.metrics)
        self.header.setVisible(not compact)
        self.nav.setVisible(not compact)
        layout = self.layout()
        if layout is not None:
            layout.activate()  # now, not at the next event loop pass: the next touch lands where it shows

    # -- pages ------------------------------------------------------------------------------------------

    def show_page(self, page: QWidget) -> None:
        self.pages.setCurrentWidget(self._scrolls[page])
        tab = {self.recent_page: self.recent_tab, self.search_page: self.search_tab}.get(page)
        tab = tab or (self.manual_tab if page is self.manual_page else None)
        if tab is not None:
            tab.setChecked(True)
        self.hide_keyboard()

    @property
    def page(self) -> QWidget | None:
        area = self.pages.currentWidget()
        return area.widget() if isinstance(area, QScrollArea) else None

    def show_keyboard(self, field: QLineEdit) -> None:
        self.keyboard.bind(field)
        if not self.keyboard.isVisibleTo(self):
            self._arrange(True)
            self.keyboard.show()
        area = self.pages.currentWidget()
        if isinstance(area, QScrollArea):
            QTimer.singleShot(0, lambda: area.ensureWidgetVisible(field, 8, 8))

    def _next_field(self, field: QLineEdit) -> None:
        field.setFocus(Qt.FocusReason.OtherFocusReason)
        self.show_keyboard(field)

    def hide_keyboard(self) -> None:
        self.keyboard.hide()
        self.keyboard.bind(None)
        self._arrange(False)

    def say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # -- the direction switch ---------------------------------------------------------------------------

    @property
    def direction(self) -> Direction:
        pipeline = self.context.pipeline
        return pipeline.direction if pipeline is not None else self._direction

    @property
    def can_switch_direction(self) -> bool:
        return self.context.config.device.direction is Direction.BOTH

    def set_direction(self, direction: Direction) -> None:
        """In or out, for the scans from now on (a gate configured both ways only)."""
        if self.can_switch_direction and direction is not self.direction:
            assert direction in (Direction.IN, Direction.OUT)
            if self.context.pipeline is not None:
                # One attribute the scan thread reads per scan: the next scan takes the new direction (and
                # its verdict carries it to the screens).
                self.context.pipeline.direction = direction
            self._direction = direction
            log.info("guard switched the gate's direction to %s", direction.value)
            self.direction_changed.emit(direction)
        self._show_direction()

    def _show_direction(self) -> None:
        enabled = self.can_switch_direction
        for button in (self.in_button, self.out_button):
            button.setEnabled(enabled)
        (self.out_button if self.direction is Direction.OUT else self.in_button).setChecked(True)

    # -- database jobs, on the worker thread ------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def _run(self, work: Callable[[], object], done: Callable[[JobResult], None]) -> None:
        number = next(self._job_numbers)
        self._jobs[number] = done
        relay = self._relay

        def job() -> None:  # on the pool's thread
            try:
                result = JobResult(value=work())
            except Exception as exc:
                result = JobResult(error=exc)
            with contextlib.suppress(RuntimeError):  # the console was deleted meanwhile: nobody to tell
                relay.finished.emit(number, result)

        self._pool.start(job)

    def _on_job_finished(self, number: int, result: JobResult) -> None:
        done = self._jobs.pop(number, None)
        if done is not None:
            done(result)

    def _failed(self, result: JobResult, what: str) -> bool:
        """Says a database failure on screen; True when ``result`` is one."""
        if result.error is None:
            return False
        log.error("guard console: %s failed: %s", what, result.error)
        self.say(self.tr("The record could not be read or written. Please try again or call the admin."))
        return True

    def _day_start(self) -> datetime:
        now = self.context.clock.now().wall.astimezone(VIETNAM_TIME)
        return now.replace(hour=0, minute=0, second=0, microsecond=0)

    def refresh(self) -> None:
        """Read recent visits and people inside now again (on the worker thread)."""
        store = self.context.store
        if store is None:
            self.say(self.tr("No visit record on this kiosk."))
            return
        since = self._day_start()

        def work() -> Overview:  # on the worker thread
            recent = console_lines(store, store.visits(limit=RECENT_LIMIT))
            return Overview(recent, store.inside_now(since))

        self._run(work, self._on_refreshed)

    def _on_refreshed(self, result: JobResult) -> None:
        if self._failed(result, "reading recent visits"):
            return
        overview: Overview = result.value
        self.inside = overview.inside
        self._show_inside()
        self._fill(self.recent_list, overview.recent)
        self.refreshed.emit()

    def search(self) -> None:
        store = self.context.store
        text = self.search_field.text()
        self.hide_keyboard()
        if store is None:
            return

        def work() -> tuple[ConsoleLine, ...]:  # on the worker thread
            return console_lines(store, store.search(text, limit=SEARCH_LIMIT))

        self._run(work, self._on_searched)

    def _on_searched(self, result: JobResult) -> None:
        if self._failed(result, "search"):
            return
        lines: tuple[ConsoleLine, ...] = result.value
        self._fill(self.search_list, lines)
        self.say("" if lines else self.tr("Nothing found."))
        self.searched.emit()

    @property
    def guard(self) -> str:
        """Who is recorded as the guard: the name typed for this session, else the PIN's role."""
        return " ".join(self.guard_field.text().split()) or self.role

    @staticmethod
    def _chosen(lst: QListWidget, typed: QLineEdit) -> str:
        """The reason: what was typed, else the stock reason chosen (stored as its English code)."""
        text = " ".join(typed.text().split())
        if text:
            return text
        item = lst.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None and item.isSelected() else ""

    def record_manual(self) -> None:
        """Record the visitor typed in as a ``manual`` visit (after checking what the guard can fix)."""
        store, keyring = self.context.store, self.context.keyring
        name = " ".join(self.name_field.text().split())
        number = self.id_field.text().strip()
        note = self._chosen(self.manual_reasons, self.manual_other)
        if not name:
            self.say(self.tr("Type the visitor's name."))
            return
        if number and not (len(number) == ID_DIGITS and number.isascii() and number.isdigit()):
            self.say(self.tr("An ID number has 12 digits (or leave it empty)."))
            return
        if not note:
            self.say(self.tr("Choose or type a reason."))
            return
        if store is None or keyring is None:
            self.say(self.tr("No visit record on this kiosk."))
            return
        guard, direction, at = self.guard, self.direction, self.context.clock.now()
        self.hide_keyboard()
        self.record_button.setEnabled(False)

        def work() -> ConsoleLine:  # on the worker thread
            visit = store.record_manual(
                name=name,
                id_number=number or None,
                note=note,
                guard=guard,
                at=at,
                direction=direction,
                keyring=keyring,
            )
            return console_line(visit)

        self._run(work, self._on_manual_recorded)

    def _on_manual_recorded(self, result: JobResult) -> None:
        self.record_button.setEnabled(True)
        if isinstance(result.error, PayloadError):
            self.say(self._input_problem(result.error.reason))
            return
        if self._failed(result, "manual entry"):
            return
        line: ConsoleLine = result.value
        for field in (self.name_field, self.id_field, self.manual_other):
            field.clear()
        self.manual_reasons.clearSelection()
        self.say(self.tr("Recorded: %1.").replace("%1", line.name))
        self.recorded.emit(line)
        self.refresh()

    def _input_problem(self, reason: Reason) -> str:
        if reason is Reason.BAD_ID:
            return self.tr("An ID number has 12 digits (or leave it empty).")
        if reason is Reason.TOO_LONG:
            return self.tr("The reason is too long.")
        if reason is Reason.EMPTY:
            return self.tr("Choose or type a reason.")
        return self.tr("This name cannot be recorded; please check it.")

    # -- override -------------------------------------------------------------------------------------

    def _update_override_buttons(self) -> None:
        for lst, button in (
            (self.recent_list, self.recent_override),
            (self.search_list, self.search_override),
        ):
            item = lst.currentItem()
            line = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
            button.setEnabled(isinstance(line, ConsoleLine) and line.overridable)

    def start_override(self, lst: QListWidget) -> None:
        item = lst.currentItem()
        line = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if not isinstance(line, ConsoleLine) or not line.overridable:
            return
        self.override_line = line
        self.override_visit.setText(self.line_text(line))
        self.override_reasons.clearSelection()
        self.override_other.clear()
        self.show_page(self.override_page)
        self.say("")

    def cancel_override(self) -> None:
        self.override_line = None
        self.show_page(self.recent_page)

    def record_override(self) -> None:
        store, line = self.context.store, self.override_line
        note = self._chosen(self.override_reasons, self.override_other)
        if line is None or store is None:
            return
        if not note:
            self.say(self.tr("Choose or type a reason."))
            return
        guard, at = self.guard, self.context.clock.now()
        self.hide_keyboard()
        self.override_confirm.setEnabled(False)

        def work() -> ConsoleLine:  # on the worker thread
            original = store.get_visit(line.uuid)
            if original is None:
                raise LookupError(f"visit {line.uuid} is gone")
            return console_line(store.record_override(original, note=note, guard=guard, at=at))

        self._run(work, self._on_override_recorded)

    def _on_override_recorded(self, result: JobResult) -> None:
        self.override_confirm.setEnabled(True)
        if isinstance(result.error, PayloadError):
            self.say(self._input_problem(result.error.reason))
            return
        if isinstance(result.error, AlreadyOverriddenError):
            # The list was older than the record (another override came first): nothing was recorded.
            log.info("guard console: %s", result.error)
            self.override_line = None
            self.show_page(self.recent_page)
            self.say(self.tr("This refusal was already let in by the guard."))
            self.refresh()
            return
        if self._failed(result, "override"):
            return
        line: ConsoleLine = result.value
        self.override_line = None
        self.show_page(self.recent_page)
        self.say(self.tr("Let in: %1.").replace("%1", line.name or line.masked_id))
        self.recorded.emit(line)
        self.refresh()

    # -- showing visits ---------------------------------------------------------------------------------

    def _show_inside(self) -> None:
        self.inside_label.setText(
            self.tr("Inside now: %1 (in %2, out %3)")
            .replace("%1", str(self.inside.inside))
            .replace("%2", str(self.inside.entered))
            .replace("%3", str(self.inside.left))
        )

    def _fill(self, lst: QListWidget, lines: tuple[ConsoleLine, ...]) -> None:
        lst.clear()
        for line in lines:
            item = QListWidgetItem(self.line_text(line))
            item.setData(Qt.ItemDataRole.UserRole, line)
            lst.addItem(item)
        self._update_override_buttons()

    def line_text(self, line: ConsoleLine) -> str:
        """A visit in one or two lines; the ID number masked (``ConsoleLine`` holds no other form)."""
        at = line.at.astimezone(VIETNAM_TIME)
        today = self._day_start()
        when = at.strftime("%H:%M") if today <= at < today + timedelta(days=1) else at.strftime("%d/%m %H:%M")
        if line.outcome is Outcome.GRANTED:
            verdict = self.tr("let in")
        elif line.outcome is Outcome.REFUSED:
            verdict = self.tr("refused")
        else:
            verdict = self.tr("to the guard")
        who = " ".join(part for part in (line.name, line.masked_id) if part) or self.tr("(no name)")
        first = f"{when}  {direction_word(line.direction)}  {verdict} · {who}"
        if line.manual:
            detail = (
                self.tr("by %1: %2").replace("%1", line.guard).replace("%2", stock_reason_text(line.note))
            )
        elif line.outcome is not Outcome.GRANTED:
            detail = reason_text(line.reason)
            if line.overridden:
                let_in = self.tr("let in by the guard")
                detail = f"{detail} · {let_in}"
        else:
            return first
        return f"{first}\n{detail}"

    # -- closing ----------------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _INPUT_EVENTS and self.isVisible():
            self.idle_timer.start()  # restarts: the console stays while it is used
        return False

    def _on_idle(self) -> None:
        log.info("guard console closed after %.0f s without a touch", self.idle_timer.interval() / 1000)
        self.close_console()

    def close_console(self) -> None:
        self.idle_timer.stop()
        self.hide_keyboard()
        self.closed.emit()
