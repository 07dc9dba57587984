"""scripts/install-pi: dry run, a real install into a staging root, idempotence, and shell lint.

A staging root (``--root DIR``) writes the files for real but only prints what acts on the running system
(apt-get, useradd, chown to kiosk, venv/pip, systemctl), so this machine can run it without becoming a kiosk.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "install-pi"
UNITS = ["kiosk.service", "kiosk-headless.service", "kiosk-sync.service"]

Snapshot = dict[str, tuple[int, int, str]]


def install(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["bash", str(SCRIPT), "--root", str(root), "--force", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def snapshot(root: Path) -> Snapshot:
    """Every path under root with its mode, modification time and content hash."""
    tree: Snapshot = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        tree[str(path.relative_to(root))] = (st.st_mode, st.st_mtime_ns, digest)
    return tree


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def lines(result: subprocess.CompletedProcess[str], prefix: str) -> list[str]:
    tag = f"install-pi: {prefix}"
    return [line for line in result.stdout.splitlines() if line.startswith(tag)]


def test_bash_syntax() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True, timeout=30)


@pytest.mark.skipif(
    shutil.which("shellcheck") is None, reason="shellcheck not installed (apt-get install shellcheck)"
)
def test_shellcheck_clean() -> None:
    result = subprocess.run(
        ["shellcheck", str(SCRIPT)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout


def test_dry_run_changes_nothing_and_prints_every_action(tmp_path: Path) -> None:
    result = install(tmp_path, "--dry-run")
    assert snapshot(tmp_path) == {}
    would = "\n".join(lines(result, "would: "))
    for target in ["/var/lib/kiosk", "/etc/kiosk/kiosk.toml", "/etc/kiosk/secrets.toml"] + [
        f"/etc/systemd/system/{unit}" for unit in UNITS
    ]:
        assert target in would, target
    skipped = "\n".join(lines(result, "skipped (staging root): "))
    for command in [
        "apt-get install",
        "python3-picamera2",
        "cage",
        "useradd --system",
        "usermod -a -G video,input,render,gpio,dialout kiosk",
        "python3 -m venv --system-site-packages /opt/kiosk/venv",
        "pip install",
        "[pi,ui]",
        "systemctl daemon-reload",
        "systemctl enable kiosk.service",
        "systemctl enable kiosk-sync.service",
        "systemctl disable getty@tty1.service",
    ]:
        assert command in skipped, command
    assert "dry run: 7 change(s) would be made" in result.stdout


def test_installs_what_the_touchscreen_app_needs(tmp_path: Path) -> None:
    # The PySide6 wheels bundle neither these libraries nor a font; the same list on bookworm and trixie.
    result = install(tmp_path, "--dry-run")
    skipped = lines(result, "skipped (staging root): ")
    apt = next(line for line in skipped if "apt-get install" in line).strip("]").split()
    for package in [
        "libegl1",
        "libgl1",
        "libxkbcommon0",
        "libfontconfig1",
        "libpulse0",  # QtMultimedia
        "fonts-noto-core",  # Vietnamese glyphs
        "fonts-dejavu-core",
        "cage",
    ]:
        assert package in apt, package
    pip = next(line for line in skipped if "pip install" in line)
    assert "/opt/kiosk/venv/bin/python -m pip install" in pip
    assert "[pi,ui]" in pip  # ui = PySide6-Essentials


def test_staging_install_places_files_with_the_right_modes(tmp_path: Path) -> None:
    result = install(tmp_path)
    assert lines(result, "change: ")
    data = tmp_path / "var/lib/kiosk"
    assert data.is_dir()
    assert mode(data) == 0o750  # the visit database: the kiosk user only
    etc = tmp_path / "etc/kiosk"
    assert mode(etc) == 0o755
    config = etc / "kiosk.toml"
    assert config.read_bytes() == (REPO / "config/kiosk.example.toml").read_bytes()
    assert mode(config) == 0o644
    secrets = etc / "secrets.toml"
    assert mode(secrets) == 0o640  # root:kiosk on a real install: the service reads, cannot write
    assert "device token" in secrets.read_text(encoding="utf-8")
    for unit in UNITS:
        installed = tmp_path / "etc/systemd/system" / unit
        assert installed.read_bytes() == (REPO / "systemd" / unit).read_bytes()
        assert mode(installed) == 0o644
    # Nothing that needs the target system was created: no venv (not relocatable), no units enabled.
    assert not (tmp_path / "opt").exists()
    assert not list(tmp_path.rglob("*.wants"))
    assert "owner root:kiosk on /etc/kiosk/secrets.toml" in result.stdout
    assert "owner kiosk:kiosk on /var/lib/kiosk" in result.stdout


def test_second_run_changes_nothing(tmp_path: Path) -> None:
    install(tmp_path)
    before = snapshot(tmp_path)
    again = install(tmp_path)
    assert snapshot(tmp_path) == before
    assert not lines(again, "change: ")
    assert "install-pi: nothing to change" in again.stdout
    assert "already: /etc/kiosk/kiosk.toml present" in again.stdout
    assert "already: /etc/systemd/system/kiosk.service is up to date" in again.stdout
    dry = install(tmp_path, "--dry-run")
    assert snapshot(tmp_path) == before
    assert "install-pi: nothing to change" in dry.stdout


def test_an_edited_config_is_never_overwritten(tmp_path: Path) -> None:
    install(tmp_path)
    config = tmp_path / "etc/kiosk/kiosk.toml"
    config.write_text('[location]\ncode = "HUE-0042"\n', encoding="utf-8")
    again = install(tmp_path)
    assert config.read_text(encoding="utf-8") == '[location]\ncode = "HUE-0042"\n'
    assert "nothing to change" in again.stdout


def test_updates_only_what_differs(tmp_path: Path) -> None:
    install(tmp_path)
    unit = tmp_path / "etc/systemd/system/kiosk.service"
    unit.write_text("[Service]\nUser=root\n", encoding="utf-8")
    secrets = tmp_path / "etc/kiosk/secrets.toml"
    secrets.write_text("token = 'kept'\n", encoding="utf-8")
    secrets.chmod(0o644)
    result = install(tmp_path)
    assert lines(result, "change: ") == [
        "install-pi: change: set mode 0640 on /etc/kiosk/secrets.toml",
        "install-pi: change: update /etc/systemd/system/kiosk.service (0644)",
    ]
    assert unit.read_bytes() == (REPO / "systemd/kiosk.service").read_bytes()
    assert mode(secrets) == 0o640
    assert secrets.read_text(encoding="utf-8") == "token = 'kept'\n"  # secrets are never replaced
    assert "skipped (staging root): reload systemd" in result.stdout


def test_headless_enables_the_headless_unit_and_keeps_the_console(tmp_path: Path) -> None:
    result = install(tmp_path, "--headless", "--dry-run")
    assert "systemctl enable kiosk-headless.service" in result.stdout
    assert "systemctl enable kiosk.service" not in result.stdout
    assert "getty@tty1" not in result.stdout


@pytest.mark.skipif(platform.machine() == "aarch64", reason="this machine may well be a Pi")
def test_refuses_a_machine_that_is_not_64_bit_pi_os(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(SCRIPT), "--root", str(tmp_path), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "needs aarch64" in result.stderr
    assert "refusing (--force overrides)" in result.stderr
    assert snapshot(tmp_path) == {}


def test_rejects_unknown_options(tmp_path: Path) -> None:
    result = install(tmp_path, "--frobnicate", check=False)
    assert result.returncode == 2
    assert "unknown option" in result.stderr
