"""Layer: ui. The scan screen: what a visitor sees while the gate waits for a code.

Live preview with a framing guide and aiming hints; one plain instruction; the location's name (hold it for
three seconds: the hidden gesture that opens the PIN pad); the direction (VÀO / RA); the location's own QR
code for visitors who check in with their phone; the sync state; the hotline and Hue-S; the language
switch; and, when the camera is lost, "camera not working — please call the guard" instead of the picture.

A passive view (STYLE 16): the main window feeds it view-models (``PlaceView``, ``SyncView``, ``CameraView``,
``Hint``) on the GUI thread; it keeps them so that ``retranslate()`` can say them again in another language.
Landscape puts the preview beside the side panel; portrait puts it above.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFont, QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.device import CameraState
from kiosk.hints import Hint
from kiosk.model import Direction
from kiosk.payloads.location import location_payload
from ui import theme
from ui.language import LANGUAGE_NAMES
from ui.texts import direction_word, hint_text
from ui.viewmodel import HOTLINE, CameraView, PlaceView, SyncView
from ui.widgets import LongPressLabel, PreviewWidget, qr_image


def _font(px: int, *, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(px)
    font.setBold(bold)
    return font


class ScanScreen(QWidget):
    """The scan screen. Signals: ``language_toggled`` (the VI/EN switch), ``hidden_gesture`` (the location
    name held down), and the preview's ``resized``/``painted`` through ``preview``."""

    language_toggled = Signal()
    hidden_gesture = Signal()

    def __init__(self, place: PlaceView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scanScreen")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.place = place
        self.hint = Hint.NONE
        self.camera = CameraView(CameraState.STARTING)
        self.sync = SyncView()
        self.language = "vi"
        self._qr_px = 0

        self.location = LongPressLabel(place.name)
        self.location.setObjectName("location")
        self.location.setWordWrap(True)
        self.location.long_pressed.connect(self.hidden_gesture)
        self.direction = QLabel()
        self.direction.setObjectName("direction")
        self.direction.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.language_button = QPushButton()
        self.language_button.setObjectName("languageButton")
        self.language_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.language_button.clicked.connect(self.language_toggled)

        self.preview = PreviewWidget()
        self.instruction = QLabel()
        self.instruction.setObjectName("instruction")
        self.instruction.setWordWrap(True)
        self.instruction.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr = QLabel()
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr_caption = QLabel()
        self.qr_caption.setObjectName("qrCaption")
        self.qr_caption.setWordWrap(True)
        self.qr_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sync_label = QLabel()
        self.sync_label.setObjectName("sync")
        self.sync_label.setWordWrap(True)
        self.help_label = QLabel()
        self.help_label.setObjectName("help")
        self.help_label.setWordWrap(True)
        self.help_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        top = QHBoxLayout()
        top.addWidget(self.location, 1)
        top.addWidget(self.direction)
        top.addWidget(self.language_button)

        qr_card = QFrame()
        qr_card.setObjectName("qrCard")
        qr_box = QVBoxLayout(qr_card)
        qr_box.setContentsMargins(6, 6, 6, 6)
        qr_box.setSpacing(2)
        qr_box.addWidget(self.qr)
        qr_box.addWidget(self.qr_caption)
        self.qr_card = qr_card

        self.side = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.side.addWidget(self.instruction, 1)
        self.side.addWidget(qr_card, 0, Qt.AlignmentFlag.AlignCenter)
        self.middle = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.middle.addWidget(self.preview, 3)
        self.middle.addLayout(self.side, 2)

        bottom = QHBoxLayout()
        bottom.addWidget(self.sync_label, 1)
        bottom.addWidget(self.help_label, 2)

        self.outer = QVBoxLayout(self)
        self.outer.addLayout(top)
        self.outer.addLayout(self.middle, 1)
        self.outer.addLayout(bottom)

        self.setStyleSheet(
            f"""
            #scanScreen {{ background: {theme.BACKGROUND}; }}
            QLabel {{ color: {theme.TEXT}; }}
            #sync, #help {{ color: {theme.MUTED_TEXT}; }}
            #direction {{ background: {theme.ACCENT}; color: {theme.ON_ACCENT}; border-radius: 8px;
                          padding: 2px 18px; }}
            #languageButton {{ background: {theme.ACCENT}; color: {theme.ON_ACCENT}; border: none;
                               border-radius: 8px; padding: 4px 14px; }}
            #qrCard {{ background: #FFFFFF; border-radius: 8px; }}
            #qrCaption {{ color: {theme.TEXT}; }}
            """
        )
        self.apply_metrics(theme.Metrics(800, 480))
        self.retranslate()

    # -- view-model in ------------------------------------------------------------------------------

    def set_place(self, place: PlaceView) -> None:
        self.place = place
        self.location.setText(place.name)
        self._render_qr()
        self.retranslate()

    def set_hint(self, hint: Hint) -> None:
        self.hint = hint
        self.preview.set_hint(hint_text(hint))

    def set_camera(self, camera: CameraView) -> None:
        self.camera = camera
        self._say_camera()

    def set_sync(self, sync: SyncView) -> None:
        self.sync = sync
        self._say_sync()

    def show_frame(self, image: QImage) -> None:
        self.preview.show_frame(image)

    # -- texts --------------------------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self.direction.setText(direction_word(self.place.direction))
        # The switch names the other language, in that language, so a visitor finds their own.
        other = "en" if self.language == "vi" else "vi"
        self.language_button.setText(LANGUAGE_NAMES[other])
        self.instruction.setText(self.tr("Show your QR code or chip ID card to the camera"))
        self.qr_caption.setText(self.tr("This place's code"))
        self.help_label.setText(
            self.tr("Help: hotline %1 · report a problem in the Hue-S app").replace("%1", HOTLINE)
        )
        self.preview.waiting_text = self.tr("Starting the camera…")
        self.preview.set_hint(hint_text(self.hint))
        self._say_camera()
        self._say_sync()

    def _say_camera(self) -> None:
        if self.camera.lost:
            self.preview.set_alert(self.tr("Camera not working"), self.tr("Please call the guard."))
        else:
            self.preview.set_alert("", "")

    def _say_sync(self) -> None:
        state = self.tr("Online") if self.sync.online else self.tr("Offline")
        if self.sync.backlog:
            waiting = self.tr("%n visit(s) waiting to be sent", "", self.sync.backlog)
        else:
            waiting = self.tr("nothing waiting to be sent")
        self.sync_label.setText(f"{state} · {waiting}")

    # -- layout -------------------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.apply_metrics(theme.Metrics(self.width(), self.height()))

    def apply_metrics(self, metrics: theme.Metrics) -> None:
        """Sizes for this window: fonts, touch targets, QR size, and landscape or portrait arrangement."""
        body = metrics.text_px()
        self.location.setFont(_font(round(body * 1.3), bold=True))
        self.direction.setFont(_font(round(body * 1.5), bold=True))
        self.direction.setMinimumHeight(metrics.touch_px)
        self.language_button.setFont(_font(body, bold=True))
        self.language_button.setMinimumSize(round(metrics.touch_px * 2.4), metrics.touch_px)
        self.instruction.setFont(_font(round(body * 1.25), bold=True))
        self.qr_caption.setFont(_font(round(body * 0.8)))
        self.sync_label.setFont(_font(round(body * 0.8)))
        self.help_label.setFont(_font(round(body * 0.8)))
        self.preview.text_px = body
        margin = metrics.margin_px
        self.outer.setContentsMargins(margin, margin, margin, margin)
        self.outer.setSpacing(margin)
        self.middle.setSpacing(margin)
        if metrics.portrait:
            self.middle.setDirection(QBoxLayout.Direction.TopToBottom)
            self.middle.setStretch(0, 3)
            self.middle.setStretch(1, 1)
            self.side.setDirection(QBoxLayout.Direction.LeftToRight)
            qr_px = round(metrics.width * 0.30)
        else:
            self.middle.setDirection(QBoxLayout.Direction.LeftToRight)
            self.middle.setStretch(0, 3)
            self.middle.setStretch(1, 2)
            self.side.setDirection(QBoxLayout.Direction.TopToBottom)
            qr_px = round(metrics.height * 0.34)
        self.qr_card.setMaximumWidth(qr_px + 80)
        if qr_px != self._qr_px:
            self._qr_px = qr_px
            self._render_qr()

    def _render_qr(self) -> None:
        if self._qr_px <= 0:
            return
        image = qr_image(location_payload(self.place.code), self._qr_px)
        self.qr.setPixmap(QPixmap.fromImage(image))


__all__ = ["Direction", "ScanScreen"]
