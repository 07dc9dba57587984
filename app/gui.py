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
import tempfile
import threading
import time
from collections import deque
from collections.abc import Mapping
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from app.build import build_pipeline, config_from_args, keyring_from_config, open_store, trust_from_config
from app.headless import _camera, _demo_material, _print_scanner_status, say, verdict_json
from kiosk.clock import SystemClock
from kiosk.config import Config
from kiosk.errors import UsageError

OFFSCREEN_DURATION_S = 40.0
DEFAULT_SCREENSHOTS = Path("var/screenshots")
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
    from hardware.camera import FrameGrabber  # noqa: PLC0415
    from hardware.gpio import make_gate  # noqa: PLC0415
    from hardware.notify import SystemdNotifier  # noqa: PLC0415
    from hardware.scanner import make_scanners  # noqa: PLC0415

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

    from kiosk.decode import Decoder  # noqa: PLC0415
    from kiosk.scanloop import ScanLoop  # noqa: PLC0415
    from ui.app import create_application, run_app  # noqa: PLC0415 - Qt loads only for this command
    from ui.bridge import ScanBridge  # noqa: PLC0415
    from ui.context import UiContext  # noqa: PLC0415

    qt_app = create_application([sys.argv[0]])
    recent = RecentErrors()
    logging.getLogger().addHandler(recent)
    clock = SystemClock()
    trust, deny, signer = _demo_material(config, trust_from_config(config))
    with ExitStack() as stack:
        if signer is not None and args.db is None:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kiosk-demo-")))
            config = dataclasses.replace(
                config,
                store=dataclasses.replace(config.store, database=scratch / "demo.db"),
                security=dataclasses.replace(config.security, pin_file=scratch / "pins.json"),
            )
            say("kiosk: demo camera: recording into a throw-away database; give --db to keep the visits")
        store = stack.enter_context(open_store(config))
        if store.recovered_from is not None:
            say(f"kiosk: the database was damaged and moved aside to {store.recovered_from}")
        store.purge(clock.now().wall, config.retention.days)
        decoder = stack.enter_context(Decoder(config.decoder))
        decoder.warm_up()
        pipeline = build_pipeline(config, store, trust, decoder, args.direction, deny=deny)
        bridge = ScanBridge(pipeline.direction)
        if offscreen or args.verbose:
            bridge.add_verdict_listener(
                lambda v: print(json.dumps(verdict_json(v), ensure_ascii=False), flush=True)
            )
        grabber = stack.enter_context(
            FrameGrabber(
                _camera(config, signer),
                lost_after_s=config.camera.lost_after_s,
                reopen_max_s=config.camera.reopen_max_s,
                on_status=bridge.publish_camera_status,
            )
        )
        gate = make_gate(config.gate)
        stack.callback(gate.close)
        loop = ScanLoop(
            frames=grabber,
            decoder=decoder,
            pipeline=pipeline,
            gate=gate,
            clock=clock,
            on_verdict=bridge.publish_verdict,
            on_hint=bridge.publish_hint,
        )
        scanners = make_scanners(config.scanner, on_status=_print_scanner_status)
        for scanner in scanners:
            stack.callback(scanner.close)
            scanner.start(loop.submit_payload)
        notifier = stack.enter_context(SystemdNotifier.from_environ(os.environ))
        stack.enter_context(loop)
        loop.start()
        context = UiContext(
            config=config,
            bridge=bridge,
            clock=clock,
            frames=grabber,
            store=store,
            pipeline=pipeline,
            loop=loop,
            gate=gate,
            keyring=keyring_from_config(config),
            scanners=tuple(scanners),
            pin_path=config.security.pin_file,
            notifier=notifier,
            backlog=store.backlog,
            housekeeping=store.checkpoint,
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
