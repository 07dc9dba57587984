"""Layer: ui. Small widgets the screens share: the camera preview with its framing guide, a label that
reports a long press (the hidden gesture), and the location's QR code as an image."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from ui import theme

#: How long the location name must be held to open the PIN pad.
LONG_PRESS_S = 3.0


class PreviewWidget(QWidget):
    """Paints the newest preview frame, a framing guide, an aiming hint, and the camera-lost alert.

    The frame arrives already scaled to this widget's size (``PreviewPump``): painting is a copy.
    ``painted`` is emitted after a frame has been drawn (the pump's "send the next one", systemd READY).
    """

    resized = Signal(int, int)
    painted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self.image: QImage | None = None
        self.hint = ""
        self.alert_title = ""  # non-empty: the camera is lost; the alert replaces the picture
        self.alert_body = ""
        self.waiting_text = ""  # shown before the first frame
        self.text_px = 22
        self.frames_painted = 0

    def show_frame(self, image: QImage) -> None:
        self.image = image
        self.update()

    def set_hint(self, text: str) -> None:
        if text != self.hint:
            self.hint = text
            self.update()

    def set_alert(self, title: str, body: str) -> None:
        self.alert_title, self.alert_body = title, body
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        ratio = self.devicePixelRatioF()
        self.resized.emit(round(self.width() * ratio), round(self.height() * ratio))

    def sizeHint(self) -> QSize:
        return QSize(480, 360)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = self.rect()
        painter.fillRect(area, QColor(theme.PREVIEW_BACKGROUND))
        if self.alert_title:
            self._paint_alert(painter, area)
            painter.end()
            return
        drew_frame = False
        if self.image is not None and not self.image.isNull():
            target = QRectF(self.image.rect())
            target.setSize(target.size().scaled(QRectF(area).size(), Qt.AspectRatioMode.KeepAspectRatio))
            target.moveCenter(QRectF(area).center())
            painter.drawImage(target, self.image)
            drew_frame = True
        elif self.waiting_text:
            self._text(
                painter, area.adjusted(16, 16, -16, -16), self.waiting_text, self.text_px, theme.ON_PREVIEW
            )
        self._paint_guide(painter, area)
        if self.hint:
            self._paint_hint(painter, area)
        painter.end()
        if drew_frame:
            self.frames_painted += 1
            self.painted.emit()

    def _paint_guide(self, painter: QPainter, area: QRect) -> None:
        side = min(area.width(), area.height()) * 0.62
        box = QRectF(0, 0, side, side)
        box.moveCenter(QRectF(area).center())
        arm = side * 0.18
        pen = QPen(QColor(theme.GUIDE), max(4.0, side * 0.025))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        for cx, cy, dx, dy in (
            (box.left(), box.top(), 1, 1),
            (box.right(), box.top(), -1, 1),
            (box.left(), box.bottom(), 1, -1),
            (box.right(), box.bottom(), -1, -1),
        ):
            painter.drawLine(int(cx), int(cy), int(cx + dx * arm), int(cy))
            painter.drawLine(int(cx), int(cy), int(cx), int(cy + dy * arm))

    def _paint_hint(self, painter: QPainter, area: QRect) -> None:
        px = round(self.text_px * 1.15)
        height = round(px * 2.2)
        band = QRect(area.left(), area.bottom() - height + 1, area.width(), height)
        painter.fillRect(band, QColor(theme.HINT_BACKGROUND))
        self._text(painter, band.adjusted(12, 0, -12, 0), self.hint, px, theme.ON_HINT, bold=True)

    def _paint_alert(self, painter: QPainter, area: QRect) -> None:
        painter.fillRect(area, QColor(theme.ALERT_BACKGROUND))
        inner = area.adjusted(20, 20, -20, -20)
        title_px = round(self.text_px * 1.6)
        title = QRect(inner.left(), inner.top(), inner.width(), inner.height() // 2)
        body = QRect(inner.left(), inner.top() + inner.height() // 2, inner.width(), inner.height() // 2)
        self._text(painter, title, self.alert_title, title_px, theme.ON_ALERT, bold=True, align_bottom=True)
        self._text(painter, body, self.alert_body, round(self.text_px * 1.2), theme.ON_ALERT, align_top=True)

    @staticmethod
    def _text(
        painter: QPainter,
        rect: QRect,
        text: str,
        px: int,
        colour: str,
        *,
        bold: bool = False,
        align_top: bool = False,
        align_bottom: bool = False,
    ) -> None:
        font = QFont(painter.font())
        font.setPixelSize(px)
        font.setBold(bold)
        painter.setFont(font)
        painter.setPen(QColor(colour))
        vertical = (
            Qt.AlignmentFlag.AlignTop
            if align_top
            else Qt.AlignmentFlag.AlignBottom
            if align_bottom
            else Qt.AlignmentFlag.AlignVCenter
        )
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignHCenter | vertical | Qt.TextFlag.TextWordWrap), text)


class LongPressLabel(QLabel):
    """A label that emits ``long_pressed`` when held for ``hold_s`` (the hidden gesture: no visible hint,
    nothing happens on a tap, so a visitor does not stumble on it)."""

    long_pressed = Signal()

    def __init__(self, text: str = "", parent: QWidget | None = None, hold_s: float = LONG_PRESS_S) -> None:
        super().__init__(text, parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(round(hold_s * 1000))
        self._timer.timeout.connect(self.long_pressed)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._timer.start()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._timer.stop()
        super().mouseReleaseEvent(event)


def qr_image(payload: str, size_px: int) -> QImage:
    """The QR code for ``payload`` (segno), scaled by whole modules to at most ``size_px``, with the quiet
    zone the standard asks for (4 modules)."""
    import segno  # noqa: PLC0415 - loaded when a screen first shows a code

    qr = segno.make(payload, error="m", micro=False)
    modules = np.array(list(qr.matrix_iter(scale=1, border=4)), dtype=bool)
    pixels = np.where(modules, 0, 255).astype(np.uint8)
    scale = max(1, size_px // pixels.shape[0])
    pixels = np.ascontiguousarray(np.kron(pixels, np.ones((scale, scale), dtype=np.uint8)))
    h, w = pixels.shape
    return QImage(pixels.data, w, h, pixels.strides[0], QImage.Format.Format_Grayscale8).copy()
