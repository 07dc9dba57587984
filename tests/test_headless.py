"""The live gate end to end: ``kiosk run --headless`` and ``kiosk doctor`` as a user runs them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.demo import CCCD_AN, CCCD_BINH, render_code

KIOSK = [sys.executable, "-m", "ui.cli"]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "NOTIFY_", "WATCHDOG_"))}
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    env["KIOSK_CONFIG"] = str(config)
    env.update(extra)
    return env


def replay_folder(tmp_path: Path, payloads: list[bytes], hold: int = 20, gap: int = 40) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    empty = np.full((480, 640), 110, np.uint8)
    frames: list[np.ndarray] = []
    for i, payload in enumerate(payloads):
        frames += [empty] * gap + [render_code(payload, "paper", seed=i)] * hold
    frames += [empty] * gap
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:05d}.pgm"), frame)
    return folder


def test_run_headless_prints_one_json_line_per_verdict(tmp_path: Path) -> None:
    folder = replay_folder(tmp_path, [CCCD_AN.encode(), CCCD_BINH.encode(), b"https://qr.tokhaiyte.vn/p/1"])
    db = tmp_path / "kiosk.db"
    out = subprocess.run(
        [
            *KIOSK,
            "run",
            "--headless",
            "--camera",
            f"replay:{folder}",
            "--duration",
            "8",
            "--db",
            str(db),
            "--set",
            "camera.replay_realtime=false",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(tmp_path),
        check=False,
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    # The replay loops as fast as it can for 8 s: every presentation is answered, the first ones recorded.
    assert lines, out.stderr
    first = lines[:3]
    assert [(v["kind"], v["outcome"], v["recorded"]) for v in first] == [
        ("cccd", "granted", True),
        ("cccd", "granted", True),
        ("location", "refused", True),
    ]
    for line in lines:
        assert set(line) >= {"kind", "ok", "outcome", "reason", "latency_ms"}
        assert line["latency_ms"] >= 0
    assert "camera running" in out.stderr
    assert "Traceback" not in out.stderr


def test_run_without_headless_or_with_a_bad_camera_says_what_to_do(tmp_path: Path) -> None:
    out = subprocess.run(
        [*KIOSK, "run"], capture_output=True, text=True, env=clean_env(tmp_path), check=False
    )
    assert out.returncode == 2
    assert "--headless" in out.stderr
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
        "DCC trust list",
        "server",
    }
    assert checks["camera"]["level"] == "OK" and "test card read" in checks["camera"]["message"]
    assert checks["database"]["level"] == "OK"
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
