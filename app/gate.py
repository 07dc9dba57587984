"""Layer: app (the composition root). The live gate's parts, built once for both faces of ``kiosk run``.

``build_gate`` opens the record (a throw-away one for the demo camera unless ``--db`` is given), purges
what retention allows, warms the decoder, builds the pipeline, the camera behind its supervised frame
grabber, the gate outputs, the scan loop and the 2D scanners, and registers every one of them on the
caller's ``ExitStack``. ``app.headless`` prints what they report; ``app.gui`` hands them to the
touchscreen app. Where a verdict, a hint or a camera state goes is the caller's choice (callbacks, called
off the main thread).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.build import (
    build_pipeline,
    config_from_args,
    keyring_from_config,
    open_store,
    policy_lists,
    trust_from_config,
)
from kiosk.clock import Clock, SystemClock
from kiosk.config import Config
from kiosk.device import CameraStatus, ScannerStatus
from kiosk.errors import KioskError

if TYPE_CHECKING:
    from hardware.camera import FrameGrabber
    from kiosk.decode import Decoder
    from kiosk.device import GateOutputs
    from kiosk.hints import Hint
    from kiosk.identity import IdentityKeyring, IdentitySet
    from kiosk.pipeline import ScanPipeline
    from kiosk.scanloop import LoopVerdict, ScanLoop
    from kiosk.store import Store

_STDERR_LOCK = threading.Lock()


def say(line: str) -> None:
    """One whole line on standard error. Camera and scanner threads report at the same moment; print()
    writes the text and the newline apart, and their lines would run into each other."""
    with _STDERR_LOCK:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def print_scanner_status(status: ScannerStatus) -> None:
    """Scanner state changes go to standard error, one line each. Called off the main thread."""
    detail = f": {status.detail}" if status.detail else ""
    say(f"kiosk: {status.name} {status.state.value}{detail}")


@dataclass(frozen=True)
class GateParts:
    """Everything ``build_gate`` built; closed by the ``ExitStack`` it was given."""

    config: Config  # as used: with the throw-away database of the demo, if any
    keyring: IdentityKeyring
    store: Store
    decoder: Decoder
    pipeline: ScanPipeline
    grabber: FrameGrabber
    gate: GateOutputs
    loop: ScanLoop
    scanners: tuple[Any, ...]
    #: what the demo camera adds to the configured trust list and deny list (None: not the demo)
    demo_trust: Any = None
    demo_deny: IdentitySet | None = None


def build_gate(
    args: argparse.Namespace,
    config: Config,
    stack: ExitStack,
    clock: Clock,
    *,
    on_camera_status: Callable[[CameraStatus], None],
    on_verdict: Callable[[LoopVerdict], None],
    on_hint: Callable[[Hint], None] | None = None,
) -> GateParts:
    """Build and start the gate's parts (the grabber and the scanners run; the scan loop is built, and
    started by the caller when it is ready for verdicts)."""
    from hardware.camera import FrameGrabber  # noqa: PLC0415 - device layers load only for kiosk run
    from hardware.gpio import make_gate  # noqa: PLC0415
    from hardware.scanner import make_scanners  # noqa: PLC0415
    from kiosk.decode import Decoder  # noqa: PLC0415
    from kiosk.scanloop import ScanLoop  # noqa: PLC0415

    keyring = keyring_from_config(config)  # read once: the pipeline, the demo and the screens share it
    demo_trust, deny, signer = _demo_material(config, keyring)
    trust = trust_from_config(config) + demo_trust if demo_trust is not None else trust_from_config(config)
    if signer is not None and args.db is None:
        # Demo visitors, demo certificates, the demo deny list and demo PINs never reach real data.
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kiosk-demo-")))
        config = dataclasses.replace(
            config,
            store=dataclasses.replace(config.store, database=scratch / "demo.db"),
            security=dataclasses.replace(config.security, pin_file=scratch / "pins.json"),
            sync=dataclasses.replace(config.sync, state_dir=scratch / "sync"),
        )
        say("kiosk: demo camera: recording into a throw-away database; give --db to keep the visits")
    store = stack.enter_context(open_store(config))
    if store.recovered_from is not None:
        say(f"kiosk: the database was damaged and moved aside to {store.recovered_from}")
    store.purge(clock.now().wall, config.retention.days)
    decoder = stack.enter_context(Decoder(config.decoder))
    decoder.warm_up()
    pipeline = build_pipeline(config, store, trust, decoder, args.direction, deny=deny, keyring=keyring)
    grabber = stack.enter_context(
        FrameGrabber(
            _camera(config, signer),
            lost_after_s=config.camera.lost_after_s,
            reopen_max_s=config.camera.reopen_max_s,
            on_status=on_camera_status,
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
        on_verdict=on_verdict,
        on_hint=on_hint,
    )
    scanners = make_scanners(config.scanner, on_status=print_scanner_status)
    for scanner in scanners:
        stack.callback(scanner.close)
        scanner.start(loop.submit_payload)
    return GateParts(
        config, keyring, store, decoder, pipeline, grabber, gate, loop, tuple(scanners), demo_trust, deny
    )


def _demo_material(config: Config, keyring: IdentityKeyring) -> tuple[Any, Any, Any]:
    """With the demo camera, its visitors' certificates are signed by a demo key the trust list must know:
    (the demo's trust list, the demo's deny list, the demo signer), all None without the demo camera."""
    if config.camera.source != "demo":
        if config.identity.key_file is None:
            say(
                "kiosk: identity.key_file is not set: identity hashes use the public demo key "
                "(provision the province's key before going live, see docs/identity-keys.md)"
            )
        return None, None, None
    from kiosk.demo import DemoSigner, demo_deny_list  # noqa: PLC0415

    signer = DemoSigner.create(SystemClock().now().wall)
    return signer.trust_list(), demo_deny_list(keyring.current), signer


def _camera(config: Config, signer: Any) -> Any:
    """The configured camera; the demo camera shows visitors whose certificates the demo key signed."""
    if signer is not None:
        from hardware.camera.demo import DemoCamera  # noqa: PLC0415

        camera = DemoCamera(config.camera, signer=signer)
        camera.open()
        return camera
    from hardware.camera import make_camera  # noqa: PLC0415

    return make_camera(config.camera)


def health_writer(parts: GateParts, clock: Clock) -> Callable[[], None]:
    """Writes the app's health file (``kiosk.health``) for the sync worker's heartbeats; call it every few
    seconds off the GUI thread. A file that cannot be written is logged by the caller, never fatal."""
    from kiosk.health import HEALTH_FILE, DeviceHealth, write_health  # noqa: PLC0415

    path = parts.config.sync.state_dir / HEALTH_FILE

    def write() -> None:
        camera = parts.grabber.status()
        write_health(
            path,
            DeviceHealth(
                written_at=clock.now().wall,
                camera_state=camera.state.value,
                frame_rate=camera.fps,
                decode_ms=parts.loop.last_decode_ms,
                loop_ok=parts.loop.healthy(),
            ),
        )

    return write


def sync_online(config: Config, clock: Clock) -> Callable[[], bool]:
    """Whether the sync worker's last word (its status file) was "online" and recent; for the badge."""
    from kiosk.sync.state import is_online, read_status  # noqa: PLC0415

    def online() -> bool:
        status = read_status(config.sync.state_dir)
        return is_online(status, clock.now().wall, heartbeat_s=config.sync.heartbeat_s)

    return online


def pulled_config_applier(args: argparse.Namespace, parts: GateParts) -> Callable[[], bool]:
    """Applies a device configuration the sync worker pulled since start-up to the running gate: policy, trust
    list, deny list and roster, from the next code on (``ScanPipeline.update``). Location details and retention
    apply at the next start. Call it every few seconds off the GUI thread; True when it applied one. A
    configuration that cannot be used is logged and the running one kept."""
    from kiosk.sync.state import read_server_config  # noqa: PLC0415

    state_dir = parts.config.sync.state_dir
    pulled = read_server_config(state_dir)
    seen = [pulled.etag if pulled is not None else None]

    def apply() -> bool:
        pulled = read_server_config(state_dir)
        etag = pulled.etag if pulled is not None else None
        if etag == seen[0]:
            return False
        seen[0] = etag
        try:
            fresh = config_from_args(args)
            # The running gate's own files stay (the demo's throw-away database, PIN file and sync state).
            config = dataclasses.replace(
                fresh, store=parts.config.store, security=parts.config.security, sync=parts.config.sync
            )
            trust = trust_from_config(config)
            if parts.demo_trust is not None:
                trust = trust + parts.demo_trust
            deny, roster = policy_lists(config, parts.keyring, parts.demo_deny)
        except KioskError as exc:
            say(f"kiosk: the provincial server's new configuration is not used: {exc}")
            return False
        parts.pipeline.update(policy=config.policy, trust=trust, deny=deny, roster=roster)
        say(
            f"kiosk: applied the provincial server's configuration {etag} (policy, trust list, deny list, roster)"
        )
        return True

    return apply
