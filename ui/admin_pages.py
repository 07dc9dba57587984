"""Layer: ui. The admin screen's pages (``ui.admin.AdminScreen``): status, camera test, gate test, export,
staff roster and report, settings and PINs.

Each page is passive: it asks ``ui.admin_tasks`` for work through the screen's ``TaskRunner`` (never on
the GUI thread) and shows the ``TaskDone`` that comes back. ``task_done(name, TaskDone)`` is emitted after
a page has shown an answer (tests wait on it). Messages from the core (a full stick, a bad roster row) are
shown as the core wrote them, after a translated lead-in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QDate, QEvent, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QScrollArea,
    QScroller,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from kiosk.config import ADMIN_KEYS, SYSTEM_CONFIG
from kiosk.media import Medium
from kiosk.model import Direction, Outcome, PinProblem, PolicyMode
from kiosk.pin import MAX_DIGITS
from kiosk.settings import MAX_ADMIN_TEXT, pending_settings
from ui import theme
from ui.admin_tasks import (
    ROSTER_FILE,
    Fact,
    LiveRates,
    MediaSeam,
    Report,
    RosterSummary,
    TaskDone,
    TaskRunner,
    Written,
    change_pin,
    doctor_checks,
    export_range,
    export_report,
    import_roster,
    kept_roster,
    live_rates,
    not_scanned_report,
    roster_files,
    save_settings,
    signal_gate,
    status_facts,
    vietnam_today,
)
from ui.context import UiContext
from ui.keyboard import TouchLineEdit, VietKeyboard

LEVEL_COLOURS = {
    "OK": theme.RESULT_COLOURS[Outcome.GRANTED],
    "WARN": theme.RESULT_COLOURS[Outcome.NEEDS_GUARD],
    "FAIL": theme.RESULT_COLOURS[Outcome.REFUSED],
}
CAMERA_POLL_MS = 500
#: The settings page's rows the admin changes (all of kiosk.config.ADMIN_KEYS), then those it only shows.
SETTING_ROWS = ADMIN_KEYS
FACT_ROWS = ("location.code", "device.id", "camera", "gate", "database")
TELEX_FIELDS = ("location.name", "location.address", "location.district")


def admin_style(text_px: int = 19) -> str:
    """The admin screens' style; sizes follow the window (``theme.Metrics``)."""
    return f"""
        #admin, #page, #scrolled {{ background: {theme.BACKGROUND}; }}
        #admin * {{ font-size: {text_px}px; }}
        QLabel {{ color: {theme.TEXT}; }}
        QLabel#title {{ font-size: {round(text_px * 1.25)}px; font-weight: bold; }}
        QLabel#heading {{ font-weight: bold; }}
        QLabel#muted {{ color: {theme.MUTED_TEXT}; }}
        QLabel#message {{ color: {theme.TEXT}; background: #FFFFFF; border-radius: 6px; padding: 6px; }}
        QPushButton {{ background: #FFFFFF; color: {theme.TEXT}; border: 2px solid {theme.MUTED_TEXT};
                      border-radius: 8px; padding: 4px 12px; }}
        QPushButton:checked, QPushButton#primary {{ background: {theme.ACCENT}; color: {theme.ON_ACCENT};
                      border-color: {theme.ACCENT}; }}
        QPushButton:disabled {{ color: {theme.MUTED_TEXT}; border-style: dashed; }}
        QComboBox, QDateEdit, QListWidget, QLineEdit {{ background: #FFFFFF; color: {theme.TEXT};
                      border: 2px solid {theme.MUTED_TEXT}; border-radius: 6px; padding: 2px 8px; }}
        QListWidget::item {{ padding: 8px 2px; }}
        QListWidget::item:selected {{ background: {theme.ACCENT}; color: {theme.ON_ACCENT}; }}
        QScrollArea {{ border: none; }}
    """


def fill(text: str, *values: object) -> str:
    """``%1``, ``%2``… in a translated text replaced by ``values`` (Qt's ``arg``; PySide's ``tr`` gives a str)."""
    for number, value in reversed(list(enumerate(values, 1))):
        text = text.replace(f"%{number}", str(value))
    return text


class Page(QWidget):
    """A page in a scroll area (a small screen scrolls rather than clips). Subclasses fill ``self.box``."""

    task_done = Signal(str, object)  # what, TaskDone

    def __init__(self, context: UiContext, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.runner = runner
        self.setObjectName("page")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.touch_px = theme.MIN_TOUCH_PX
        inner = QWidget()
        inner.setObjectName("scrolled")
        self.box = QVBoxLayout(inner)
        self.box.setContentsMargins(8, 0, 8, 8)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area = scroll
        QScroller.grabGesture(scroll.viewport(), QScroller.ScrollerGestureType.LeftMouseButtonGesture)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

    def activate(self) -> None:
        """Shown: refresh what it shows."""

    def deactivate(self) -> None:
        """Hidden: stop polling."""

    def retranslate(self) -> None:
        """Say everything again in the current language."""

    def set_metrics(self, metrics: theme.Metrics) -> None:
        self.touch_px = metrics.touch_px
        for button in self.findChildren(QPushButton):
            button.setMinimumSize(metrics.touch_px, metrics.touch_px)
        for field in self.findChildren(QComboBox) + self.findChildren(QDateEdit):
            field.setMinimumHeight(metrics.touch_px)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # helpers

    def button(self, on_click: object, *, primary: bool = False) -> QPushButton:
        button = QPushButton()
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setMinimumHeight(self.touch_px)
        if primary:
            button.setObjectName("primary")
        button.clicked.connect(on_click)
        return button

    @staticmethod
    def label(*, wrap: bool = True, name: str = "") -> QLabel:
        label = QLabel()
        label.setWordWrap(wrap)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        if name:
            label.setObjectName(name)
        return label

    @staticmethod
    def heading() -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setObjectName("heading")
        return label

    def finish(self, what: str, done: TaskDone) -> None:
        self.task_done.emit(what, done)


# -- status -----------------------------------------------------------------------------------------


class StatusPage(Page):
    """Version, disk, database, backlog, clock, camera rate, decode time, errors; then ``kiosk doctor``."""

    def __init__(self, context: UiContext, runner: TaskRunner) -> None:
        super().__init__(context, runner)
        self.facts: list[Fact] = []
        self.checks: list[Fact] = []
        self.checks_pending = False
        self.refresh_button = self.button(self.activate)
        self.doctor_heading = self.heading()
        self.grid = QGridLayout()
        self.grid.setColumnStretch(2, 1)
        self.grid.setHorizontalSpacing(10)
        self.doctor_grid = QGridLayout()
        self.doctor_grid.setColumnStretch(2, 1)
        self.doctor_grid.setHorizontalSpacing(10)
        self.note = self.label(name="muted")
        top = QHBoxLayout()
        top.addWidget(self.note, 1)
        top.addWidget(self.refresh_button)
        self.box.addLayout(top)
        self.box.addLayout(self.grid)
        self.box.addWidget(self.doctor_heading)
        self.box.addLayout(self.doctor_grid)
        self.box.addStretch(1)

    def activate(self) -> None:
        self.runner.run(partial(status_facts, self.context), self._on_facts)
        if not self.checks_pending:
            self.checks_pending = True
            self._fill(self.doctor_grid, [])
            self.retranslate()
            self.runner.run(partial(doctor_checks, self.context), self._on_checks)

    def _on_facts(self, done: TaskDone) -> None:
        self.facts = list(done.value) if done.ok else [Fact("status", "FAIL", done.error)]
        self._fill(self.grid, self.facts)
        self.finish("facts", done)

    def _on_checks(self, done: TaskDone) -> None:
        self.checks_pending = False
        self.checks = list(done.value) if done.ok else [Fact("kiosk doctor", "FAIL", done.error)]
        self._fill(self.doctor_grid, self.checks)
        self.retranslate()
        self.finish("checks", done)

    def _fill(self, grid: QGridLayout, rows: list[Fact]) -> None:
        while grid.count():
            item = grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for row, fact in enumerate(rows):
            name = self.heading()
            name.setText(self._name(fact.name))
            name.setAlignment(Qt.AlignmentFlag.AlignTop)
            level = QLabel(self._level(fact.level))
            level.setAlignment(Qt.AlignmentFlag.AlignCenter | Qt.AlignmentFlag.AlignTop)
            if fact.level in LEVEL_COLOURS:
                background, foreground = LEVEL_COLOURS[fact.level]
                level.setStyleSheet(
                    f"background: {background}; color: {foreground}; border-radius: 4px; padding: 0 6px;"
                )
            value = self.label()
            value.setText(fact.value)
            value.setAlignment(Qt.AlignmentFlag.AlignTop)
            value.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            top = Qt.AlignmentFlag.AlignTop
            grid.addWidget(name, row, 0, top)
            grid.addWidget(level, row, 1, top)
            grid.addWidget(value, row, 2)

    def _level(self, level: str) -> str:
        return {"OK": self.tr("OK"), "WARN": self.tr("WARN"), "FAIL": self.tr("FAIL")}.get(level, "")

    def _name(self, name: str) -> str:
        names = {
            "version": self.tr("Version"),
            "disk": self.tr("Disk"),
            "database": self.tr("Database"),
            "backlog": self.tr("Waiting to send"),
            "server": self.tr("Server"),
            "clock": self.tr("Clock"),
            "camera": self.tr("Camera"),
            "decode time": self.tr("Decode time"),
            "scan errors": self.tr("Scan errors"),
            "last errors": self.tr("Last errors"),
            "gate outputs": self.tr("Gate outputs"),
            # kiosk doctor's checks
            "configuration": self.tr("Configuration"),
            "disk space": self.tr("Disk"),
            "identity key": self.tr("Identity key"),
            "DCC trust list": self.tr("Certificate trust list"),
            "2D scanners": self.tr("2D scanners"),
        }
        return names.get(name, name)

    def retranslate(self) -> None:
        self.refresh_button.setText(self.tr("Refresh"))
        self.note.setText(self.tr("The kiosk's state now; the self-test below is kiosk doctor's."))
        if self.checks_pending:
            self.doctor_heading.setText(self.tr("Self-test: checking…"))
        elif self.context.status_checks is None:
            self.doctor_heading.setText(self.tr("Self-test: not available in this app"))
        else:
            self.doctor_heading.setText(self.tr("Self-test (kiosk doctor)"))
        self._fill(self.grid, self.facts)
        if not self.checks_pending:
            self._fill(self.doctor_grid, self.checks)


# -- camera test ------------------------------------------------------------------------------------


class CameraPage(Page):
    """The live picture, the frame rate and the decode time, refreshed twice a second while shown."""

    def __init__(self, context: UiContext, runner: TaskRunner) -> None:
        super().__init__(context, runner)
        self.rates: LiveRates | None = None
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(160, 120)
        self.preview.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.preview.setStyleSheet(f"background: {theme.PREVIEW_BACKGROUND}; color: {theme.ON_PREVIEW};")
        self.fps = self.label()
        self.decode = self.label()
        self.state = self.label()
        self.note = self.label(name="muted")
        numbers = QVBoxLayout()
        for label in (self.state, self.fps, self.decode, self.note):
            numbers.addWidget(label)
        numbers.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.preview, 3)
        row.addLayout(numbers, 2)
        self.box.addLayout(row, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(CAMERA_POLL_MS)
        self.timer.timeout.connect(self._poll)
        self._polling = False
        self._connected = False

    def activate(self) -> None:
        if not self._connected:
            self.context.bridge.frame_ready.connect(self._on_frame)
            self._connected = True
        self.timer.start()
        self._poll()

    def deactivate(self) -> None:
        self.timer.stop()
        if self._connected:
            self.context.bridge.frame_ready.disconnect(self._on_frame)
            self._connected = False

    def _on_frame(self, image: QImage) -> None:
        if self.isVisible() and not image.isNull():
            size = self.preview.size()
            pixmap = QPixmap.fromImage(image).scaled(
                size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
            )
            self.preview.setPixmap(pixmap)

    def _poll(self) -> None:
        if self._polling:
            return
        self._polling = True
        self.runner.run(partial(live_rates, self.context), self._on_rates)

    def _on_rates(self, done: TaskDone) -> None:
        self._polling = False
        if done.ok:
            self.rates = done.value
        self.retranslate()
        self.finish("rates", done)

    def retranslate(self) -> None:
        rates = self.rates
        if self.preview.pixmap().isNull():
            self.preview.setText(self.tr("Waiting for the picture…"))
        self.note.setText(
            self.tr("Hold a code in front of the camera: the decode time is for the last frame.")
        )
        if rates is None:
            self.state.setText(self.tr("Camera: …"))
            self.fps.setText("")
            self.decode.setText("")
            return
        self.state.setText(fill(self.tr("Camera: %1"), rates.state or self.tr("not in this app")))
        fps = "—" if rates.fps is None else f"{rates.fps:.1f}"
        self.fps.setText(fill(self.tr("Frame rate: %1 frames/s"), fps))
        decode = "—" if rates.decode_ms is None else f"{rates.decode_ms:.0f}"
        self.decode.setText(fill(self.tr("Decode time: %1 ms"), decode))


# -- gate test --------------------------------------------------------------------------------------


class GatePage(Page):
    """Plays each verdict's pattern on the relay, LEDs and buzzer."""

    def __init__(self, context: UiContext, runner: TaskRunner) -> None:
        super().__init__(context, runner)
        self.intro = self.label()
        self.open_button = self.button(partial(self.play, Outcome.GRANTED), primary=True)
        self.refuse_button = self.button(partial(self.play, Outcome.REFUSED))
        self.guard_button = self.button(partial(self.play, Outcome.NEEDS_GUARD))
        self.message = self.label(name="message")
        self.message.hide()
        self.box.addWidget(self.intro)
        for button in (self.open_button, self.refuse_button, self.guard_button):
            self.box.addWidget(button)
        self.box.addWidget(self.message)
        self.box.addStretch(1)
        self.last = ""

    def play(self, outcome: Outcome) -> None:
        self.runner.run(partial(signal_gate, self.context, outcome), self._on_played)

    def _on_played(self, done: TaskDone) -> None:
        if done.ok:
            state = str(done.value)
            if state == "ready":
                text = self.tr("Done: look and listen at the gate.")
            elif state == "no_outputs":
                text = self.tr("No relay, LED or buzzer is configured (gate.enabled): nothing to test.")
            else:
                text = self.tr("The gate outputs report a fault: check the wiring.")
        else:
            text = self.tr("The test failed:") + " " + done.error
        self.message.setText(text)
        self.message.show()
        self.finish("gate", done)

    def retranslate(self) -> None:
        unlock = f"{self.context.config.gate.unlock_s:g}"
        self.intro.setText(self.tr("Each button plays what the gate does for a verdict."))
        self.open_button.setText(fill(self.tr("Open: relay and green light for %1 s, one beep"), unlock))
        self.refuse_button.setText(self.tr("Refused: red light, two beeps"))
        self.guard_button.setText(self.tr("See the guard: lights blink, long beep"))


# -- USB sticks -------------------------------------------------------------------------------------


class MediaPicker(QWidget):
    """A list of the USB sticks plugged in, refreshed on demand, with a clear word when there is none."""

    changed = Signal()

    def __init__(self, runner: TaskRunner, seam: MediaSeam, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.seam = seam
        self.media: list[Medium] = []
        self.loaded = False
        self.error = ""
        self.combo = QComboBox()
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.refresh_button = QPushButton()
        self.refresh_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.refresh_button.clicked.connect(self.refresh)
        self.none = QLabel()
        self.none.setObjectName("message")
        self.none.setWordWrap(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.none)
        self.none.hide()

    @property
    def chosen(self) -> Medium | None:
        index = self.combo.currentIndex()
        return self.media[index] if 0 <= index < len(self.media) else None

    def refresh(self) -> None:
        self.runner.run(self.seam.media, self._on_media)

    def _on_media(self, done: TaskDone) -> None:
        self.loaded = True
        self.error = "" if done.ok else done.error
        self.media = [m for m in (done.value or []) if m.writable] if done.ok else []
        self.retranslate()
        self.changed.emit()

    def retranslate(self) -> None:
        self.refresh_button.setText(self.tr("Look again"))
        chosen = self.chosen
        self.combo.clear()
        for medium in self.media:
            free = medium.free_bytes / 1024 / 1024
            self.combo.addItem(fill(self.tr("%1 (%2 MB free)"), medium.label, f"{free:.0f}"))
        if chosen in self.media:
            self.combo.setCurrentIndex(self.media.index(chosen))
        self.combo.setEnabled(bool(self.media))
        if self.loaded and not self.media:
            text = self.tr(
                "No USB stick found. Plug one in (not write-protected), wait a moment, then tap Look again."
            )
            if self.error:
                text += " (" + self.error + ")"
            self.none.setText(text)
            self.none.show()
        else:
            self.none.hide()


def _date_edit() -> QDateEdit:
    edit = QDateEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("dd/MM/yyyy")
    return edit


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _pydate(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())


def _format_buttons(parent: QWidget) -> tuple[QButtonGroup, QPushButton, QPushButton]:
    group = QButtonGroup(parent)
    csv_button, xlsx_button = QPushButton("CSV"), QPushButton("Excel")
    for button in (csv_button, xlsx_button):
        button.setCheckable(True)
        button.setMinimumWidth(2 * theme.MIN_TOUCH_PX)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        group.addButton(button)
    csv_button.setChecked(True)
    return group, csv_button, xlsx_button


# -- export -----------------------------------------------------------------------------------------


class ExportPage(Page):
    """Visits of a day or a range to CSV or Excel on a USB stick (written atomically, never overwritten)."""

    def __init__(self, context: UiContext, runner: TaskRunner, seam: MediaSeam) -> None:
        super().__init__(context, runner)
        self.stick = self.heading()
        self.picker = MediaPicker(runner, seam)
        self.picker.changed.connect(self._update)
        self.range_heading = self.heading()
        self.first = _date_edit()
        self.last = _date_edit()
        self.to_label = QLabel()
        self.today_button = self.button(self.choose_today)
        self.week_button = self.button(self.choose_week)
        self.formats, self.csv_button, self.xlsx_button = _format_buttons(self)
        self.export_button = self.button(self.export, primary=True)
        self.message = self.label(name="message")
        self.message.hide()
        dates = QHBoxLayout()
        dates.addWidget(self.first, 1)
        dates.addWidget(self.to_label)
        dates.addWidget(self.last, 1)
        quick = QHBoxLayout()
        quick.addWidget(self.today_button)
        quick.addWidget(self.week_button)
        quick.addSpacing(16)
        quick.addWidget(self.csv_button)
        quick.addWidget(self.xlsx_button)
        self.box.addWidget(self.stick)
        self.box.addWidget(self.picker)
        self.box.addWidget(self.range_heading)
        self.box.addLayout(dates)
        self.box.addLayout(quick)
        self.box.addWidget(self.export_button)
        self.box.addWidget(self.message)
        self.box.addStretch(1)
        self.choose_today()
        self.busy = False

    @property
    def fmt(self) -> str:
        return "xlsx" if self.xlsx_button.isChecked() else "csv"

    def activate(self) -> None:
        self.picker.refresh()

    def choose_today(self) -> None:
        today = vietnam_today(self.context.clock.now().wall)
        self.first.setDate(_qdate(today))
        self.last.setDate(_qdate(today))

    def choose_week(self) -> None:
        today = _qdate(vietnam_today(self.context.clock.now().wall))
        self.first.setDate(today.addDays(-6))
        self.last.setDate(today)

    def export(self) -> None:
        medium, store = self.picker.chosen, self.context.store
        if medium is None or store is None or self.busy:
            return
        self.busy = True
        self._update()
        self.message.setText(self.tr("Writing to the USB stick… do not pull it out."))
        self.message.show()
        work = partial(
            export_range, store, medium.path, _pydate(self.first.date()), _pydate(self.last.date()), self.fmt
        )
        self.runner.run(work, self._on_exported)

    def _on_exported(self, done: TaskDone) -> None:
        self.busy = False
        self._update()
        if done.ok:
            written: Written = done.value
            text = self.tr("%n visit(s) written to %1. You may pull the stick out now.", "", written.rows)
            self.message.setText(fill(text, written.path.name))
        else:
            self.message.setText(self.tr("Nothing was exported:") + " " + done.error)
        self.finish("export", done)

    def _update(self) -> None:
        self.export_button.setEnabled(
            not self.busy and self.picker.chosen is not None and self.context.store is not None
        )

    def retranslate(self) -> None:
        self.stick.setText(self.tr("USB stick"))
        self.picker.retranslate()
        self.range_heading.setText(self.tr("Visits from"))
        self.to_label.setText(self.tr("to"))
        self.today_button.setText(self.tr("Today"))
        self.week_button.setText(self.tr("Last 7 days"))
        self.export_button.setText(self.tr("Export to the USB stick"))
        self._update()


# -- staff ------------------------------------------------------------------------------------------


class StaffPage(Page):
    """Import the staff roster from a stick; who on it did not scan on a day; export that list."""

    def __init__(self, context: UiContext, runner: TaskRunner, seam: MediaSeam) -> None:
        super().__init__(context, runner)
        folder = (
            context.store.path.parent if context.store is not None else context.config.store.database.parent
        )
        self.roster_path = folder / ROSTER_FILE  # beside the database
        self.summary: RosterSummary | None = None
        self.summary_error = ""
        self.report: Report | None = None
        self.files: list[Path] = []
        self.roster_heading = self.heading()
        self.roster_state = self.label()
        self.picker = MediaPicker(runner, seam)
        self.picker.changed.connect(self._look_for_files)
        self.file_list = QListWidget()
        self.file_list.setMaximumHeight(3 * theme.MIN_TOUCH_PX)
        self.file_list.currentRowChanged.connect(lambda _row: self._update())
        self.import_button = self.button(self.import_chosen, primary=True)
        self.report_heading = self.heading()
        self.day = _date_edit()
        self.report_button = self.button(self.show_report, primary=True)
        self.result = self.label()
        self.missing_list = QListWidget()
        self.missing_list.setMaximumHeight(5 * theme.MIN_TOUCH_PX)
        self.formats, self.csv_button, self.xlsx_button = _format_buttons(self)
        self.export_button = self.button(self.export, primary=True)
        self.message = self.label(name="message")
        self.message.hide()
        self.box.addWidget(self.roster_heading)
        self.box.addWidget(self.roster_state)
        self.box.addWidget(self.picker)
        self.box.addWidget(self.file_list)
        self.box.addWidget(self.import_button)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        self.box.addWidget(line)
        self.box.addWidget(self.report_heading)
        day_row = QHBoxLayout()
        day_row.addWidget(self.day, 1)
        day_row.addWidget(self.report_button, 1)
        self.box.addLayout(day_row)
        self.box.addWidget(self.result)
        self.box.addWidget(self.missing_list)
        export_row = QHBoxLayout()
        export_row.addWidget(self.csv_button)
        export_row.addWidget(self.xlsx_button)
        export_row.addWidget(self.export_button, 1)
        self.box.addLayout(export_row)
        self.box.addWidget(self.message)
        self.box.addStretch(1)
        self.busy = False
        self.day.setDate(_qdate(vietnam_today(context.clock.now().wall)))
        self.missing_list.hide()

    def activate(self) -> None:
        self.picker.refresh()
        self.runner.run(partial(kept_roster, self.roster_path), self._on_summary)

    def _on_summary(self, done: TaskDone) -> None:
        self.summary = done.value if done.ok else None
        self.summary_error = done.error
        self.retranslate()
        self.finish("summary", done)

    def _look_for_files(self) -> None:
        self.runner.run(partial(roster_files, list(self.picker.media)), self._on_files)

    def _on_files(self, done: TaskDone) -> None:
        self.files = list(done.value) if done.ok else []
        self.file_list.clear()
        for path in self.files:
            self.file_list.addItem(path.name)
        if self.files:
            self.file_list.setCurrentRow(0)
        self.retranslate()
        self.finish("files", done)

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def import_chosen(self) -> None:
        row = self.file_list.currentRow()
        keyring = self.context.keyring
        if not 0 <= row < len(self.files) or self.busy:
            return
        if keyring is None:
            self._say(self.tr("No identity key in this app: a roster cannot be imported."))
            return
        self.busy = True
        self._update()
        self._say(self.tr("Importing…"))
        self.runner.run(partial(import_roster, self.files[row], keyring, self.roster_path), self._on_imported)

    def _on_imported(self, done: TaskDone) -> None:
        self.busy = False
        if done.ok:
            self.summary = done.value
            self.summary_error = ""
            self._say(
                self.tr(
                    "Imported %n member(s) of staff; the previous roster was replaced.", "", done.value.staff
                )
            )
        else:
            self._say(self.tr("Nothing was imported:") + " " + done.error)
        self.retranslate()
        self.finish("import", done)

    def show_report(self) -> None:
        store, keyring = self.context.store, self.context.keyring
        if store is None or keyring is None or self.busy:
            return
        self.busy = True
        self._update()
        work = partial(not_scanned_report, store, self.roster_path, keyring, _pydate(self.day.date()))
        self.runner.run(work, self._on_report)

    def _on_report(self, done: TaskDone) -> None:
        self.busy = False
        self.report = done.value if done.ok else None
        self.missing_list.clear()
        if done.ok:
            for entry in self.report.missing if self.report else ():
                group = f" — {entry.group}" if entry.group else ""
                self.missing_list.addItem(f"{entry.name}  {entry.masked_id}{group}")
            self.missing_list.setVisible(bool(self.missing_list.count()))
            self.message.hide()
        else:
            self.missing_list.hide()
            self._say(self.tr("No report:") + " " + done.error)
        self.retranslate()
        self.finish("report", done)

    def export(self) -> None:
        medium, report = self.picker.chosen, self.report
        if medium is None or report is None or self.busy:
            return
        self.busy = True
        self._update()
        fmt = "xlsx" if self.xlsx_button.isChecked() else "csv"
        self.runner.run(partial(export_report, report, medium.path, fmt), self._on_exported)

    def _on_exported(self, done: TaskDone) -> None:
        self.busy = False
        if done.ok:
            self._say(fill(self.tr("Written to %1. You may pull the stick out now."), done.value.path.name))
        else:
            self._say(self.tr("Nothing was exported:") + " " + done.error)
        self._update()
        self.finish("export", done)

    def _update(self) -> None:
        self.import_button.setEnabled(not self.busy and 0 <= self.file_list.currentRow() < len(self.files))
        self.report_button.setEnabled(not self.busy and self.summary is not None)
        self.export_button.setEnabled(
            not self.busy and self.report is not None and self.picker.chosen is not None
        )

    def retranslate(self) -> None:
        self.roster_heading.setText(self.tr("Staff roster"))
        if self.summary is not None:
            self.roster_state.setText(
                self.tr(
                    "%n member(s) of staff on the roster. To replace it, choose a file below.",
                    "",
                    self.summary.staff,
                )
            )
        elif self.summary_error:
            self.roster_state.setText(self.tr("The kept roster cannot be read:") + " " + self.summary_error)
        else:
            self.roster_state.setText(
                self.tr(
                    "No roster yet. Put the staff list (CSV or Excel: name and CCCD columns) on a USB stick."
                )
            )
        self.picker.retranslate()
        self.import_button.setText(self.tr("Import this staff list"))
        self.report_heading.setText(self.tr("Staff who did not scan"))
        self.report_button.setText(self.tr("Show"))
        report = self.report
        if report is None:
            self.result.setText("")
        elif report.missing:
            self.result.setText(
                fill(
                    self.tr("%1: %2 of %3 did not scan."),
                    f"{report.day:%d/%m/%Y}",
                    len(report.missing),
                    report.staff,
                )
            )
        else:
            self.result.setText(
                fill(self.tr("%1: everyone on the roster scanned."), f"{report.day:%d/%m/%Y}")
            )
        self.export_button.setText(self.tr("Export the list"))
        self._update()


# -- settings and PINs ------------------------------------------------------------------------------


class SettingsPage(Page):
    """The PINs (changed here, through the PIN vault) and the settings: those in ``kiosk.config.ADMIN_KEYS``
    edited here and saved (checked as start-up would, off the GUI thread) into the admin settings file, which
    the kiosk reads at its next start ("Restart the kiosk now"); the rest shown read-only.
    ``keyboard_toggled(shown)``: the on-screen keyboard opened or closed (a short screen gives it the room of
    the admin's header)."""

    keyboard_toggled = Signal(bool)

    def __init__(self, context: UiContext, runner: TaskRunner) -> None:
        super().__init__(context, runner)
        self.role = "admin"
        self.first_pin = ""
        self.digits = ""
        self.busy = False
        self.setup = False
        self.pin_heading = self.heading()
        self.roles = QButtonGroup(self)
        self.guard_button = self.button(partial(self.choose_role, "guard"))
        self.admin_button = self.button(partial(self.choose_role, "admin"))
        for button in (self.guard_button, self.admin_button):
            button.setCheckable(True)
            self.roles.addButton(button)
        self.admin_button.setChecked(True)
        self.prompt = self.label()
        self.dots = QLabel()
        self.dots.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.dots.setObjectName("message")
        self.pin_message = self.label(name="message")
        self.pin_message.hide()
        keys = QGridLayout()
        keys.setSpacing(4)
        self.keys: list[QPushButton] = []
        for index, digit in enumerate("1234567890"):
            key = self.button(partial(self.press, digit))
            key.setText(digit)
            self.keys.append(key)
            keys.addWidget(key, index // 5, index % 5)
        self.clear_button = self.button(self.clear)
        self.ok_button = self.button(self.submit, primary=True)
        roles = QHBoxLayout()
        roles.addWidget(self.guard_button)
        roles.addWidget(self.admin_button)
        entry = QHBoxLayout()
        entry.addWidget(self.dots, 1)
        entry.addWidget(self.clear_button)
        entry.addWidget(self.ok_button)
        self.box.addWidget(self.pin_heading)
        self.box.addLayout(roles)
        self.box.addWidget(self.prompt)
        self.box.addLayout(entry)
        self.box.addLayout(keys)
        self.box.addWidget(self.pin_message)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        self.box.addWidget(line)
        self.settings_heading = self.heading()
        self.where = self.label(name="muted")
        self.form = QFormLayout()
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.box.addWidget(self.settings_heading)
        self.box.addWidget(self.where)
        self.box.addLayout(self.form)
        self._build_settings()
        self.box.addStretch(1)

    def first_run(self) -> None:
        """No admin PIN yet: choose one before anything else."""
        self.setup = True
        self.choose_role("admin")
        self.retranslate()

    def choose_role(self, role: str) -> None:
        self.role = role
        (self.admin_button if role == "admin" else self.guard_button).setChecked(True)
        self.clear()

    def press(self, digit: str) -> None:
        if len(self.digits) < MAX_DIGITS and not self.busy:
            self.digits += digit
            self._show_dots()

    def clear(self) -> None:
        self.digits = ""
        self.first_pin = ""
        self._show_dots()
        self.retranslate()

    def _show_dots(self) -> None:
        self.dots.setText("●" * len(self.digits) or " ")

    def submit(self) -> None:
        if self.busy or not self.digits:
            return
        if not self.first_pin:
            self.first_pin, self.digits = self.digits, ""
            self._show_dots()
            self.pin_message.hide()
            self.retranslate()
            return
        if self.digits != self.first_pin:
            self.first_pin = self.digits = ""
            self._show_dots()
            self._pin_said(self.tr("The two PINs differ. Type the new PIN again."))
            self.retranslate()
            return
        pin, self.first_pin, self.digits = self.digits, "", ""
        self._show_dots()
        self.busy = True
        self._pin_said(self.tr("Saving…"))
        self.runner.run(partial(change_pin, self.context.pin_path, self.role, pin), self._on_changed)

    def _on_changed(self, done: TaskDone) -> None:
        self.busy = False
        if done.ok:
            if done.value == "admin":
                self.setup = False
            text = (
                self.tr("The admin PIN was changed.")
                if done.value == "admin"
                else self.tr("The guard PIN was changed.")
            )
        else:
            text = self.tr("The PIN was not changed:") + " " + self._problem(done)
        self._pin_said(text)
        self.retranslate()
        self.finish("pin", done)

    def _problem(self, done: TaskDone) -> str:
        problems = {
            PinProblem.LENGTH.value: self.tr("a PIN has 4 to 8 digits."),
            PinProblem.NOT_DIGITS.value: self.tr("a PIN has only digits."),
            PinProblem.TRIVIAL.value: self.tr("it is too easy to guess (like 1234, 0000 or 1212)."),
            PinProblem.SAME_AS_OTHER_ROLE.value: self.tr("the guard and admin PINs must differ."),
        }
        return problems.get(done.reason, done.error)

    def _pin_said(self, text: str) -> None:
        self.pin_message.setText(text)
        self.pin_message.show()

    # -- the settings the admin may change ------------------------------------------------------------

    def _build_settings(self) -> None:
        # What the admin saved since the kiosk started shows here too, not only what the kiosk runs with.
        c = pending_settings(self.context.config, self.context.config.store.admin_settings)
        self.pending = c != self.context.config
        self.saving = False
        #: Quits the app with a status (systemd's Restart=always starts it again); tests replace it.
        self.exit_app: Callable[[int], object] = QCoreApplication.exit
        self.fields: dict[str, TouchLineEdit] = {}
        texts = {
            "location.name": c.location.name,
            "location.address": c.location.address,
            "location.district": c.location.district,
            "policy.repeat_window_s": f"{c.policy.repeat_window_s:g}",
            "retention.days": str(c.retention.days),
            "sync.server_url": c.sync.server_url,
        }
        for key, text in texts.items():
            field = TouchLineEdit(text)
            field.setMaxLength(MAX_ADMIN_TEXT)
            field.setMinimumHeight(self.touch_px)
            field.touched.connect(partial(self.show_keyboard, field))
            field.returnPressed.connect(self.hide_keyboard)
            self.fields[key] = field
        self.directions = self._choices(c.device.direction.value, [d.value for d in Direction])
        self.modes = self._choices(c.policy.mode.value, [m.value for m in PolicyMode])
        self.names = {key: QLabel() for key in SETTING_ROWS}
        self.facts = {key: self.label() for key in FACT_ROWS}
        for key in SETTING_ROWS:
            if key in self.fields:
                widget: QWidget | QHBoxLayout | QVBoxLayout = self.fields[key]
            else:
                buttons = self.directions if key == "device.direction" else self.modes
                widget = QHBoxLayout() if key == "device.direction" else QVBoxLayout()
                for button in buttons.values():
                    widget.addWidget(button)
            self.names[key].setWordWrap(True)
            self.form.addRow(self.names[key], widget)
        for key in FACT_ROWS:
            self.facts[key].setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            self.form.addRow(self.names.setdefault(key, QLabel()), self.facts[key])
        self.save_button = self.button(self.save_settings, primary=True)
        self.restart_button = self.button(self.restart)
        self.restart_button.hide()
        self.settings_message = self.label(name="message")
        self.settings_message.hide()
        self.overridden_note = self.label(name="muted")
        self.overridden_note.setVisible(bool(self.context.overridden))
        self.box.addWidget(self.overridden_note)
        actions = QHBoxLayout()
        actions.addWidget(self.save_button, 1)
        actions.addWidget(self.restart_button, 1)
        self.box.addLayout(actions)
        self.box.addWidget(self.settings_message)
        # The on-screen keyboard, below the scrolling page so that it never scrolls away; ':' and '/' for the
        # server's address, which the keyboard has no keys for.
        self.keyboard = VietKeyboard()
        self.keyboard.hide_requested.connect(self.hide_keyboard)
        self.symbols = QWidget()
        row = QHBoxLayout(self.symbols)
        row.setContentsMargins(4, 0, 4, 0)
        for text in ("https://", ":", "/"):
            symbol = self.button(partial(self.keyboard.type_text, text))
            symbol.setText(text)
            row.addWidget(symbol)
        row.addStretch(1)
        outer = self.layout()
        assert outer is not None
        outer.addWidget(self.symbols)
        outer.addWidget(self.keyboard)
        self.hide_keyboard()

    def _choices(self, current: str, values: list[str]) -> dict[str, QPushButton]:
        group = QButtonGroup(self)
        buttons: dict[str, QPushButton] = {}
        for value in values:
            button = self.button(lambda: None)
            button.setCheckable(True)
            button.setChecked(value == current)
            group.addButton(button)
            buttons[value] = button
        return buttons

    def values(self) -> dict[str, str]:
        """What the form says now, as ``section.key`` → text."""
        chosen = {
            "device.direction": next(v for v, b in self.directions.items() if b.isChecked()),
            "policy.mode": next(v for v, b in self.modes.items() if b.isChecked()),
        }
        return {**{key: field.text().strip() for key, field in self.fields.items()}, **chosen}

    def show_keyboard(self, field: QLineEdit) -> None:
        # Names and addresses are Vietnamese (Telex); numbers and the server's address are typed literally.
        self.keyboard.set_telex(field in [self.fields[k] for k in TELEX_FIELDS])
        self.keyboard.bind(field)
        self.symbols.setVisible(field is self.fields["sync.server_url"])
        self.keyboard_toggled.emit(True)  # before showing it: the window never has to grow
        self.keyboard.show()
        outer = self.layout()
        if outer is not None:
            outer.activate()  # the scroll area's new height now, so that the field is scrolled into it
        self._scroll_to(field)
        # Once more after the resize events of the keyboard and the admin's header have been delivered:
        # only then does the viewport have its final height.
        QTimer.singleShot(0, partial(self._scroll_to, field))

    def _scroll_to(self, field: QWidget) -> None:
        """Bring ``field`` to the top of the visible part of the page (a few pixels below its edge)."""
        content = self.scroll_area.widget()
        if content is not None and content.isAncestorOf(field):
            self.scroll_area.verticalScrollBar().setValue(field.mapTo(content, QPoint(0, 0)).y() - 8)

    def hide_keyboard(self) -> None:
        self.keyboard.hide()
        self.symbols.hide()
        self.keyboard.bind(None)
        self.keyboard_toggled.emit(False)

    def save_settings(self) -> None:
        if self.saving:
            return
        self.saving = True
        self.hide_keyboard()
        self.save_button.setEnabled(False)
        self._settings_said(self.tr("Saving…"))
        path = self.context.config.store.admin_settings
        self.runner.run(partial(save_settings, path, self.values(), self.context.config), self._on_saved)

    def _on_saved(self, done: TaskDone) -> None:
        self.saving = False
        self.save_button.setEnabled(True)
        if done.ok:
            self._settings_said(
                self.tr("Saved. The new settings apply after a restart of the kiosk (about 10 seconds).")
            )
            self.restart_button.show()
        else:
            self._settings_said(self.tr("The settings were not saved:") + " " + done.error)
        self.finish("settings", done)

    def restart(self) -> None:
        """Quit with status 0: systemd (``Restart=always``) starts the kiosk again with the new settings."""
        self.exit_app(0)

    def _settings_said(self, text: str) -> None:
        self.settings_message.setText(text)
        self.settings_message.show()

    def set_metrics(self, metrics: theme.Metrics) -> None:
        super().set_metrics(metrics)
        for field in self.fields.values():
            field.setMinimumHeight(metrics.touch_px)
        for key in self.keyboard.keys.values():  # the keyboard's own size, not the page's larger buttons
            key.setMinimumSize(theme.MIN_TOUCH_PX, theme.MIN_TOUCH_PX)
        self.keyboard.set_text_px(min(metrics.text_px(), 24))
        self.keyboard.setFixedHeight(5 * theme.MIN_TOUCH_PX + 4 * 4 + 8)

    def _retranslate_settings(self) -> None:
        c = self.context.config
        names = {
            "location.name": self.tr("Location name"),
            "location.address": self.tr("Address"),
            "location.district": self.tr("District"),
            "device.direction": self.tr("Direction"),
            "policy.mode": self.tr("Policy"),
            "policy.repeat_window_s": self.tr("Repeat window (seconds, 0-3600)"),
            "retention.days": self.tr("Keep uploaded visits (days, 1-3650)"),
            "sync.server_url": self.tr("Server (https://…, empty: none)"),
            "location.code": self.tr("Location code"),
            "device.id": self.tr("Device"),
            "camera": self.tr("Camera"),
            "gate": self.tr("Gate outputs"),
            "database": self.tr("Database"),
        }
        for key, label in self.names.items():
            label.setText(names[key])
        words = {
            "in": self.tr("In"),
            "out": self.tr("Out"),
            "both": self.tr("Both"),
            "log": self.tr("Record everyone"),
            "health": self.tr("Health certificate"),
            "allowlist": self.tr("Staff only"),
        }
        for value, button in [*self.directions.items(), *self.modes.items()]:
            button.setText(words.get(value, value))
        gate = (
            fill(self.tr("relay %1, open %2 s"), c.gate.relay_pin or "—", f"{c.gate.unlock_s:g}")
            if c.gate.enabled
            else self.tr("not fitted")
        )
        facts = {
            "location.code": c.location.code,
            "device.id": c.device.id,
            "camera": f"{c.camera.source} {c.camera.width}×{c.camera.height} @ {c.camera.fps:g}",
            "gate": gate,
            "database": str(c.store.database),
        }
        for key, label in self.facts.items():
            label.setText(facts[key])
        self.save_button.setText(self.tr("Save the settings"))
        self.restart_button.setText(self.tr("Restart the kiosk now"))
        if self.context.overridden:
            self.overridden_note.setText(
                fill(
                    self.tr(
                        "Fixed by the kiosk's service (environment or command line), which wins over this "
                        "page: %1"
                    ),
                    ", ".join(self.names[key].text() for key in self.context.overridden if key in self.names),
                )
            )
        if self.pending and self.settings_message.isHidden():
            self._settings_said(self.tr("Saved settings shown here apply after a restart of the kiosk."))
            self.restart_button.show()

    def retranslate(self) -> None:
        self.pin_heading.setText(self.tr("Change a PIN"))
        self.guard_button.setText(self.tr("Guard PIN"))
        self.admin_button.setText(self.tr("Admin PIN"))
        self.clear_button.setText(self.tr("Clear"))
        self.ok_button.setText(self.tr("OK"))
        if self.setup:
            prompt = self.tr("No admin PIN yet: choose one (4 to 8 digits) before anything else.")
        elif self.first_pin:
            prompt = self.tr("Type the same PIN again, then OK.")
        else:
            prompt = self.tr("Type the new PIN (4 to 8 digits), then OK.")
        self.prompt.setText(prompt)
        self._show_dots()
        self.settings_heading.setText(self.tr("Settings"))
        self.where.setText(
            fill(
                self.tr(
                    "Saved on the kiosk in %1 and checked before saving; they apply after a restart. "
                    "The rest is in the configuration file %2, changed by the installer."
                ),
                self.context.config.store.admin_settings,
                SYSTEM_CONFIG,
            )
        )
        self._retranslate_settings()
