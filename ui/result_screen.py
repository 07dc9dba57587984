"""Layer: ui. The result screen: full screen green / red / amber, a large icon, one word, one sentence, the
masked identity and, when refused, the reason in plain words.

Colour is never the only signal: the icon's shape (tick, cross, exclamation mark), the word and the gate's
buzzer pattern say the same. A passive view built from a ``VerdictView``.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPaintEvent, QPen, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from kiosk.model import Kind, Outcome, Reason
from ui import theme
from ui.texts import outcome_word, reason_text, result_sentence
from ui.viewmodel import VerdictView


class OutcomeIcon(QWidget):
    """A filled circle with a tick (granted), a cross (refused) or an exclamation mark (see the guard),
    drawn with paths so that no font has to carry the symbol."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.outcome = Outcome.GRANTED
        self.side_px = 120
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_side(self, px: int) -> None:
        self.side_px = px
        self.setFixedSize(px, px)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(self.side_px, self.side_px)

    def paintEvent(self, event: QPaintEvent) -> None:
        background, foreground = theme.RESULT_COLOURS[self.outcome]
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(self.width(), self.height())
        circle = QRectF(0, 0, side, side).adjusted(2, 2, -2, -2)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(foreground))
        painter.drawEllipse(circle)
        pen = QPen(QColor(background), side * 0.12)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)

        def at(x: float, y: float) -> QPointF:
            return QPointF(side * x, side * y)

        path = QPainterPath()
        if self.outcome is Outcome.GRANTED:
            path.moveTo(at(0.28, 0.52))
            path.lineTo(at(0.44, 0.68))
            path.lineTo(at(0.73, 0.35))
        elif self.outcome is Outcome.REFUSED:
            path.moveTo(at(0.32, 0.32))
            path.lineTo(at(0.68, 0.68))
            path.moveTo(at(0.68, 0.32))
            path.lineTo(at(0.32, 0.68))
        else:
            path.moveTo(at(0.5, 0.24))
            path.lineTo(at(0.5, 0.58))
            path.moveTo(at(0.5, 0.76))
            path.lineTo(at(0.5, 0.765))
        painter.drawPath(path)
        painter.end()


class ResultScreen(QWidget):
    """Shows one ``VerdictView``. ``view`` is the verdict on screen (None before the first)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultScreen")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.view: VerdictView | None = None
        self.icon = OutcomeIcon()
        self.word = QLabel()
        self.word.setObjectName("word")
        self.sentence = QLabel()
        self.sentence.setObjectName("sentence")
        self.reason = QLabel()
        self.reason.setObjectName("reason")
        self.identity = QLabel()
        self.identity.setObjectName("identity")
        for label in (self.word, self.sentence, self.reason, self.identity):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
        self.layout_ = QVBoxLayout(self)
        self.layout_.addStretch(1)
        self.layout_.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignHCenter)
        self.layout_.addWidget(self.word)
        self.layout_.addWidget(self.sentence)
        self.layout_.addWidget(self.reason)
        self.layout_.addWidget(self.identity)
        self.layout_.addStretch(1)
        self.apply_metrics(theme.Metrics(800, 480))

    @property
    def colour(self) -> str:
        """The background colour on screen (for tests and screenshots)."""
        outcome = self.view.outcome if self.view is not None else Outcome.GRANTED
        return theme.RESULT_COLOURS[outcome][0]

    def show_verdict(self, view: VerdictView) -> None:
        self.view = view
        self.icon.outcome = view.outcome
        self.icon.update()
        background, foreground = theme.RESULT_COLOURS[view.outcome]
        self.setStyleSheet(f"#resultScreen {{ background: {background}; }} QLabel {{ color: {foreground}; }}")
        self.retranslate()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        view = self.view
        if view is None:
            return
        self.word.setText(outcome_word(view.outcome))
        self.sentence.setText(result_sentence(view))
        show_reason = view.outcome is not Outcome.GRANTED or view.repeat
        self.reason.setText(reason_text(view.reason) if show_reason else "")
        self.reason.setVisible(show_reason)
        self.identity.setText(view.identity)
        # A location code or unknown code identifies nobody: no empty line where the name would be.
        self.identity.setVisible(bool(view.identity) and view.kind not in (Kind.LOCATION, Kind.UNKNOWN))
        if view.reason is Reason.REPEAT:
            self.reason.setVisible(True)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.apply_metrics(theme.Metrics(self.width(), self.height()))

    def apply_metrics(self, metrics: theme.Metrics) -> None:
        body = metrics.text_px()
        self.icon.set_side(round(metrics.unit * 0.28))
        for label, scale, bold in (
            (self.word, 2.6, True),
            (self.sentence, 1.4, True),
            (self.reason, 1.25, False),
            (self.identity, 1.2, False),
        ):
            font = QFont()
            font.setPixelSize(round(body * scale))
            font.setBold(bold)
            label.setFont(font)
        margin = metrics.margin_px * 2
        self.layout_.setContentsMargins(margin, margin, margin, margin)
        self.layout_.setSpacing(metrics.margin_px)
