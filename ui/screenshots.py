"""Layer: ui. Screenshots of every screen and state from the real widgets, for docs/screenshots/ and review.

``scripts/screenshots`` (``make screenshots``) runs ``write_screenshots``: the scan screen (normal, hint
showing, camera lost, backlog waiting), the result screens (granted, refused with a reason, a location code,
an expired certificate, see the guard) and the PIN pad, in Vietnamese and English, at 800×480 landscape
and 720×1280 portrait (and any other sizes asked for). The preview shows a generated camera frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtWidgets import QApplication

from kiosk.clock import FakeClock
from kiosk.config import Config
from kiosk.demo import demo_now, render_code
from kiosk.device import CameraState
from kiosk.hints import Hint
from kiosk.model import Direction, Kind, Outcome, Reason
from ui.bridge import ScanBridge, to_qimage
from ui.context import UiContext
from ui.language import LanguageSwitcher
from ui.main_window import MainWindow
from ui.viewmodel import CameraView, VerdictView

SIZES: tuple[tuple[int, int], ...] = ((800, 480), (720, 1280))
LANGUAGES = ("vi", "en")

GRANTED = VerdictView(Outcome.GRANTED, Reason.OK, Kind.CCCD, Direction.IN, "Nguyễn V. A", "••••0321", True)
VERDICTS: dict[str, VerdictView] = {
    "result-granted": GRANTED,
    "result-refused-expired": VerdictView(
        Outcome.REFUSED, Reason.DCC_EXPIRED, Kind.DCC, Direction.IN, "Trương Ư.", "", True
    ),
    "result-refused-location": VerdictView(Outcome.REFUSED, Reason.LOCATION_CODE, Kind.LOCATION),
    "result-needs-guard": VerdictView(
        Outcome.NEEDS_GUARD, Reason.NOT_RECORDED, Kind.CCCD, Direction.IN, "Đặng Q. V", "••••7788"
    ),
}


def _settle(app: QApplication) -> None:
    for _ in range(3):
        app.processEvents()


def write_screenshots(
    directory: Path,
    sizes: Iterable[tuple[int, int]] = SIZES,
    languages: Iterable[str] = LANGUAGES,
) -> list[Path]:
    """Write the PNGs; returns their paths. Needs a QApplication (``ui.app.create_application``)."""
    app = QApplication.instance()
    assert isinstance(app, QApplication), "create the QApplication first"
    directory.mkdir(parents=True, exist_ok=True)
    frame = render_code(
        "046090000321|191234567|Nguyễn Văn An|15031990|Nam|12 Lê Lợi, Huế|20042021".encode(), "paper"
    )
    switcher = LanguageSwitcher(app)
    bridge = ScanBridge(Direction.IN)
    context = UiContext(config=Config(), bridge=bridge, clock=FakeClock(demo_now()))
    window = MainWindow(context, switcher)
    written: list[Path] = []

    def shot(name: str, language: str, width: int, height: int) -> None:
        _settle(app)
        path = directory / f"{name}-{language}-{width}x{height}.png"
        window.grab().save(str(path))
        written.append(path)

    try:
        for width, height in sizes:
            window.resize(width, height)
            window.show()
            for language in languages:
                window.set_language(language)
                window.show_scan()
                window._on_camera(CameraView(CameraState.RUNNING, 30.0))
                window._on_backlog(0)
                window._on_hint(Hint.NONE)
                _settle(app)
                preview = window.scan.preview
                window.scan.show_frame(to_qimage(frame, preview.width(), preview.height()))
                shot("scan", language, width, height)
                window._on_backlog(12)
                window._on_hint(Hint.TOO_FAR)
                shot("scan-hint-backlog", language, width, height)
                window._on_hint(Hint.NONE)
                window._on_camera(CameraView(CameraState.LOST))
                shot("scan-camera-lost", language, width, height)
                window._on_camera(CameraView(CameraState.RUNNING, 30.0))
                for name, view in VERDICTS.items():
                    window.show_verdict(view)
                    shot(name, language, width, height)
                window.open_guard_console()
                window.pin_pad.press("1")
                window.pin_pad.press("2")
                shot("pin-pad", language, width, height)
                window.show_scan()
    finally:
        window.result_timer.stop()
        window.allow_close()
        window.close()
        window.deleteLater()
        switcher.close()
        _settle(app)
    return written
