"""Layer: ui. Screenshots of every screen and state from the real widgets, for docs/screenshots/ and review.

``scripts/screenshots`` (``make screenshots``) runs ``write_screenshots``: the scan screen (normal, hint
showing, camera lost, backlog waiting), the result screens (granted, refused with a reason, a location code,
an expired certificate, see the guard), the PIN pad, the guard console (recent visits, manual entry with
the on-screen keyboard) and the admin screens (status, export, staff), in Vietnamese and English, at 800×480 landscape
and 720×1280 portrait (and any other sizes asked for). The preview shows a generated camera frame.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import QDeadlineTimer
from PySide6.QtWidgets import QApplication, QWidget

from kiosk.clock import FakeClock
from kiosk.config import Config
from kiosk.demo import demo_now, render_code
from kiosk.device import CameraState
from kiosk.hints import Hint
from kiosk.identity import DEMO_KEYRING
from kiosk.model import ClockReading, Credential, Decision, Direction, Kind, Outcome, Reason
from kiosk.store import Store
from ui.admin import AdminScreen
from ui.bridge import ScanBridge, to_qimage
from ui.context import UiContext
from ui.guard_console import GuardConsole
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
    bridge = ScanBridge()
    scratch = tempfile.TemporaryDirectory(prefix="kiosk-shots-")
    store = _seeded_store(Path(scratch.name) / "shots.db")
    context = UiContext(
        config=Config(),
        bridge=bridge,
        clock=FakeClock(demo_now()),
        store=store,
        keyring=DEMO_KEYRING,
        backlog=store.backlog,
        status_checks=lambda: [
            ("database", "OK", "readable, 4 visits waiting for upload"),
            ("disk space", "OK", "5120 MB free (floor 200 MB)"),
            ("clock", "WARN", "not synchronised yet"),
            ("server", "WARN", "sync.server_url is not set"),
        ],
    )
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
                window.open_role_screen("guard")
                console = window.role_screen
                _drain(app, console)
                shot("guard-console", language, width, height)
                if isinstance(console, GuardConsole):
                    console.show_page(console.manual_page)
                    console.show_keyboard(console.name_field)
                    console.name_field.setText("Nguyễn Thị Hường")
                    shot("guard-manual-keyboard", language, width, height)
                window.open_role_screen("admin")
                admin = window.role_screen
                _drain(app, admin)
                shot("admin-status", language, width, height)
                if isinstance(admin, AdminScreen):
                    for page_name, page in (("export", admin.export), ("staff", admin.staff)):
                        admin.show_page(page)
                        _drain(app, admin)
                        shot(f"admin-{page_name}", language, width, height)
                window.show_scan()
    finally:
        window.result_timer.stop()
        window.allow_close()
        window.close()
        window.deleteLater()
        switcher.close()
        _settle(app)
        store.close()
        scratch.cleanup()
    return written


def _seeded_store(path: Path) -> Store:
    """A record with a few visits of the day, as the guard console and the admin's status page show them."""
    store = Store.open(path, device_id="kiosk-dev", location_code="DEMO-0001", privacy_notice_version="1")
    now = demo_now()
    people = [
        ("Nguyễn Văn An", "046090000321", Outcome.GRANTED, Reason.OK, Direction.IN),
        ("Trần Thị Bình", "046305009876", Outcome.GRANTED, Reason.OK, Direction.IN),
        ("Lê Văn Cấm", "046085004321", Outcome.REFUSED, Reason.DENY_LIST, Direction.IN),
        ("Nguyễn Văn An", "046090000321", Outcome.GRANTED, Reason.OK, Direction.OUT),
    ]
    for minutes, (name, number, outcome, reason, direction) in enumerate(people):
        key = f"id:{number}"
        decision = Decision(
            outcome,
            reason,
            Kind.CCCD,
            Credential(Kind.CCCD, key, number, name),
            identity_hash=DEMO_KEYRING.hash(key),
            identity_key_id=DEMO_KEYRING.current.key_id,
        )
        at = ClockReading(now - timedelta(minutes=40 - 10 * minutes), True, "shots", 100.0 + minutes)
        store.record(decision, at=at, direction=direction)
    return store


def _drain(app: QApplication, screen: QWidget | None) -> None:
    """Let a screen's worker threads finish and their results arrive before the picture is taken."""
    for pool_owner in (screen, getattr(screen, "runner", None)):
        pool = getattr(pool_owner, "_pool", None) or getattr(pool_owner, "pool", None)
        if pool is not None:
            pool.waitForDone(QDeadlineTimer(5000))
    _settle(app)
    _settle(app)
