"""Layer: app (the composition root). ``kiosk run --headless``: the live gate without a screen.

Wires the camera (through the frame grabber and its supervisor), the 2D scanners, the gate outputs, the
scan loop and the systemd watchdog, then prints one JSON line per verdict on standard output and camera and
scanner state changes on standard error. SIGTERM or SIGINT stop it cleanly; so does ``--duration``.

The health report (``health_report``: the systemd ``STATUS=`` line) names the camera's state, the backlog
and every scanner's state with the reason it failed. Only the camera and the scan loop decide whether the
watchdog is pinged: a failed scanner is retried in the background and shown, but restarting the service
would not plug its cable back in, and the camera keeps the gate working meanwhile.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from app.build import config_from_args
from app.gate import build_gate, health_writer, pulled_config_applier, say
from kiosk.clock import SystemClock
from kiosk.device import CameraState, CameraStatus, ScannerState, ScannerStatus
from kiosk.errors import StoreError
from kiosk.scanloop import LoopVerdict

if TYPE_CHECKING:
    from hardware.notify import HealthReport

log = logging.getLogger(__name__)


def verdict_json(published: LoopVerdict) -> dict[str, Any]:
    verdict = published.verdict
    return {
        "kind": verdict.decision.kind.value,
        "ok": verdict.ok,
        "outcome": verdict.outcome.value,
        "reason": verdict.reason.value,
        "latency_ms": round(published.latency_ms, 2),
        "source": published.source,
        "recorded": verdict.visit is not None,
    }


#: How often the WAL is copied into the main database file while the gate runs.
CHECKPOINT_EVERY_S = 60.0
#: How often the app writes its health file for the sync worker's heartbeats (as the touchscreen app does).
HEALTH_EVERY_S = 15.0
#: How often the app looks for a configuration the sync worker pulled (one small file read).
CONFIG_CHECK_EVERY_S = 2.0
#: Exit status when the database failed under the running gate (EX_TEMPFAIL): systemd restarts the kiosk.
EXIT_STORE_FAILED = 75


def health_report(
    camera: CameraStatus, backlog: int, scanners: Sequence[ScannerStatus], loop_ok: bool
) -> HealthReport:
    """Alive = the database is open (we got a backlog), frames flow and the loop turns; the text says more.

    ``camera running 29.8 fps · backlog 12 · serial scanner /dev/ttyS99 failed: no such device — …``
    """
    from hardware.notify import HealthReport  # noqa: PLC0415

    text = f"camera {camera.state.value} {camera.fps:.1f} fps · backlog {backlog}"
    if camera.detail and camera.state is not CameraState.RUNNING:
        text += f" · {camera.detail}"
    for scanner in scanners:
        text += f" · {scanner.name} {scanner.state.value}"
        if scanner.detail and scanner.state is ScannerState.FAILED:
            text += f": {scanner.detail}"
    return HealthReport(camera.state is CameraState.RUNNING and loop_ok, text)


def run_headless(args: argparse.Namespace) -> int:
    from hardware.notify import SystemdNotifier, WatchdogPinger  # noqa: PLC0415

    config = config_from_args(args)
    if args.camera:
        config = dataclasses.replace(config, camera=dataclasses.replace(config.camera, source=args.camera))
        from kiosk.config import validate  # noqa: PLC0415

        validate(config)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    clock = SystemClock()

    with ExitStack() as stack:
        parts = build_gate(
            args,
            config,
            stack,
            clock,
            on_camera_status=_print_status,
            on_verdict=lambda v: print(json.dumps(verdict_json(v), ensure_ascii=False), flush=True),
        )
        store, pipeline, grabber, loop = parts.store, parts.pipeline, parts.grabber, parts.loop

        def health() -> HealthReport:
            scanner_states = [scanner.status() for scanner in parts.scanners]
            return health_report(grabber.status(), store.backlog(), scanner_states, loop.healthy())

        notifier = stack.enter_context(SystemdNotifier.from_environ(os.environ))
        stack.enter_context(loop)
        loop.start()
        pinger = stack.enter_context(WatchdogPinger(notifier, health))
        pinger.start()
        deadline = None if args.duration is None else time.monotonic() + args.duration
        next_checkpoint = time.monotonic() + CHECKPOINT_EVERY_S
        write_health, next_health = health_writer(parts, clock), time.monotonic()
        apply_pulled_config, next_config = pulled_config_applier(args, parts), time.monotonic()
        status = 0
        while not stop.is_set():
            if pipeline.failed is not None:
                say(
                    f"kiosk: error: the visit database failed ({pipeline.failed}); recording stopped, "
                    "exiting so that the kiosk restarts and checks the database"
                )
                status = EXIT_STORE_FAILED
                break
            if time.monotonic() >= next_checkpoint:
                next_checkpoint = time.monotonic() + CHECKPOINT_EVERY_S
                try:
                    store.checkpoint()  # its own connection: the scan loop never waits for it
                except StoreError as exc:
                    say(f"kiosk: checkpoint failed: {exc}")
            if time.monotonic() >= next_health:
                next_health = time.monotonic() + HEALTH_EVERY_S
                try:
                    write_health()  # for the sync worker's heartbeats (kiosk.health)
                except OSError as exc:
                    log.warning("cannot write the health file: %s", exc)
            if time.monotonic() >= next_config:
                next_config = time.monotonic() + CONFIG_CHECK_EVERY_S
                apply_pulled_config()  # a new configuration from the provincial server, if the worker got one
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            stop.wait(0.5 if remaining is None else min(0.5, remaining))
        notifier.stopping()
        loop.stop()
    return status


def _print_status(status: CameraStatus) -> None:
    """Camera state changes go to standard error (the journal, under systemd). Called off the main thread."""
    detail = f": {status.detail}" if status.detail else ""
    say(f"kiosk: camera {status.state.value}{detail}")
