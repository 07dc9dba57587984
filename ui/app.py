"""Layer: ui. ``run_app(context)``: the touchscreen app's event loop around a ``MainWindow``.

The composition root (``app/gui.py``) creates the QApplication (``create_application``) and the
``ScanBridge``, builds the scan worker with the bridge's ``publish_*`` methods as its callbacks, starts it,
and calls ``run_app``. Here: the language, kiosk mode (event filter, frameless full screen, hidden cursor),
the preview pump and the backlog poller (their own threads), the systemd watchdog ticked by a ``QTimer`` on
the GUI thread (a frozen GUI stops the pings, and READY=1 waits for the first preview frame on screen),
SIGTERM/SIGINT, ``--duration`` and demo screenshots.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QMessageLogContext, Qt, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import QApplication

from kiosk.device import CameraState
from ui.bridge import PreviewPump, StatusPoller
from ui.context import UiContext
from ui.language import LanguageSwitcher
from ui.lockdown import LockdownFilter
from ui.main_window import MainWindow
from ui.viewmodel import VerdictView

log = logging.getLogger(__name__)

#: Exit status when the visit database failed under the running app (EX_TEMPFAIL): systemd restarts it.
EXIT_STORE_FAILED = 75
#: Fonts known to carry every Vietnamese letter, in order of preference (Noto is what the installer adds).
PREFERRED_FONTS = ("Noto Sans", "DejaVu Sans", "Liberation Sans")


def _qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Qt's own warnings into the log; one harmless offscreen-plugin line per window resize is dropped."""
    if "propagateSizeHints" in message:
        return
    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
    }.get(kind, logging.ERROR)
    logging.getLogger("qt").log(level, "%s", message)


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication (created once), with a font that has Vietnamese glyphs."""
    qInstallMessageHandler(_qt_message)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(list(argv or [sys.argv[0]]))
    app.setApplicationName("qr-gate-kiosk")
    families = set(QFontDatabase.families())
    for family in PREFERRED_FONTS:
        if family in families:
            app.setFont(QFont(family))
            break
    else:
        log.warning(
            "no font from %s installed: Vietnamese letters may be missing", ", ".join(PREFERRED_FONTS)
        )
    return app


class Screenshotter:
    """Demo: saves the scan screen once the preview runs and the first result of each outcome."""

    def __init__(self, window: MainWindow, directory: Path) -> None:
        self.window = window
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.saved: list[Path] = []
        self._outcomes: set[str] = set()
        window.first_frame_shown.connect(lambda: QTimer.singleShot(500, lambda: self.save("scan")))
        window.verdict_shown.connect(self._on_verdict)

    def _on_verdict(self, view: VerdictView) -> None:
        name = f"result-{view.outcome.value}"
        if name not in self._outcomes:
            self._outcomes.add(name)
            QTimer.singleShot(150, lambda: self.save(name))

    def save(self, name: str) -> None:
        """Runs on the GUI thread: a demo-only disk write of a few tens of kilobytes."""
        language = self.window.languages.language if self.window.languages else "vi"
        path = self.directory / f"live-{name}-{language}.png"
        if self.window.grab().save(str(path)):
            self.saved.append(path)
            print(f"kiosk: screenshot {path}", file=sys.stderr, flush=True)


def run_app(context: UiContext) -> int:
    """Show the app and run its event loop until quit (a signal, ``duration_s``, a failed database).
    Returns the exit status. Call on the main thread after ``create_application``."""
    from hardware.notify import HealthReport, WatchdogPinger  # noqa: PLC0415

    app = create_application()
    config = context.config.ui
    languages = LanguageSwitcher(app)
    languages.set_language(config.language)
    lockdown = LockdownFilter(app)
    window = MainWindow(context, languages, idle_since=lambda: lockdown.last_input_s)
    if config.kiosk_mode:
        app.installEventFilter(lockdown)
    if config.hide_cursor and config.kiosk_mode:
        app.setOverrideCursor(Qt.CursorShape.BlankCursor)

    pump = PreviewPump(context.frames, context.bridge) if context.frames is not None else None
    if pump is not None:
        window.preview_resized.connect(pump.set_target_size)
        window.frame_painted.connect(pump.frame_shown)
    poller = (
        StatusPoller(
            context.backlog,
            context.bridge,
            housekeeping=context.housekeeping,
            online=context.online,
            health=context.health,
        )
        if context.backlog is not None
        else None
    )
    if context.frames is not None:
        context.bridge.publish_camera_status(context.frames.status())

    def health() -> HealthReport:
        camera = window.camera
        text = f"camera {camera.state.value} {camera.fps:.1f} fps · backlog {window.backlog}"
        if not window.first_frame:
            text += " · waiting for the first preview frame"
        loop_ok = context.loop.healthy() if context.loop is not None else True
        return HealthReport(window.first_frame and camera.state is CameraState.RUNNING and loop_ok, text)

    timers: list[QTimer] = []

    def every(seconds: float, slot: object) -> None:
        timer = QTimer(app)
        timer.setInterval(max(50, round(seconds * 1000)))
        timer.timeout.connect(slot)
        timer.start()
        timers.append(timer)

    pinger = None
    if context.notifier is not None:
        pinger = WatchdogPinger(context.notifier, health)
        every(pinger.poll_s, pinger.tick)  # the GUI thread: a stuck GUI stops the pings
    status = {"code": 0}

    def check_store() -> None:
        if context.pipeline is not None and context.pipeline.failed is not None:
            print(
                f"kiosk: error: the visit database failed ({context.pipeline.failed}); recording stopped, "
                "exiting so that the kiosk restarts and checks the database",
                file=sys.stderr,
                flush=True,
            )
            status["code"] = EXIT_STORE_FAILED
            app.exit(EXIT_STORE_FAILED)

    every(1.0, check_store)
    # Python runs signal handlers only between bytecodes; a short timer gives it the chance while Qt waits.
    every(0.25, lambda: None)
    # exit(), not quit(): quit() first asks every window to close, and a kiosk-mode window refuses.
    previous = {s: signal.signal(s, lambda *_: app.exit(0)) for s in (signal.SIGTERM, signal.SIGINT)}
    if context.duration_s is not None:
        QTimer.singleShot(round(context.duration_s * 1000), lambda: app.exit(0))
    shots = Screenshotter(window, context.screenshot_dir) if context.screenshot_dir is not None else None

    if context.window_size is not None or not config.fullscreen:
        window.resize(*(context.window_size or (1024, 600)))
        window.show()
    else:
        window.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
        window.showFullScreen()
    if pump is not None:
        pump.start()
    if poller is not None:
        poller.start()
    try:
        code = app.exec()
        status["code"] = status["code"] or code
    finally:
        for timer in timers:
            timer.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if context.notifier is not None:
            context.notifier.stopping()
        if pump is not None:
            pump.stop()
        if poller is not None:
            poller.stop()
        if config.hide_cursor and config.kiosk_mode:
            QGuiApplication.restoreOverrideCursor()
        app.removeEventFilter(lockdown)
        window.allow_close()
        window.close()
        window.deleteLater()
        languages.close()
        if shots is not None:
            print(f"kiosk: {len(shots.saved)} screenshots in {context.screenshot_dir}", file=sys.stderr)
    return status["code"]
