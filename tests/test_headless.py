"""The live gate end to end: ``kiosk run --headless`` and ``kiosk doctor`` as a user runs them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.demo import CCCD_AN, CCCD_BINH, render_code

KIOSK = [sys.executable, "-m", "app.cli"]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "NOTIFY_", "WATCHDOG_"))}
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    env["KIOSK_CONFIG"] = str(config)
    env["KIOSK_SYNC_STATE_DIR"] = str(tmp_path / "sync")  # the health file, never /var/lib/kiosk
    env.update(extra)
    return env


def replay_folder(
    tmp_path: Path, payloads: list[bytes], hold: int = 20, gap: int = 40, tail: int | None = None
) -> Path:
    """Frames for a replay camera: ``gap`` empty frames, then each code for ``hold`` frames and ``gap``
    empty ones after it; the last code is followed by ``tail`` empty frames (default ``gap``).

    Each distinct image is written once and hard-linked under the frame names, so a long replay is cheap.
    """
    folder = tmp_path / "frames"
    folder.mkdir()
    images = tmp_path / "images"
    images.mkdir()
    empty = images / "empty.pgm"
    cv2.imwrite(str(empty), np.full((480, 640), 110, np.uint8))
    frames: list[Path] = []
    for i, payload in enumerate(payloads):
        code = images / f"code{i}.pgm"
        cv2.imwrite(str(code), render_code(payload, "paper", seed=i))
        frames += [empty] * gap + [code] * hold
    frames += [empty] * (gap if tail is None else tail)
    for i, image in enumerate(frames):
        os.link(image, folder / f"{i:05d}.pgm")
    return folder


def test_run_headless_prints_one_json_line_per_visitor(tmp_path: Path) -> None:
    """Every visitor gets exactly one verdict, in order, and is recorded — deterministically.

    The replay is paced in real time (30 fps) and each code is in view for 1 s (30 frames), with 1 s of
    empty scene between visitors. The grabber hands over only the newest frame, so the loop may skip
    frames, but it decodes one in a few milliseconds: it cannot miss 30 in a row. The replay (11 s) is
    longer than the run (8 s), so it never loops and shows each visitor exactly once; the last code has
    left the view 2 s before the run ends.
    """
    payloads = [CCCD_AN.encode(), CCCD_BINH.encode(), b"https://qr.tokhaiyte.vn/p/1"]
    fps, hold, gap, duration_s = 30, 30, 30, 8
    last_code_gone_s = len(payloads) * (gap + hold) / fps
    assert last_code_gone_s <= duration_s - 2
    tail = (duration_s + 3) * fps - len(payloads) * (gap + hold)
    folder = replay_folder(tmp_path, payloads, hold=hold, gap=gap, tail=tail)
    db = tmp_path / "kiosk.db"
    out = subprocess.run(
        [
            *KIOSK,
            "run",
            "--headless",
            "--camera",
            f"replay:{folder}",
            "--duration",
            str(duration_s),
            "--db",
            str(db),
            "--set",
            "camera.replay_realtime=true",
            "--set",
            f"camera.fps={fps}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(tmp_path),
        check=False,
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(v["kind"], v["ok"], v["outcome"], v["reason"], v["recorded"], v["source"]) for v in lines] == [
        ("cccd", True, "granted", "ok", True, "camera"),
        ("cccd", True, "granted", "ok", True, "camera"),
        ("location", False, "refused", "location_code", True, "camera"),
    ], out.stderr
    for line in lines:
        assert set(line) >= {"kind", "ok", "outcome", "reason", "latency_ms"}
        assert line["latency_ms"] >= 0
    from kiosk.store import Store

    with Store.open_read_only(db) as store:
        visits = store.visits()  # newest first
    assert [(v.seq, v.kind.value, v.outcome.value) for v in visits] == [
        (3, "location", "refused"),
        (2, "cccd", "granted"),
        (1, "cccd", "granted"),
    ]
    assert "camera running" in out.stderr
    assert "Traceback" not in out.stderr
    # The app's health for the sync worker's heartbeats (kiosk.health), written while it ran.
    health = json.loads((tmp_path / "sync" / "health.json").read_text(encoding="utf-8"))
    # Written as the loop starts (then every 15 s): the camera may still be starting.
    assert health["camera_state"] in ("starting", "running") and health["frame_rate"] >= 0


def test_run_without_headless_or_with_a_bad_camera_says_what_to_do(tmp_path: Path) -> None:
    # Without --headless, the touchscreen app (issue 8): no camera here, so it says so and stops.
    out = subprocess.run(
        [*KIOSK, "run", "--camera", "replay:/nonexistent", "--db", str(tmp_path / "k.db")],
        capture_output=True,
        text=True,
        env={k: v for k, v in clean_env(tmp_path).items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")},
        check=False,
        timeout=60,
    )
    assert out.returncode != 0
    assert "/nonexistent" in out.stderr
    assert "Traceback" not in out.stderr
    out = subprocess.run(
        [*KIOSK, "run", "--headless", "--camera", "replay:/nonexistent", "--db", str(tmp_path / "k.db")],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path),
        check=False,
        timeout=60,
    )
    assert out.returncode != 0
    assert "/nonexistent" in out.stderr
    assert "Traceback" not in out.stderr
    out = subprocess.run(
        [*KIOSK, "run", "--headless", "--camera", "webcam9"],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path),
        check=False,
    )
    assert out.returncode == 2
    assert "camera.source" in out.stderr


def test_systemd_ready_within_10_s_and_watchdog_pings(tmp_path: Path) -> None:
    folder = replay_folder(tmp_path, [CCCD_AN.encode()])
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(10)
    env = clean_env(tmp_path, NOTIFY_SOCKET=str(sock_path), WATCHDOG_USEC="1000000")
    proc = subprocess.Popen(
        [
            *KIOSK,
            "run",
            "--headless",
            "--camera",
            f"replay:{folder}",
            "--duration",
            "20",
            "--db",
            str(tmp_path / "kiosk.db"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        started = time.monotonic()
        messages: list[str] = []
        while "READY=1" not in messages:
            messages += sock.recv(4096).decode().split("\n")
        ready_after = time.monotonic() - started
        assert ready_after < 10
        pings = 0
        while pings < 2:
            received = sock.recv(4096).decode().split("\n")
            messages += received
            pings += received.count("WATCHDOG=1")
        assert any(m.startswith("STATUS=camera running") for m in messages)
        proc.terminate()
        while "STOPPING=1" not in messages:  # SIGTERM: the app says it is stopping, then exits cleanly
            messages += sock.recv(4096).decode().split("\n")
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
        sock.close()


def test_doctor_reads_the_test_card_and_reports_each_check(tmp_path: Path) -> None:
    card = tmp_path / "card.png"
    env = clean_env(tmp_path)
    out = subprocess.run(
        [*KIOSK, "doctor", "--test-card", str(card)], capture_output=True, text=True, env=env, check=False
    )
    assert out.returncode == 0 and card.exists()
    folder = tmp_path / "cam"
    folder.mkdir()
    frame = np.full((480, 640), 200, np.uint8)
    code = cv2.imread(str(card), cv2.IMREAD_GRAYSCALE)
    code = cv2.resize(code, (300, 300), interpolation=cv2.INTER_NEAREST)
    frame[90:390, 170:470] = code
    cv2.imwrite(str(folder / "0.pgm"), frame)
    out = subprocess.run(
        [
            *KIOSK,
            "doctor",
            "--json",
            "--seconds",
            "1.5",
            "--set",
            f"camera.source=replay:{folder}",
            "--db",
            str(tmp_path / "kiosk.db"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    checks = {c["check"]: c for c in map(json.loads, out.stdout.splitlines())}
    assert set(checks) == {
        "configuration",
        "database",
        "disk space",
        "clock",
        "camera",
        "gate outputs",
        "2D scanners",
        "identity key",
        "DCC trust list",
        "server",
    }
    assert checks["camera"]["level"] == "OK" and "test card read" in checks["camera"]["message"]
    # Read-only: the doctor reports a database the gate has not created yet, and does not create it.
    assert checks["database"]["level"] == "WARN" and "no database yet" in checks["database"]["message"]
    assert not (tmp_path / "kiosk.db").exists()
    assert checks["identity key"]["level"] == "WARN" and "demo key" in checks["identity key"]["message"]
    assert checks["server"]["level"] == "WARN"
    assert out.returncode == 0


def test_doctor_fails_clearly_for_a_missing_camera_and_scanner(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            *KIOSK,
            "doctor",
            "--json",
            "--seconds",
            "0.5",
            "--set",
            "camera.source=replay:/nonexistent",
            "--set",
            "scanner.serial_port=/dev/ttyNOPE",
            "--db",
            str(tmp_path / "kiosk.db"),
        ],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path),
        check=False,
        timeout=60,
    )
    assert out.returncode == 1
    checks = {c["check"]: c for c in map(json.loads, out.stdout.splitlines())}
    assert checks["camera"]["level"] == "FAIL" and "/nonexistent" in checks["camera"]["message"]
    assert checks["2D scanners"]["level"] == "FAIL" and "/dev/ttyNOPE" in checks["2D scanners"]["message"]
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("args", [["run", "--help"], ["doctor", "--help"]])
def test_help(args: list[str], tmp_path: Path) -> None:
    out = subprocess.run(
        [*KIOSK, *args], capture_output=True, text=True, env=clean_env(tmp_path), check=False
    )
    assert out.returncode == 0 and "usage:" in out.stdout


# --- a dead scanner is not healthy: health report, state lines, doctor ------------------------------------


def test_health_report_names_each_scanner_and_why_one_failed() -> None:
    from app.headless import health_report
    from hardware.notify import HealthReport
    from kiosk.device import CameraState, CameraStatus, ScannerState, ScannerStatus

    camera = CameraStatus(CameraState.RUNNING, 29.84)
    serial = ScannerStatus(
        "serial scanner /dev/ttyS99",
        ScannerState.FAILED,
        "no such device — check the cable or scanner.serial_port",
        failures=4,
        retry_in_s=4.0,
    )
    hid = ScannerStatus("HID scanner /dev/input/event3", ScannerState.RUNNING)
    report = health_report(camera, 12, [serial, hid], loop_ok=True)
    assert report == HealthReport(
        True,
        "camera running 29.8 fps · backlog 12 · serial scanner /dev/ttyS99 failed: no such device — check "
        "the cable or scanner.serial_port · HID scanner /dev/input/event3 running",
    )
    # The watchdog follows the camera and the loop: a restart cannot plug a scanner's cable back in.
    assert not health_report(CameraStatus(CameraState.LOST, 0.0, "unplugged"), 0, [hid], loop_ok=True).ok
    assert health_report(camera, 0, [], loop_ok=True).status == "camera running 29.8 fps · backlog 0"


def test_run_headless_with_a_missing_scanner_reports_it_once_and_keeps_the_gate(tmp_path: Path) -> None:
    pytest.importorskip("serial")
    folder = replay_folder(tmp_path, [CCCD_AN.encode()])
    port = tmp_path / "ttyACM-missing"
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    try:
        out = subprocess.run(
            [
                *KIOSK,
                "run",
                "--headless",
                "--camera",
                f"replay:{folder}",
                "--duration",
                "4",
                "--db",
                str(tmp_path / "kiosk.db"),
                "--set",
                f"scanner.serial_port={port}",
                "--set",
                "camera.replay_realtime=false",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(tmp_path, NOTIFY_SOCKET=str(sock_path)),
            check=False,
        )
        sock.setblocking(False)
        messages: list[str] = []
        while True:
            try:
                messages += sock.recv(4096).decode().split("\n")
            except BlockingIOError:
                break
    finally:
        sock.close()
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert json.loads(out.stdout.splitlines()[0])["kind"] == "cccd"  # the camera gate kept working
    problem = "no such device — check the cable or scanner.serial_port"
    lines = out.stderr.splitlines()
    # Several reopen attempts in 4 s, but one warning and one state line: per change, not per retry.
    assert [line for line in lines if problem in line] == [
        f"kiosk: WARNING hardware.scanner.base: serial scanner {port} unavailable ({problem}); "
        "retrying in the background",
        f"kiosk: serial scanner {port} failed: {problem}",
    ]
    statuses = [m.removeprefix("STATUS=") for m in messages if m.startswith("STATUS=")]
    assert any(f"serial scanner {port} failed: {problem}" in s for s in statuses), statuses
    assert "READY=1" in messages  # a failed scanner does not hold back READY


def test_run_rejects_a_bad_baud_rate_at_start_up(tmp_path: Path) -> None:
    out = subprocess.run(
        [*KIOSK, "run", "--headless", "--set", "scanner.serial_port=/dev/ttyACM0", "--set",
         "scanner.serial_baud=7"],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path),
        check=False,
        timeout=60,
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert "scanner.serial_baud: 7 is not a standard baud rate" in out.stderr
    assert "9600" in out.stderr and "115200" in out.stderr


@pytest.fixture
def pty_path() -> Iterator[str]:
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)


def test_doctor_opens_a_working_serial_scanner(pty_path: str) -> None:
    pytest.importorskip("serial")
    from app.doctor import Level, check_scanners
    from kiosk.config import Config, ScannerConfig

    check = check_scanners(Config(scanner=ScannerConfig(serial_port=pty_path)))
    assert (check.level, check.message) == (Level.OK, f"serial scanner {pty_path} opened")
    assert not [t for t in threading.enumerate() if t.name.startswith("scanner ")]


def test_doctor_says_why_each_scanner_cannot_be_opened_and_what_to_do(
    tmp_path: Path, pty_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("serial")
    from app.doctor import Level, check_scanners
    from kiosk.config import Config, ScannerConfig

    monkeypatch.setitem(sys.modules, "evdev", None)  # as on a kiosk without python3-evdev
    missing = tmp_path / "ttyS99"
    config = Config(scanner=ScannerConfig(serial_port=str(missing), hid_device="/dev/input/event3"))
    check = check_scanners(config)
    assert check.level is Level.FAIL
    assert check.message == (
        f"serial scanner {missing}: no such device — check the cable or scanner.serial_port; "
        "HID scanner /dev/input/event3: evdev is not installed — apt install python3-evdev / pip install evdev"
    )
    # A baud rate the driver refuses (validation stops it at start-up; the scanner must still say so).
    check = check_scanners(Config(scanner=ScannerConfig(serial_port=pty_path, serial_baud=-5)))
    assert check.level is Level.FAIL
    assert "baud rate -5 not accepted by the port — set scanner.serial_baud" in check.message
    assert not [t for t in threading.enumerate() if t.name.startswith("scanner ")]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("no-such-folder/card.png", "cannot write it: there is no folder"),
        ("card.txt", "the test card is written as .png, .svg or .pdf, not as a .txt file"),
        ("card.jpg", "the test card is written as .png, .svg or .pdf, not as a .jpg file"),
        ("folder.png", "is a folder"),
    ],
)
def test_doctor_test_card_to_a_bad_path_is_a_one_line_error(tmp_path: Path, name: str, expected: str) -> None:
    (tmp_path / "folder.png").mkdir()
    path = tmp_path / name
    out = subprocess.run(
        [*KIOSK, "doctor", "--test-card", str(path)],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path),
        check=False,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.startswith(f"kiosk: error: --test-card {path}: {expected}")
    assert out.stderr.count("\n") == 1
    assert "internal error" not in out.stderr and "Traceback" not in out.stderr


def test_a_deny_list_pulled_while_the_gate_runs_applies_to_the_next_visitor(tmp_path: Path) -> None:
    """The sync worker applies a new device configuration (here by ``SyncState.apply_config``, as it does);
    the running gate picks it up within seconds, without a restart: An is let in before, Bình refused after."""
    from kiosk.identity import DEMO_KEYRING, hash_list_document
    from kiosk.sync.client import ConfigResult
    from kiosk.sync.fake import default_config
    from kiosk.sync.state import SyncState

    fps = 30
    # An at 5-6 s; Bình at 11-12 s; the run ends at 16 s (the configuration is checked every 2 s).
    folder = replay_folder(tmp_path, [CCCD_AN.encode(), CCCD_BINH.encode()], hold=30, gap=150, tail=240)
    process = subprocess.Popen(
        [
            *KIOSK,
            "run",
            "--headless",
            "--camera",
            f"replay:{folder}",
            "--duration",
            "16",
            "--db",
            str(tmp_path / "kiosk.db"),
            "--set",
            "camera.replay_realtime=true",
            "--set",
            f"camera.fps={fps}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(tmp_path),
    )
    assert process.stdout is not None
    first = json.loads(process.stdout.readline())
    assert (first["kind"], first["outcome"]) == ("cccd", "granted")
    binh = CCCD_BINH.split("|")[0]
    document = {
        **default_config("DEMO-0001"),
        "deny_list": hash_list_document([f"id:{binh}"], DEMO_KEYRING.current),
    }
    SyncState(tmp_path / "sync").apply_config(ConfigResult('"deny-binh"', document), at=datetime.now(UTC))
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out.strip(), err
    second = json.loads(out.splitlines()[0])
    assert (second["kind"], second["outcome"], second["reason"]) == ("cccd", "refused", "deny_list"), err
    assert "applied the provincial server's configuration" in err
