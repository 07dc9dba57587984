"""Layer: ui. The PIN pad: a numeric keypad for the guard or admin PIN, opened by the hidden gesture or by
``MainWindow.open_guard_console()`` / ``open_admin()``.

Checking a PIN hashes it with Argon2id (``kiosk.pin.PinVault``: hundreds of milliseconds by design) and
writes the failure counter to disk, so it runs on a short-lived worker thread; the answer comes back as a
queued signal. The pad never holds more than the digits being typed and forgets them after each try.
``kiosk.pin`` is imported when a PIN is first checked; without it the pad says PINs are not available.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.clock import Clock
from kiosk.pin import MAX_DIGITS
from ui import theme

log = logging.getLogger(__name__)

GUARD, ADMIN = "guard", "admin"


@dataclass(frozen=True, slots=True)
class PinResult:
    """The pad's view of ``kiosk.pin.PinCheck``."""

    ok: bool
    role: str
    locked_for_s: float = 0.0
    failures: int = 0
    setup_needed: bool = False  # no PIN chosen yet: the admin's first-run set-up must run
    unavailable: bool = False  # this build has no PIN vault


class VaultChecker:
    """Checks PINs against ``kiosk.pin.PinVault`` at ``path``. ``check`` runs on a worker thread."""

    def __init__(self, path: Path | None, clock: Clock) -> None:
        self._path = path
        self._clock = clock
        self._vault: Any = None
        self._lock = threading.Lock()

    def check(self, role: str, pin: str) -> PinResult:
        """Called on a worker thread: Argon2id and the lockout file are slow by design."""
        from kiosk.errors import PinFileError  # noqa: PLC0415
        from kiosk.pin import PinVault, Role  # noqa: PLC0415

        if self._path is None:
            return PinResult(False, role, unavailable=True)
        with self._lock:
            try:
                # Read the file each time: the admin screen may have changed a PIN since (a vault kept
                # from before would accept the old PIN, and its next write would put the old hash back).
                vault = PinVault.open(self._path)
                if vault.needs_setup():
                    return PinResult(False, role, setup_needed=True)
                check = vault.verify(Role(role), pin, self._clock.now())
            except PinFileError as exc:
                log.error("PIN file: %s", exc)  # a damaged file is never overwritten: call support
                return PinResult(False, role, unavailable=True)
        return PinResult(
            ok=bool(check.ok),
            role=role,
            locked_for_s=float(check.locked_for_s or 0.0),
            failures=int(check.failures or 0),
        )


class PinPad(QWidget):
    """Digits, clear, OK, cancel; a guard / admin choice. ``accepted(role)`` after a right PIN."""

    accepted = Signal(str)
    setup_needed = Signal()
    cancelled = Signal()
    _checked = Signal(object)  # PinResult, emitted on the worker thread, delivered on the GUI thread

    def __init__(self, check: Callable[[str, str], PinResult] | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pinPad")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._check = check
        self.role = GUARD
        self.digits = ""
        self.busy = False
        self._message = ""
        self._checked.connect(self._on_checked)

        self.title = QLabel()
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.dots = QLabel()
        self.dots.setObjectName("dots")
        self.dots.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message = QLabel()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.guard_button = self._button("", lambda: self.request(GUARD), checkable=True)
        self.admin_button = self._button("", lambda: self.request(ADMIN), checkable=True)
        roles = QHBoxLayout()
        roles.addWidget(self.guard_button)
        roles.addWidget(self.admin_button)

        self.keys: list[QPushButton] = []
        grid = QGridLayout()
        for index, digit in enumerate("123456789"):
            key = self._button(digit, partial(self.press, digit))
            grid.addWidget(key, index // 3, index % 3)
            self.keys.append(key)
        self.clear_button = self._button("", self.clear)
        zero = self._button("0", lambda: self.press("0"))
        self.keys.append(zero)
        self.ok_button = self._button("", self.submit)
        grid.addWidget(self.clear_button, 3, 0)
        grid.addWidget(zero, 3, 1)
        grid.addWidget(self.ok_button, 3, 2)
        self.cancel_button = self._button("", self.cancel)

        left = QVBoxLayout()
        left.addWidget(self.title)
        left.addLayout(roles)
        left.addWidget(self.dots)
        left.addWidget(self.message, 1)
        left.addWidget(self.cancel_button)
        self.outer = QHBoxLayout(self)
        self.outer.addLayout(left, 1)
        self.outer.addLayout(grid, 1)
        self.grid = grid
        self.setStyleSheet(
            f"""
            #pinPad {{ background: {theme.BACKGROUND}; }}
            QLabel {{ color: {theme.TEXT}; }}
            QPushButton {{ background: #FFFFFF; color: {theme.TEXT}; border: 2px solid {theme.MUTED_TEXT};
                          border-radius: 8px; }}
            QPushButton:checked {{ background: {theme.ACCENT}; color: {theme.ON_ACCENT}; }}
            """
        )
        self.apply_metrics(theme.Metrics(800, 480))
        self.request(GUARD)

    def _button(self, text: str, slot: Callable[[], None], *, checkable: bool = False) -> QPushButton:
        button = QPushButton(text)
        button.setCheckable(checkable)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(slot)
        return button

    # -- actions ------------------------------------------------------------------------------------

    def request(self, role: str) -> None:
        """Ask for ``role``'s PIN, from the start."""
        self.role = role
        self.digits = ""
        self._message = ""
        self.retranslate()

    def press(self, digit: str) -> None:
        if self.busy or len(self.digits) >= MAX_DIGITS:
            return
        self.digits += digit
        self._message = ""
        self.retranslate()

    def clear(self) -> None:
        self.digits = ""
        self.retranslate()

    def cancel(self) -> None:
        self.digits = ""
        self._message = ""
        self.cancelled.emit()

    def submit(self) -> None:
        if self.busy or not self.digits:
            return
        if self._check is None:
            self._on_checked(PinResult(False, self.role, unavailable=True))
            return
        role, pin, check = self.role, self.digits, self._check
        self.digits = ""
        self.busy = True
        self._message = "checking"
        self.retranslate()

        def work() -> None:  # runs on the worker thread
            try:
                result = check(role, pin)
            except Exception:
                log.exception("checking a PIN failed")
                result = PinResult(False, role, unavailable=True)
            self._checked.emit(result)

        threading.Thread(target=work, name="ui-pin-check", daemon=True).start()

    def _on_checked(self, result: PinResult) -> None:
        self.busy = False
        if result.ok:
            self._message = ""
            self.retranslate()
            self.accepted.emit(result.role)
            return
        if result.setup_needed:
            self._message = ""
            self.retranslate()
            self.setup_needed.emit()
            return
        if result.unavailable:
            self._message = "unavailable"
        elif result.locked_for_s > 0:
            self._message = f"locked:{round(result.locked_for_s)}"
        else:
            self._message = f"wrong:{result.failures}"
        self.retranslate()

    # -- texts and layout ---------------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self.title.setText(self.tr("Enter the PIN"))
        self.guard_button.setText(self.tr("Guard"))
        self.admin_button.setText(self.tr("Admin"))
        self.guard_button.setChecked(self.role == GUARD)
        self.admin_button.setChecked(self.role == ADMIN)
        self.clear_button.setText(self.tr("Clear"))
        self.ok_button.setText(self.tr("OK"))
        self.cancel_button.setText(self.tr("Back to scanning"))
        self.dots.setText("●" * len(self.digits) if self.digits else "–")
        kind, _, value = self._message.partition(":")
        if kind == "checking":
            text = self.tr("Checking…")
        elif kind == "unavailable":
            text = self.tr("PINs are not available on this kiosk yet.")
        elif kind == "locked":
            text = self.tr("Too many wrong PINs. Try again in %1 s.").replace("%1", value)
        elif kind == "wrong":
            text = self.tr("Wrong PIN.")
        else:
            text = ""
        self.message.setText(text)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.apply_metrics(theme.Metrics(self.width(), self.height()))

    def apply_metrics(self, metrics: theme.Metrics) -> None:
        body = metrics.text_px()
        font = QFont()
        font.setPixelSize(round(body * 1.2))
        font.setBold(True)
        buttons = [*self.keys, self.clear_button, self.ok_button, self.cancel_button]
        for button in [*buttons, self.guard_button, self.admin_button]:
            button.setFont(font)
            button.setMinimumSize(metrics.touch_px, metrics.touch_px)
        title = QFont()
        title.setPixelSize(round(body * 1.4))
        title.setBold(True)
        self.title.setFont(title)
        dots = QFont()
        dots.setPixelSize(round(body * 1.6))
        self.dots.setFont(dots)
        message = QFont()
        message.setPixelSize(body)
        self.message.setFont(message)
        self.outer.setDirection(
            QVBoxLayout.Direction.TopToBottom if metrics.portrait else QVBoxLayout.Direction.LeftToRight
        )
        margin = metrics.margin_px * 2
        self.outer.setContentsMargins(margin, margin, margin, margin)
        self.outer.setSpacing(margin)
        self.grid.setSpacing(metrics.margin_px)
