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
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.build import (
    build_pipeline,
    config_from_args,
    keyring_from_config,
    open_store,
    trust_from_config,
)
from kiosk.clock import SystemClock
from kiosk.config import Config
from kiosk.decode import Decoder
from kiosk.device import CameraState, CameraStatus, ScannerState, ScannerStatus
from kiosk.errors import StoreError
from kiosk.scanloop import LoopVerdict, ScanLoop

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


_STDERR_LOCK = threading.Lock()


def say(line: str) -> None:
    """One whole line on standard error. Camera and scanner threads report at the same moment; print()
    writes the text and the newline apart, and their lines would run into each other."""
    with _STDERR_LOCK:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


#: How often the WAL is copied into the main database file while the gate runs.
CHECKPOINT_EVERY_S = 60.0
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
    from hardware.camera import FrameGrabber  # noqa: PLC0415
    from hardware.gpio import make_gate  # noqa: PLC0415
    from hardware.notify import SystemdNotifier, WatchdogPinger  # noqa: PLC0415
    from hardware.scanner import make_scanners  # noqa: PLC0415

    config = config_from_args(args)
    if args.camera:
        config = dataclasses.replace(config, camera=dataclasses.replace(config.camera, source=args.camera))
        from kiosk.config import validate  # noqa: PLC0415

        validate(config)
    if args.duration is not None and args.duration <= 0:
        from kiosk.errors import UsageError  # noqa: PLC0415

        raise UsageError("--duration must be more than 0 seconds")

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    clock = SystemClock()
    trust, deny, signer = _demo_material(config, trust_from_config(config))

    with ExitStack() as stack:
        if signer is not None and args.db is None:
            # Demo visitors, demo certificates and the demo deny list never reach a real record.
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kiosk-demo-")))
            config = dataclasses.replace(
                config, store=dataclasses.replace(config.store, database=scratch / "demo.db")
            )
            say("kiosk: demo camera: recording into a throw-away database; give --db to keep the visits")
        store = stack.enter_context(open_store(config))
        if store.recovered_from is not None:
            say(f"kiosk: the database was damaged and moved aside to {store.recovered_from}")
        store.purge(clock.now().wall, config.retention.days)
        decoder = stack.enter_context(Decoder(config.decoder))
        decoder.warm_up()
        pipeline = build_pipeline(config, store, trust, decoder, args.direction, deny=deny)
        camera = _camera(config, signer)
        grabber = stack.enter_context(
            FrameGrabber(
                camera,
                lost_after_s=config.camera.lost_after_s,
                reopen_max_s=config.camera.reopen_max_s,
                on_status=_print_status,
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
            on_verdict=lambda v: print(json.dumps(verdict_json(v), ensure_ascii=False), flush=True),
        )
        scanners = make_scanners(config.scanner, on_status=_print_scanner_status)
        for scanner in scanners:
            stack.callback(scanner.close)
            scanner.start(loop.submit_payload)

        def health() -> HealthReport:
            scanner_states = [scanner.status() for scanner in scanners]
            return health_report(grabber.status(), store.backlog(), scanner_states, loop.healthy())

        notifier = stack.enter_context(SystemdNotifier.from_environ(os.environ))
        grabber.start()
        stack.enter_context(loop)
        loop.start()
        pinger = stack.enter_context(WatchdogPinger(notifier, health))
        pinger.start()
        deadline = None if args.duration is None else time.monotonic() + args.duration
        next_checkpoint = time.monotonic() + CHECKPOINT_EVERY_S
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


def _print_scanner_status(status: ScannerStatus) -> None:
    """Scanner state changes go to standard error, one line each. Called off the main thread."""
    detail = f": {status.detail}" if status.detail else ""
    say(f"kiosk: {status.name} {status.state.value}{detail}")


def _demo_material(config: Config, trust: Any) -> tuple[Any, Any, Any]:
    """With the demo camera, its visitors' certificates are signed by a demo key the trust list must know."""
    if config.camera.source != "demo":
        if config.identity.key_file is None:
            say(
                "kiosk: identity.key_file is not set: identity hashes use the public demo key "
                "(provision the province's key before going live, see docs/identity-keys.md)"
            )
        return trust, None, None
    from kiosk.demo import DemoSigner, demo_deny_list  # noqa: PLC0415

    signer = DemoSigner.create(SystemClock().now().wall)
    demo_trust = signer.trust_list()
    return trust + demo_trust, demo_deny_list(keyring_from_config(config).current), signer


def _camera(config: Config, signer: Any) -> Any:
    """The configured camera; the demo camera shows visitors whose certificates the demo key signed."""
    if signer is not None:
        from hardware.camera.demo import DemoCamera  # noqa: PLC0415

        camera = DemoCamera(config.camera, signer=signer)
        camera.open()
        return camera
    from hardware.camera import make_camera  # noqa: PLC0415

    return make_camera(config.camera)
