"""Layer: app (the composition root). ``kiosk sync`` and ``kiosk enroll``: the sync worker built from the
configuration, and a kiosk's enrolment with the provincial server.

``kiosk sync`` opens the visit database as a second process (``owner=False``: the gate owns it) and runs
``kiosk.sync.SyncWorker`` until SIGTERM or SIGINT; ``--once`` runs one cycle and exits 0 only when the outbox
is drained. ``kiosk enroll`` trades a one-time code for a device token (kept in ``sync.state_dir/token``,
mode 0600) and saves the server URL into the admin settings file, so both persist.

Only this module reads the real clocks, the random seed and the host name for the worker.
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Final

from app.build import config_from_args
from kiosk import __version__
from kiosk.config import Config, with_settings
from kiosk.errors import ConfigError, ForbiddenError, KioskError, UsageError
from kiosk.sync.backoff import BackoffState

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
#: The text of an enrolment QR code: ``KIOSK-ENROL:<server URL>#<code>``.
ENROL_QR_PREFIX: Final = "KIOSK-ENROL:"
_MAX_CODE: Final = 64

log = logging.getLogger("kiosk.sync")


def _not_enrolled(what: str) -> UsageError:
    return UsageError(
        f"{what}: run 'kiosk enroll --server URL --code CODE' first (it saves the server URL and the token)"
    )


def cmd_sync(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    stop = threading.Event()
    if args.once:
        report = _run_worker(config, args, stop, once=True)
        return EXIT_OK if report.drained else EXIT_REFUSED
    with _stop_on_signals(stop):
        while True:
            report = _run_worker(config, args, stop, once=False)
            if stop.is_set() or report.auth_refused or report.reload_to is None:
                break
            config = report.reload_to
            log.info("the configuration changed: the sync worker starts again with it")
    return EXIT_REFUSED if report.auth_refused else EXIT_OK


@dataclass(frozen=True, slots=True)
class _Outcome:
    drained: bool
    auth_refused: bool
    reload_to: Config | None = None  # the configuration changed on disk: run again with this one


def _run_worker(config: Config, args: argparse.Namespace, stop: threading.Event, *, once: bool) -> _Outcome:
    """Build the worker from ``config`` and run it: one cycle (``once``), or until ``stop`` or until the
    configuration on disk changes (the admin saved another server address, ``kiosk enroll`` ran again, the
    server's configuration was applied) — then the caller builds a new one, no restart of the unit needed."""
    from kiosk.clock import SystemClock  # noqa: PLC0415
    from kiosk.health import HEALTH_FILE  # noqa: PLC0415
    from kiosk.store import Store  # noqa: PLC0415
    from kiosk.sync.client import ServerClient, Timeouts  # noqa: PLC0415
    from kiosk.sync.state import SyncState, health_file_source  # noqa: PLC0415
    from kiosk.sync.transport import RequestsTransport  # noqa: PLC0415
    from kiosk.sync.worker import TOKEN_REFUSED, CycleReport, SyncWorker  # noqa: PLC0415

    sync = config.sync
    if not sync.server_url:
        raise _not_enrolled("no server configured (sync.server_url)")
    state = SyncState(sync.state_dir)
    token = state.read_token()
    if token is None:
        raise _not_enrolled(f"this kiosk has no device token ({state.token_path})")
    clock = SystemClock()
    # Stops this worker only (a changed configuration); ``stop`` (a signal) stops it too.
    done = threading.Event()
    changed: list[Config] = []

    def after_cycle(report: CycleReport) -> None:
        print(report.line(), flush=True)
        try:
            fresh = config_from_args(args)
            fresh_token = SyncState(fresh.sync.state_dir).read_token()
        except (ConfigError, KioskError) as exc:
            log.warning("the configuration on disk cannot be used (%s); keeping the one running", exc)
            return
        if fresh != config or fresh_token != token:
            changed.append(fresh)
            done.set()

    def relay_stop() -> None:  # a signal wakes the worker at once, even in a long back-off wait
        while not stop.wait(0.5):
            if done.is_set():
                return
        done.set()

    relay = threading.Thread(target=relay_stop, name="sync-stop", daemon=True)
    relay.start()
    with (
        Store.open(
            config.store.database,
            device_id=config.device.id,
            location_code=config.location.code,
            privacy_notice_version=config.device.privacy_notice_version,
            min_free_mb=config.store.min_free_mb,
            owner=False,
        ) as store,
        RequestsTransport(sync.ca_file) as transport,
    ):
        client = ServerClient(
            sync.server_url,
            transport,
            token,
            Timeouts(sync.connect_timeout_s, sync.read_timeout_s),
            wall=lambda: clock.now().wall,
        )
        worker = SyncWorker(
            store,
            client,
            state,
            clock,
            time.monotonic,
            random.Random(),  # jitter, not secrecy
            config,
            health_file_source(sync.state_dir / HEALTH_FILE, lambda: clock.now().wall),
        )
        if once:
            report = worker.run_once(force=True)
            print(report.line(), flush=True)
        else:
            report = worker.run(done, on_cycle=after_cycle)
    done.set()
    relay.join()
    if report.auth_refused:
        print(f"kiosk: error: {TOKEN_REFUSED}", file=sys.stderr)
    return _Outcome(
        report.drained, report.auth_refused, changed[0] if changed and not stop.is_set() else None
    )


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM (systemd) and SIGINT set ``stop``: the worker finishes its request and returns."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the current request", signum)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def parse_enrol_qr(text: str) -> tuple[str, str]:
    """``KIOSK-ENROL:<server URL>#<code>`` → ``(url, code)``; ``UsageError`` for anything else."""
    if not text.startswith(ENROL_QR_PREFIX) or "#" not in text:
        raise UsageError(f"the QR code is not an enrolment code ({ENROL_QR_PREFIX}<server URL>#<code>)")
    url, _, code = text[len(ENROL_QR_PREFIX) :].rpartition("#")
    return url.strip(), code.strip()


def _code_from_image(image: Path, config: Config) -> str:
    from kiosk.decode import Decoder, load_gray  # noqa: PLC0415

    gray = load_gray(str(image), config.decoder.max_image_pixels)
    with Decoder(config.decoder) as decoder:
        symbols = decoder.decode(gray)
    texts = [s.text for s in symbols if s.text.startswith(ENROL_QR_PREFIX)]
    if not texts:
        raise UsageError(
            f"--code-qr {image}: no enrolment QR code found (hold it flat and sharp, and try again)"
        )
    return texts[0]


def _code_from_camera(config: Config, wait_s: float) -> str:
    """Watch the configured camera until an enrolment QR code is read (``UsageError`` after ``wait_s``)."""
    from hardware.camera import FrameGrabber, make_camera  # noqa: PLC0415 - device layers load only here
    from kiosk.decode import Decoder  # noqa: PLC0415

    camera = make_camera(config.camera)
    print(
        f"kiosk: show the enrolment QR code to the camera ({camera.name}); waiting up to {wait_s:g} s",
        flush=True,
    )
    with (
        Decoder(config.decoder) as decoder,
        FrameGrabber(
            camera, lost_after_s=config.camera.lost_after_s, reopen_max_s=config.camera.reopen_max_s
        ) as grabber,
    ):
        grabber.start()
        deadline = time.monotonic() + wait_s
        seq = -1
        while (left := deadline - time.monotonic()) > 0:
            frame = grabber.latest(seq, min(0.5, left))
            if frame is None:
                continue
            seq = frame.seq
            for symbol in decoder.decode(frame.gray, frame.full):
                if symbol.text.startswith(ENROL_QR_PREFIX):
                    return symbol.text
        status = grabber.status()
    raise UsageError(
        f"--camera: no enrolment QR code seen in {wait_s:g} s (camera {status.state.value}"
        f"{': ' + status.detail if status.detail else ''}); hold the code flat in front of the camera and try again"
    )


def _check_code(code: str) -> str:
    if not (0 < len(code) <= _MAX_CODE and code.isascii() and all(c.isalnum() or c == "-" for c in code)):
        raise UsageError("--code: an enrolment code is letters, digits and '-', e.g. ABCD-EFGH-JKLM")
    return code


def cmd_enroll(args: argparse.Namespace) -> int:
    from kiosk.settings import save_admin_settings  # noqa: PLC0415
    from kiosk.sync.client import ServerClient, Timeouts  # noqa: PLC0415
    from kiosk.sync.state import SyncState  # noqa: PLC0415
    from kiosk.sync.transport import RequestsTransport  # noqa: PLC0415

    given = [x for x in (args.code, args.code_qr, args.camera) if x is not None]
    if len(given) != 1:
        raise UsageError(
            "give the enrolment code with --code CODE, --code-qr IMAGE or --camera (one of them)"
        )
    config = config_from_args(args)
    server, code = args.server, args.code
    if args.code_qr is not None or args.camera is not None:
        text = (
            _code_from_image(args.code_qr, config)
            if args.code_qr is not None
            else _code_from_camera(config, args.camera)
        )
        qr_server, code = parse_enrol_qr(text)
        if server is not None and server.rstrip("/") != qr_server.rstrip("/"):
            raise UsageError(f"--server {server} differs from the server in the QR code ({qr_server})")
        server = qr_server
    if not server:
        raise UsageError("give the server's URL with --server URL (or an enrolment QR code with --code-qr)")
    code = _check_code(code)
    try:  # the same check as start-up, before anything goes over the network
        with_settings(config, {"sync": {"server_url": server}})
    except ConfigError as exc:
        raise UsageError(f"--server: {exc}") from exc
    ca_file = args.ca_file if args.ca_file is not None else config.sync.ca_file
    sync = config.sync
    with RequestsTransport(ca_file) as transport:
        client = ServerClient(server, transport, None, Timeouts(sync.connect_timeout_s, sync.read_timeout_s))
        try:
            enrolment = client.enrol(code, kiosk_version=__version__, hostname=socket.gethostname())
        except ForbiddenError as exc:
            raise ForbiddenError(
                f"the server refused the enrolment code (used, expired or unknown): ask for a new one ({exc})"
            ) from exc
    state = SyncState(sync.state_dir)
    state.write_token(enrolment.token)
    # A new token: forget a refusal of the old one and any back-off.
    state.save(replace(state.load(), auth_refused=False, last_error=None, backoff=BackoffState()))
    save_admin_settings(config.store.admin_settings, {"sync.server_url": server}, base=config)
    print(f"enrolled with {server}: device id {enrolment.device_id}, location {enrolment.location_code}")
    print(f"token saved to {state.token_path} (mode 0600); server URL saved to {config.store.admin_settings}")
    if enrolment.device_id != config.device.id:
        print(
            f"kiosk: warning: the server knows this kiosk as {enrolment.device_id!r} but device.id is "
            f'{config.device.id!r}: set device.id = "{enrolment.device_id}" in the config file, or uploads '
            "are refused (wrong_device)",
            file=sys.stderr,
        )
    if enrolment.location_code != config.location.code:
        print(
            f"kiosk: warning: the server registered location {enrolment.location_code!r} but location.code "
            f'is {config.location.code!r}: set location.code = "{enrolment.location_code}"',
            file=sys.stderr,
        )
    if args.ca_file is not None and args.ca_file != config.sync.ca_file:
        print(
            f'note: set sync.ca_file = "{args.ca_file}" in the config file for the sync worker',
            file=sys.stderr,
        )
    return EXIT_OK
