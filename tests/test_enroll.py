"""``kiosk enroll`` against a real ``kiosk-server``: a typed code, and the enrolment QR code shown to the
kiosk's camera (a replayed camera here). The token is kept 0600, the server URL persists, the code is one-time."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server_support import ServerProcess, run_cli, start_server
from tests.test_headless import KIOSK, clean_env, replay_folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("server")
    assert run_cli(data, "migrate").returncode == 0
    assert run_cli(data, "location", "add", "HUE-0001", "--name", "Sở Y tế").returncode == 0
    with start_server(data) as process:
        yield process


def _code(server: ServerProcess, device: str) -> str:
    result = run_cli(server.data_dir, "code", "new", "--location", "HUE-0001", "--device", device)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[0]


def _enroll(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *KIOSK,
            "enroll",
            *args,
            "--set",
            "device.id=gate-1",
            "--set",
            "location.code=HUE-0001",
            "--set",
            f"store.admin_settings={tmp_path / 'admin.toml'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(tmp_path),
        check=False,
    )


def test_a_typed_code_enrols_once(tmp_path: Path, server: ServerProcess) -> None:
    code = _code(server, "gate-1")
    first = _enroll(tmp_path, "--server", server.url, "--code", code)
    assert first.returncode == 0, first.stderr
    assert "device id gate-1, location HUE-0001" in first.stdout and "warning" not in first.stderr
    token = tmp_path / "sync" / "token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert token.read_text(encoding="ascii").strip() not in first.stdout + first.stderr
    assert server.url in (tmp_path / "admin.toml").read_text(encoding="utf-8")
    (tmp_path / "again").mkdir()
    again = _enroll(tmp_path / "again", "--server", server.url, "--code", code)
    assert again.returncode != 0 and "used, expired or unknown" in again.stderr
    assert "Traceback" not in again.stderr


def test_the_enrolment_qr_code_shown_to_the_camera(tmp_path: Path, server: ServerProcess) -> None:
    text = f"KIOSK-ENROL:{server.url}#{_code(server, 'gate-1')}"
    frames = replay_folder(tmp_path, [text.encode()], hold=30, gap=10)
    result = _enroll(tmp_path, "--camera", "20", "--set", f"camera.source=replay:{frames}")
    assert result.returncode == 0, result.stderr
    assert "device id gate-1" in result.stdout
    assert (tmp_path / "sync" / "token").is_file()


def test_no_code_in_view_gives_up_with_what_to_do(tmp_path: Path) -> None:
    frames = replay_folder(tmp_path, [b"not an enrolment code"], hold=5, gap=5)
    result = _enroll(tmp_path, "--camera", "2", "--set", f"camera.source=replay:{frames}")
    assert result.returncode == 2 and "no enrolment QR code seen in 2 s" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "sync" / "token").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "one of them"),
        (("--code", "A", "--camera"), "one of them"),
        (("--code", "ABCD-EFGH-JKLM"), "--server"),
        (("--server", "ftp://x", "--code", "ABCD-EFGH-JKLM"), "--server"),
        (("--server", "https://127.0.0.1:9", "--code", "bad code!"), "--code"),
    ],
)
def test_bad_arguments_are_one_line(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    result = _enroll(tmp_path, *args)
    assert result.returncode == 2 and expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
