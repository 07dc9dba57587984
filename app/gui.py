"""Layer: app (the composition root). ``kiosk run``: the live gate with its touchscreen app.

Builds what ``kiosk run --headless`` builds (store, decoder, pipeline, camera through the frame grabber,
gate outputs, 2D scanners, scan loop) with the UI's ``ScanBridge`` as the scan loop's and the grabber's
callbacks, starts the workers, and hands everything to ``ui.app.run_app`` in a ``UiContext``. The only
module of ``app`` that imports ``ui`` (lazily, from ``app.commands.cmd_run``), so a headless install never
needs PySide6.

Without a display (no ``$DISPLAY`` or ``$WAYLAND_DISPLAY``) the app runs offscreen for ``--duration``
seconds (default ``OFFSCREEN_DURATION_S``), prints one JSON line per verdict and writes screenshots into
``--screenshots`` (default ``var/screenshots``): a newcomer sees what it does either way.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from app.build import config_from_args
from app.gate import build_gate, health_writer, pulled_config_applier, say, sync_online
from app.headless import verdict_json
from kiosk.clock import SystemClock
from kiosk.config import Config, admin_keys_overridden
from kiosk.errors import UsageError

OFFSCREEN_DURATION_S = 40.0
DEFAULT_SCREENSHOTS = Path("var/screenshots")
log = logging.getLogger(__name__)
OFFSCREEN_SIZE = (800, 480)


def has_display(environ: Mapping[str, str]) -> bool:
    """Whether a screen is there to show the app on (or the platform was chosen explicitly)."""
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY") or environ.get("QT_QPA_PLATFORM"))


def _window_size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    width, x, height = text.lower().partition("x")
    if (
        not x
        or not (width.isdigit() and height.isdigit())
        or not (160 <= int(width) <= 8192 >= int(height) >= 160)
    ):
        raise UsageError(f"--window {text!r}: expected WIDTHxHEIGHT, e.g. 800x480")
    return int(width), int(height)


class RecentErrors(logging.Handler):
    """Keeps the newest WARNING and ERROR log lines for the admin's status page ("last errors")."""

    def __init__(self, keep: int = 5) -> None:
        super().__init__(level=logging.WARNING)
        self._lines: deque[str] = deque(maxlen=keep)
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        with self._guard:
            self._lines.appendleft(f"{stamp} {record.getMessage()[:200]}")

    def lines(self) -> list[str]:
        with self._guard:
            return list(self._lines)


def status_checks(config: Config) -> list[tuple[str, str, str]]:
    """The admin's status page: ``kiosk doctor``'s checks that open no device (the running gate holds them).
    Called off the GUI thread."""
    from app.doctor import run_doctor  # noqa: PLC0415

    return [(c.name, c.level.value, c.message) for c in run_doctor(config, click_relay=False, devices=False)]


def run_gui(args: argparse.Namespace) -> int:
    """``kiosk run`` without ``--headless``."""
    from hardware.notify import SystemdNotifier  # noqa: PLC0415

    config = config_from_args(args)
    if args.camera:
        from kiosk.config import validate  # noqa: PLC0415

        config = dataclasses.replace(config, camera=dataclasses.replace(config.camera, source=args.camera))
        validate(config)
    window = _window_size(getattr(args, "window", None))
    offscreen = not has_display(os.environ)
    duration = args.duration
    screenshots = getattr(args, "screenshots", None)
    if offscreen:
        # No screen: run offscreen for a while, print the verdicts, and leave pictures of what it showed.
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        duration = duration if duration is not None else OFFSCREEN_DURATION_S
        screenshots = screenshots if screenshots is not None else DEFAULT_SCREENSHOTS
        window = window or OFFSCREEN_SIZE
        say(
            f"kiosk: no display: running offscreen for {duration:g} s, verdicts below, "
            f"screenshots in {screenshots}"
        )
    if window is not None:
        config = dataclasses.replace(config, ui=dataclasses.replace(config.ui, fullscreen=False))

    from ui.app import create_application, run_app  # noqa: PLC0415 - Qt loads only for this command
    from ui.bridge import ScanBridge  # noqa: PLC0415
    from ui.context import UiContext  # noqa: PLC0415

    qt_app = create_application([sys.argv[0]])
    recent = RecentErrors()
    logging.getLogger().addHandler(recent)
    clock = SystemClock()
    bridge = ScanBridge()
    if offscreen or args.verbose:
        bridge.add_verdict_listener(
            lambda v: print(json.dumps(verdict_json(v), ensure_ascii=False), flush=True)
        )
    with ExitStack() as stack:
        parts = build_gate(
            args,
            config,
            stack,
            clock,
            on_camera_status=bridge.publish_camera_status,
            on_verdict=bridge.publish_verdict,
            on_hint=bridge.publish_hint,
        )
        config, loop = parts.config, parts.loop
        notifier = stack.enter_context(SystemdNotifier.from_environ(os.environ))
        stack.enter_context(loop)
        loop.start()
        context = UiContext(
            config=config,
            bridge=bridge,
            clock=clock,
            frames=parts.grabber,
            store=parts.store,
            pipeline=parts.pipeline,
            loop=loop,
            gate=parts.gate,
            keyring=parts.keyring,
            scanners=parts.scanners,
            pin_path=config.security.pin_file,
            notifier=notifier,
            backlog=parts.store.backlog,
            housekeeping=partial(_housekeeping, parts.store.checkpoint, pulled_config_applier(args, parts)),
            overridden=admin_keys_overridden(os.environ, [item.partition("=")[0] for item in args.set]),
            online=sync_online(config, clock),
            health=health_writer(parts, clock),
            status_checks=partial(status_checks, config),
            recent_errors=recent.lines,
            duration_s=duration,
            screenshot_dir=screenshots,
            window_size=window,
        )
        status = run_app(context)
        loop.stop()
        del qt_app
    return status


def _housekeeping(*tasks: Callable[[], object]) -> None:
    """The app's housekeeping every minute, off the GUI thread: the WAL checkpoint, then a configuration the
    sync worker pulled. One failing task does not keep the next from running."""
    for task in tasks:
        try:
            task()
        except Exception:
            log.exception("housekeeping: %s failed", getattr(task, "__name__", task))
