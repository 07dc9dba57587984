"""The unit files in systemd/: the safety properties the kiosk depends on, and `systemd-analyze verify`."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT_DIR = Path(__file__).resolve().parent.parent / "systemd"
APP_UNITS = ["kiosk.service", "kiosk-headless.service"]
ALL_UNITS = [*APP_UNITS, "kiosk-sync.service"]
#: On the provincial server, not on a kiosk: its own user and data directory, the same sandbox.
SERVER_UNIT = "kiosk-server.service"
#: Beside it on the provincial server: the national forwarder and the nightly jobs.
SERVER_JOBS = ["kiosk-server-forward.service", "kiosk-server-daily.service"]
VERIFIED_UNITS = [*ALL_UNITS, SERVER_UNIT, *SERVER_JOBS, "kiosk-server-daily.timer"]
TRUE = {"yes", "true", "on", "1"}

Unit = dict[str, list[tuple[str, str]]]


def parse_unit(text: str) -> Unit:
    """A tiny systemd unit parser: sections of (key, value) in order, because keys may repeat.

    configparser would merge or reject repeated keys (After=, Environment=, ExecStart=), which is exactly
    where unit semantics live.
    """
    unit: Unit = {}
    section: list[tuple[str, str]] | None = None
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], [])
            continue
        assert section is not None, f"assignment outside a section: {line!r}"
        key, sep, value = line.partition("=")
        assert sep, f"not an assignment: {line!r}"
        section.append((key.strip(), value.strip()))
    return unit


def load(name: str) -> Unit:
    return parse_unit((UNIT_DIR / name).read_text(encoding="utf-8"))


def values(unit: Unit, section: str, key: str) -> list[str]:
    """Every value of a key; an empty assignment resets the list, as systemd does for list settings."""
    result: list[str] = []
    for k, v in unit.get(section, []):
        if k == key:
            result = (
                [] if v == "" else [*result, *([v] if key in {"ExecStart", "Environment"} else v.split())]
            )
    return result


def last(unit: Unit, section: str, key: str) -> str | None:
    found = [v for k, v in unit.get(section, []) if k == key]
    return found[-1] if found else None


def seconds(timespan: str) -> float:
    """systemd time spans as used here: '20s', '2min', '500ms', '1min 30s', or bare seconds."""
    units = {"ms": 0.001, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600}
    if re.fullmatch(r"\d+(\.\d+)?", timespan):
        return float(timespan)
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(ms|sec|s|min|m|h)", timespan)
    assert parts and "".join(f"{n}{u}" for n, u in parts) == timespan.replace(" ", ""), timespan
    return sum(float(n) * units[u] for n, u in parts)


def exec_start(unit: Unit) -> list[str]:
    (command,) = values(unit, "Service", "ExecStart")
    argv = shlex.split(command)
    argv[0] = argv[0].lstrip("@-:+!")  # systemd's executable prefixes
    return argv


# --- safety properties ---------------------------------------------------------------------------------------


def check_user_restart_and_sandbox(unit: Unit, user: str, data_dir: str, restart: str = "always") -> None:
    """What every service here promises: its own unprivileged user, restarts, writes only ``data_dir``."""
    assert last(unit, "Service", "User") == user  # not root, not 0, not DynamicUser (data keeps its owner)
    assert last(unit, "Service", "Group") == user
    assert last(unit, "Service", "Restart") == restart
    assert seconds(last(unit, "Service", "RestartSec") or "0") > 0
    assert last(unit, "Service", "NoNewPrivileges") in TRUE
    assert last(unit, "Service", "ProtectSystem") == "strict"
    assert values(unit, "Service", "ReadWritePaths") == [data_dir]
    assert last(unit, "Service", "ProtectHome") in TRUE
    assert last(unit, "Service", "PrivateTmp") in TRUE
    assert last(unit, "Service", "CapabilityBoundingSet") == ""
    for key in ("ProtectKernelTunables", "ProtectKernelModules", "ProtectControlGroups", "RestrictSUIDSGID"):
        assert last(unit, "Service", key) in TRUE, key
    assert last(unit, "Service", "SystemCallArchitectures") == "native"


@pytest.mark.parametrize("name", ALL_UNITS)
def test_runs_as_the_kiosk_user_restarts_always_and_writes_only_its_data(name: str) -> None:
    unit = load(name)
    check_user_restart_and_sandbox(unit, "kiosk", "/var/lib/kiosk")
    assert "KIOSK_CONFIG=/etc/kiosk/kiosk.toml" in values(unit, "Service", "Environment")


@pytest.mark.parametrize("name", APP_UNITS)
def test_the_app_is_a_notify_service_with_a_watchdog(name: str) -> None:
    unit = load(name)
    assert last(unit, "Service", "Type") == "notify"
    watchdog_s = seconds(last(unit, "Service", "WatchdogSec") or "0")
    assert 0 < watchdog_s <= 60  # long enough for a GC pause on a Pi, short enough for a visitor queue
    assert seconds(last(unit, "Service", "TimeoutStartSec") or "90s") >= 10  # READY=1 comes within 10 s
    # Without a start limit a broken camera would restart the app forever at RestartSec pace.
    assert int(last(unit, "Unit", "StartLimitBurst") or 0) > 0


@pytest.mark.parametrize("name", APP_UNITS)
def test_the_app_keeps_its_devices_and_starts_offline(name: str) -> None:
    unit = load(name)
    # The camera, DRM, input and GPIO devices must stay reachable: any DeviceAllow= (also implied by
    # ProtectClock=) or PrivateDevices= would cut them off.
    assert last(unit, "Service", "PrivateDevices") not in TRUE
    assert not values(unit, "Service", "DeviceAllow")
    assert last(unit, "Service", "ProtectClock") not in TRUE
    assert last(unit, "Service", "DevicePolicy") in {None, "auto"}
    assert {"video", "input", "gpio", "dialout"} <= set(values(unit, "Service", "SupplementaryGroups"))
    ordering = (
        values(unit, "Unit", "After") + values(unit, "Unit", "Requires") + values(unit, "Unit", "Wants")
    )
    assert "network-online.target" not in ordering
    assert "time-sync.target" not in ordering


def test_kiosk_runs_under_cage_without_vt_switching() -> None:
    unit = load("kiosk.service")
    argv = exec_start(unit)
    cage = next(i for i, arg in enumerate(argv) if arg == "/usr/bin/cage")
    separator = argv.index("--", cage)
    options = argv[cage + 1 : separator]
    # cage allows Ctrl+Alt+Fn only with -s (alone or combined, e.g. -ds); a visitor must never reach a console.
    assert not any(opt.startswith("-") and not opt.startswith("--") and "s" in opt for opt in options)
    assert argv[separator + 1 :] == ["/opt/kiosk/venv/bin/kiosk", "run"]
    # Whatever precedes cage must exec it (env does), so that cage stays the main PID systemd watches.
    assert argv[:cage] in ([], ["/usr/bin/env", "XDG_RUNTIME_DIR=/run/kiosk"])


def test_kiosk_lets_the_app_under_cage_notify_and_own_the_watchdog() -> None:
    unit = load("kiosk.service")
    # The app is cage's child: NotifyAccess=main would drop its READY/WATCHDOG, and the WATCHDOG_PID systemd
    # sets (cage's PID) would make the app conclude the watchdog is not its business.
    assert last(unit, "Service", "NotifyAccess") == "all"
    assert "WATCHDOG_PID" in values(unit, "Service", "UnsetEnvironment")
    # XDG_RUNTIME_DIR (Wayland socket) moved out of /run/user, which ProtectHome=yes hides.
    assert last(unit, "Service", "RuntimeDirectory") == "kiosk"


def test_kiosk_owns_tty1_through_a_logind_session() -> None:
    unit = load("kiosk.service")
    assert last(unit, "Service", "TTYPath") == "/dev/tty1"
    assert last(unit, "Service", "PAMName")
    assert last(unit, "Service", "StandardInput") == "tty-fail"
    assert "getty@tty1.service" in values(unit, "Unit", "Conflicts")
    assert "systemd-user-sessions.service" in values(unit, "Unit", "After")
    assert "kiosk-headless.service" in values(unit, "Unit", "Conflicts")


def test_headless_runs_the_app_directly() -> None:
    unit = load("kiosk-headless.service")
    assert exec_start(unit) == ["/opt/kiosk/venv/bin/kiosk", "run", "--headless"]
    assert last(unit, "Service", "NotifyAccess") in {None, "main"}
    assert "kiosk.service" in values(unit, "Unit", "Conflicts")


def test_sync_worker_is_its_own_networked_unit() -> None:
    unit = load("kiosk-sync.service")
    assert exec_start(unit) == ["/opt/kiosk/venv/bin/kiosk", "sync"]
    assert "network-online.target" in values(unit, "Unit", "After")
    assert "network-online.target" in values(unit, "Unit", "Wants")
    assert last(unit, "Service", "PrivateDevices") in TRUE  # it needs no device at all


def test_server_unit_runs_kiosk_server_sandboxed_behind_loopback() -> None:
    from server.cli import build_parser
    from server.serve import GRACEFUL_TIMEOUT_S

    unit = load(SERVER_UNIT)
    check_user_restart_and_sandbox(unit, "kiosk-server", "/var/lib/kiosk-server")
    argv = exec_start(unit)
    assert argv == [
        "/opt/kiosk/venv/bin/kiosk-server",
        *("serve", "--bind", "127.0.0.1:8000", "--workers", "4"),
    ]
    args = build_parser().parse_args(argv[1:])  # options kiosk-server really has
    # Plain HTTP only on loopback: TLS is the reverse proxy's (or --certfile/--keyfile's) job.
    assert args.bind.startswith("127.0.0.1:") or args.certfile is not None
    environment = values(unit, "Service", "Environment")
    assert "KIOSK_SERVER_DATA=/var/lib/kiosk-server" in environment
    assert not any(
        e.startswith(("KIOSK_SERVER_SECRET_KEY=", "KIOSK_SERVER_DATABASE_URL=")) for e in environment
    )
    assert values(unit, "Service", "EnvironmentFile") == ["-/etc/kiosk-server/env"]  # secrets, optional
    assert last(unit, "Service", "StateDirectory") == "kiosk-server"
    assert last(unit, "Service", "PrivateDevices") in TRUE
    assert "network-online.target" in values(unit, "Unit", "After")
    # gunicorn's master is the main process and says READY=1 itself; a graceful stop fits in the timeout.
    assert (last(unit, "Service", "Type"), last(unit, "Service", "NotifyAccess")) == ("notify", "main")
    assert last(unit, "Service", "KillMode") == "mixed"
    assert seconds(last(unit, "Service", "TimeoutStopSec") or "90s") > GRACEFUL_TIMEOUT_S


@pytest.mark.parametrize("name", SERVER_JOBS)
def test_server_jobs_run_real_commands_as_the_server_user_sandboxed(name: str) -> None:
    from server.cli import build_parser

    unit = load(name)
    # A oneshot job is tried again after a failure; the forwarder runs always.
    oneshot = last(unit, "Service", "Type") == "oneshot"
    check_user_restart_and_sandbox(
        unit, "kiosk-server", "/var/lib/kiosk-server", "on-failure" if oneshot else "always"
    )
    commands = values(unit, "Service", "ExecStart")
    assert commands
    for line in commands:
        argv = shlex.split(line)
        assert argv[0] == "/opt/kiosk/venv/bin/kiosk-server"
        build_parser().parse_args(argv[1:])  # options kiosk-server really has (SystemExit otherwise)
    assert values(unit, "Service", "EnvironmentFile") == ["-/etc/kiosk-server/env"]


def test_the_nightly_timer_starts_the_nightly_jobs() -> None:
    timer = load("kiosk-server-daily.timer")
    assert last(timer, "Timer", "Persistent") in TRUE
    assert last(timer, "Timer", "OnCalendar")
    assert values(timer, "Install", "WantedBy") == ["timers.target"]
    assert last(load("kiosk-server-daily.service"), "Service", "Type") == "oneshot"


def test_gunicorn_still_tells_systemd_it_is_ready() -> None:
    """kiosk-server.service is Type=notify because gunicorn's arbiter sends READY=1 when it listens."""
    import inspect

    from gunicorn.arbiter import Arbiter

    assert "READY=1" in inspect.getsource(Arbiter.start)


def test_parser_handles_repeats_resets_and_continuations() -> None:
    unit = parse_unit("[Service]\nCapabilityBoundingSet=CAP_NET_RAW\nCapabilityBoundingSet=\nA=1 \\\n 2\n")
    assert last(unit, "Service", "CapabilityBoundingSet") == ""
    assert values(unit, "Service", "CapabilityBoundingSet") == []
    assert values(unit, "Service", "A") == ["1", "2"]


# --- systemd-analyze verify -------------------------------------------------------------------------------


def verify_root(tmp_path: Path, units: dict[str, str]) -> Path:
    """A staging root for `systemd-analyze verify --root`.

    verify checks that every ExecStart program exists and is executable, and /usr/bin/cage and
    /opt/kiosk/venv/bin/kiosk are not installed on a development machine. Rather than filter its messages
    (which could hide a real complaint), verify runs against a temporary root that holds the units
    unchanged, stub executables at exactly the paths they start, and a copy of this machine's system unit
    directory (verify resolves sysinit.target, basic.target, getty@.service … inside the root). Then any
    output at all is a failure.
    """
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    for name, text in units.items():
        (root / "etc/systemd/system" / name).write_text(text, encoding="utf-8")
        commands = values(parse_unit(text), "Service", "ExecStart")  # none in a timer; several in a oneshot
        for arg in (a.lstrip("@-:+!") for command in commands for a in shlex.split(command)):
            if arg.startswith("/") and not (root / arg.lstrip("/")).exists():
                stub = root / arg.lstrip("/")
                stub.parent.mkdir(parents=True, exist_ok=True)
                stub.write_text("#!/bin/sh\nexit 0\n", encoding="ascii")
                stub.chmod(0o755)
    return root


def run_verify(root: Path, names: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", *names],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None or not Path("/usr/lib/systemd/system").is_dir(),
    reason="systemd-analyze not installed here (Debian: apt-get install systemd)",
)


@needs_systemd_analyze
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    units = {name: (UNIT_DIR / name).read_text(encoding="utf-8") for name in VERIFIED_UNITS}
    result = run_verify(verify_root(tmp_path, units), VERIFIED_UNITS)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@needs_systemd_analyze
def test_verify_harness_catches_a_broken_unit(tmp_path: Path) -> None:
    # verify exits 0 on unknown keys and bad values and only prints them: the harness must see the output.
    text = (UNIT_DIR / "kiosk.service").read_text(encoding="utf-8")
    broken = text.replace("WatchdogSec=20s", "WatchdogSec=soon\nWatchdogSecs=20s")
    result = run_verify(verify_root(tmp_path, {"kiosk.service": broken}), ["kiosk.service"])
    output = result.stdout + result.stderr
    assert "Failed to parse sec value" in output
    assert "Unknown key" in output
