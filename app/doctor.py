"""Layer: app (the composition root). ``kiosk doctor``: a readable self-test for the person installing a kiosk.

Each check prints OK, WARN or FAIL with what to do next. Nothing here changes recorded data: the database
is opened and checked, never written to; the relay is clicked once (unless ``--no-relay``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from kiosk.config import Config
from kiosk.errors import KioskError, UsageError
from kiosk.model import Outcome

TEST_CARD_PAYLOAD = "QRGATE:TEST-CARD"
#: What ``--test-card`` can write: an image to show on a phone, or a page to print.
TEST_CARD_FORMATS = (".png", ".svg", ".pdf")


class Level(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    level: Level
    message: str


#: Checks that open a device: left out beside a running gate, which holds the camera, GPIO and scanners.
DEVICE_CHECKS = frozenset({"camera", "gate outputs", "2D scanners"})


def run_doctor(
    config: Config, *, seconds: float = 3.0, click_relay: bool = True, devices: bool = True
) -> list[Check]:
    """Every check, in order. ``devices=False``: not those in ``DEVICE_CHECKS`` (the admin's status page,
    while the gate runs and reports its devices itself)."""
    checks = [Check("configuration", Level.OK, "valid")]
    for name, fn in (
        ("database", lambda: _database(config)),
        ("disk space", lambda: _disk(config)),
        ("clock", _clock),
        ("camera", lambda: _camera(config, seconds)),
        ("gate outputs", lambda: _gate(config, click_relay)),
        ("2D scanners", lambda: check_scanners(config)),
        ("identity key", lambda: _identity(config)),
        ("DCC trust list", lambda: _trust(config)),
        ("server", lambda: _server(config)),
    ):
        if devices or name not in DEVICE_CHECKS:
            checks.append(_guard(name, fn))
    return checks


def _guard(name: str, fn: Callable[[], Check]) -> Check:
    try:
        return fn()
    except KioskError as exc:  # our own errors already say what is wrong, and usually what to do
        return Check(name, Level.FAIL, str(exc))
    except Exception as exc:  # a check that crashes is a failed check, never a crashed doctor
        return Check(name, Level.FAIL, f"{type(exc).__name__}: {exc}")


def _database(config: Config) -> Check:
    """Read-only: the doctor may run beside the gate, and never creates, repairs or moves the database."""
    from kiosk.errors import CorruptDatabaseError  # noqa: PLC0415
    from kiosk.store import Store  # noqa: PLC0415

    path = config.store.database
    folder = path.parent
    if folder.exists() and not os.access(folder, os.W_OK):
        return Check("database", Level.FAIL, f"{folder} is not writable by this user: fix its owner/mode")
    if not path.exists():
        return Check("database", Level.WARN, f"no database yet at {path}: the gate creates it when it starts")
    try:
        store = Store.open_read_only(path)
    except CorruptDatabaseError as exc:
        return Check("database", Level.FAIL, f"{exc}; keep the moved file for support")
    with store:
        if not store.integrity_ok():
            return Check("database", Level.FAIL, f"{path} fails its integrity check: call support")
        return Check("database", Level.OK, f"{path} readable, {store.backlog()} visits waiting for upload")


def _identity(config: Config) -> Check:
    """The province's identity key: present, readable, not readable by everyone; lists made with it."""
    from app.build import keyring_from_config  # noqa: PLC0415
    from kiosk.identity import load_hash_list  # noqa: PLC0415

    path = config.identity.key_file
    if path is None:
        return Check(
            "identity key",
            Level.WARN,
            "identity.key_file is not set: identity hashes use the public demo key; install the province's "
            "key file (docs/identity-keys.md) before going live",
        )
    keyring = keyring_from_config(config)  # a ConfigError says what is wrong with the file
    if path.stat().st_mode & 0o004:
        return Check("identity key", Level.FAIL, f"{path} is readable by every user: chmod 0640, group kiosk")
    for key, list_path in (
        ("policy.deny_list", config.policy.deny_list),
        ("policy.roster", config.policy.roster),
    ):
        if list_path is not None:
            load_hash_list(list_path, key, keyring)
    return Check("identity key", Level.OK, f"current key {keyring.current.key_id} ({len(keyring.keys)} held)")


def _disk(config: Config) -> Check:
    from kiosk.store import DiskSpace  # noqa: PLC0415

    space = DiskSpace.measure(config.store.database.parent, config.store.min_free_mb)
    free, floor = space.free_mb, space.floor_mb
    if space.out_of_service:
        return Check("disk space", Level.FAIL, f"{free} MB free, below the {floor} MB floor: free space")
    if space.low:
        return Check("disk space", Level.WARN, f"{free} MB free, close to the {floor} MB floor")
    return Check("disk space", Level.OK, f"{free} MB free (floor {floor} MB)")


def _clock() -> Check:
    from kiosk.clock import SystemClock  # noqa: PLC0415

    reading = SystemClock().now()
    if reading.synchronised:
        return Check("clock", Level.OK, f"synchronised, {reading.wall:%Y-%m-%d %H:%M:%S} UTC")
    return Check(
        "clock",
        Level.WARN,
        f"not synchronised ({reading.wall:%Y-%m-%d %H:%M} UTC): connect the network and enable "
        "systemd-timesyncd; visits are still recorded and flagged",
    )


def _camera(config: Config, seconds: float) -> Check:
    from hardware.camera import FrameGrabber, make_camera  # noqa: PLC0415
    from kiosk.decode import Decoder  # noqa: PLC0415
    from kiosk.device import CameraState, DeviceError  # noqa: PLC0415

    try:
        camera = make_camera(config.camera)
    except DeviceError as exc:
        return Check("camera", Level.FAIL, f"{exc}: check the cable and camera.source")
    texts: list[str] = []
    with (
        Decoder(config.decoder) as decoder,
        FrameGrabber(
            camera, lost_after_s=config.camera.lost_after_s, reopen_max_s=config.camera.reopen_max_s
        ) as grabber,
    ):
        grabber.start()
        deadline = time.monotonic() + seconds
        seq = -1
        while time.monotonic() < deadline:
            frame = grabber.latest(seq, min(0.5, max(0.0, deadline - time.monotonic())))
            if frame is None:
                continue
            seq = frame.seq
            texts.extend(s.text for s in decoder.decode(frame.gray, frame.full))
        status = grabber.status()
    if status.state is not CameraState.RUNNING:
        return Check("camera", Level.FAIL, f"{camera.name}: {status.state.value} {status.detail}".strip())
    rate = f"{camera.name} at {status.fps:.1f} frames/s"
    if status.fps < 0.5 * config.camera.fps:
        return Check(
            "camera", Level.WARN, f"{rate}, below the {config.camera.fps:g} asked for: check light/USB"
        )
    if TEST_CARD_PAYLOAD in texts:
        return Check("camera", Level.OK, f"{rate}, test card read")
    if texts:
        return Check("camera", Level.OK, f"{rate}, {len(set(texts))} different codes read")
    return Check(
        "camera",
        Level.WARN,
        f"{rate}, but no code seen: show the test card ('kiosk doctor --test-card card.png') and run again",
    )


def _gate(config: Config, click_relay: bool) -> Check:
    from hardware.gpio import make_gate  # noqa: PLC0415
    from kiosk.device import GateState  # noqa: PLC0415

    if not config.gate.enabled:
        return Check("gate outputs", Level.OK, "not fitted (gate.enabled = false)")
    gate = make_gate(config.gate)
    try:
        state = gate.state()
        if state is GateState.NO_OUTPUTS:
            reason = getattr(gate, "reason", "no GPIO on this machine")
            return Check("gate outputs", Level.FAIL, f"gate.enabled is true but {reason}")
        if state is GateState.FAULT:
            return Check("gate outputs", Level.FAIL, "the GPIO driver reported a fault: check the wiring")
        if not click_relay:
            return Check("gate outputs", Level.OK, "ready (relay not clicked: --no-relay)")
        gate.signal(Outcome.GRANTED)
        time.sleep(min(config.gate.unlock_s, 5.0) + 0.2)  # let the pulse finish before closing the pins
        return Check(
            "gate outputs", Level.OK, f"relay clicked once for {config.gate.unlock_s:g} s: listen for it"
        )
    finally:
        gate.close()


def check_scanners(config: Config, wait_s: float = 2.0) -> Check:
    """Open each configured scanner the way the gate does, and say why one cannot be opened.

    The scanners run their real open (pyserial / evdev, the baud rate, the exclusive grab) on their reader
    threads; the check waits up to ``wait_s`` for each to be running or failed, then closes them. A scanner
    held by a running kiosk service shows as in use.
    """
    from hardware.scanner import make_scanners  # noqa: PLC0415
    from kiosk.device import ScannerState  # noqa: PLC0415

    settled = threading.Condition()

    def on_status(_: object) -> None:
        with settled:
            settled.notify_all()

    scanners = make_scanners(config.scanner, on_status=on_status)
    if not scanners:
        return Check("2D scanners", Level.OK, "none configured (camera only)")
    try:
        for scanner in scanners:
            scanner.start(lambda _payload: None)  # payloads read during the check are dropped
        with settled:
            settled.wait_for(
                lambda: all(s.status().state is not ScannerState.STARTING for s in scanners), timeout=wait_s
            )
        statuses = [scanner.status() for scanner in scanners]
    finally:
        for scanner in scanners:
            scanner.close()
    failed = [f"{s.name}: {s.detail}" for s in statuses if s.state is ScannerState.FAILED]
    if failed:
        return Check("2D scanners", Level.FAIL, "; ".join(failed))
    slow = [s.name for s in statuses if s.state is not ScannerState.RUNNING]
    if slow:
        return Check("2D scanners", Level.WARN, f"{', '.join(slow)} did not open within {wait_s:g} s")
    return Check("2D scanners", Level.OK, ", ".join(f"{s.name} opened" for s in statuses))


def _trust(config: Config) -> Check:
    from app.build import trust_from_config  # noqa: PLC0415
    from kiosk.model import PolicyMode  # noqa: PLC0415

    if config.dcc.trust_list is None:
        level = Level.WARN if config.policy.mode is PolicyMode.HEALTH else Level.OK
        return Check("DCC trust list", level, "none configured: vaccine certificates are refused as unknown")
    trust = trust_from_config(config)
    return Check("DCC trust list", Level.OK, f"{len(trust)} signer certificates")


#: A kiosk clock further than this from the server's is flagged (the record keeps both, but tracing suffers).
CLOCK_OFFSET_WARN_S = 60.0


def _server(config: Config, timeout_s: float = 5.0) -> Check:
    """Reachable, TLS verified against ``sync.ca_file``, the device token accepted, the clocks agree; and
    what the sync worker last said (parked visits, the last error)."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from kiosk.errors import AuthError, SyncError, TlsFailed, TransportError  # noqa: PLC0415
    from kiosk.sync.client import ServerClient, Timeouts  # noqa: PLC0415
    from kiosk.sync.state import SyncState, read_status  # noqa: PLC0415
    from kiosk.sync.transport import RequestsTransport  # noqa: PLC0415

    sync = config.sync
    if not sync.server_url:
        return Check(
            "server",
            Level.WARN,
            "no server configured: visits stay on the kiosk; run 'kiosk enroll --server URL --code CODE'",
        )
    token = SyncState(sync.state_dir).read_token()
    with RequestsTransport(sync.ca_file) as transport:
        client = ServerClient(sync.server_url, transport, token, Timeouts(min(timeout_s, 5.0), timeout_s))
        try:
            health = client.health()
        except TlsFailed as exc:
            return Check(
                "server",
                Level.FAIL,
                f"TLS refused for {sync.server_url} ({exc}): check sync.ca_file and that the address matches "
                "the server's certificate",
            )
        except TransportError as exc:
            return Check(
                "server", Level.FAIL, f"cannot reach {sync.server_url} ({exc}): check network, DNS, firewall"
            )
        except SyncError as exc:
            return Check(
                "server",
                Level.FAIL,
                f"{sync.server_url} answered wrongly ({exc}): is it the provincial server?",
            )
        if token is None:
            return Check(
                "server",
                Level.FAIL,
                f"{sync.server_url} reachable, but this kiosk has no device token: run "
                "'kiosk enroll --server URL --code CODE' with a code from the province",
            )
        try:
            device = client.device()
        except AuthError as exc:
            return Check(
                "server",
                Level.FAIL,
                f"the server refused this kiosk's token ({exc}): enrol it again with a new code",
            )
        except SyncError as exc:
            return Check(
                "server", Level.FAIL, f"the device check failed ({exc}); try again, then call support"
            )
    parts = [f"{sync.server_url} reachable, TLS ok, enrolled as {device.device_id} at {device.location_code}"]
    level = Level.OK
    server_time = device.server_time or health.server_time
    if server_time:
        try:
            offset_s = (datetime.now(UTC) - datetime.fromisoformat(server_time)).total_seconds()
        except ValueError:
            offset_s = None
        if offset_s is not None:
            parts.append(f"clock {offset_s:+.1f} s from the server's")
            if abs(offset_s) > CLOCK_OFFSET_WARN_S:
                level = Level.WARN
                parts.append("the clock is off: check NTP (timedatectl)")
    status = read_status(sync.state_dir)
    if status is not None and status.parked:
        level = Level.WARN
        parts.append(f"{status.parked} visit(s) parked as conflicts: report them to the province")
    if status is not None and status.last_error and not status.online:
        parts.append(f"the sync worker's last error: {status.last_error}")
    return Check("server", level, "; ".join(parts))


def write_test_card(path: str) -> None:
    """A PNG of the test card: show it on a phone or print it, and hold it to the camera.

    Raises ``UsageError`` naming the file when it cannot be written or is not one of ``TEST_CARD_FORMATS``.
    """
    import segno  # noqa: PLC0415

    target = Path(path)
    accepted = ", ".join(TEST_CARD_FORMATS[:-1]) + f" or {TEST_CARD_FORMATS[-1]}"
    if target.suffix.lower() not in TEST_CARD_FORMATS:
        kind = f"a {target.suffix} file" if target.suffix else "a file without an extension"
        raise UsageError(f"--test-card {path}: the test card is written as {accepted}, not as {kind}")
    if target.is_dir():
        raise UsageError(f"--test-card {path}: is a folder; give a {accepted} file to write")
    try:
        segno.make_qr(TEST_CARD_PAYLOAD, error="h").save(str(target), scale=12, border=4)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if not target.parent.is_dir():
            reason = f"there is no folder {target.parent}"
        raise UsageError(f"--test-card {path}: cannot write it: {reason}") from exc
