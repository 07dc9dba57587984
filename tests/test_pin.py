"""Guard and admin PINs: Argon2id hashes, the first-run set-up, and a lockout that a restart, a reboot or a
wall-clock change cannot shorten. Time comes from a fake clock; nothing sleeps."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type

from kiosk.clock import FakeClock
from kiosk.config import load_config
from kiosk.errors import KioskError, PinError, PinFileError
from kiosk.model import PinProblem
from kiosk.pin import MAX_DELAY_S, PinCheck, PinVault, Role, lockout_delay_s

ADMIN_PIN, GUARD_PIN, WRONG = "482913", "7350", "555123"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(wall=datetime(2026, 3, 2, 8, 0, tzinfo=UTC), monotonic_s=1000.0, boot_id="boot-1")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "kiosk" / "pins.json"


@pytest.fixture
def vault(path: Path) -> PinVault:
    vault = PinVault.open(path)
    vault.set_pin(Role.ADMIN, ADMIN_PIN)
    vault.set_pin(Role.GUARD, GUARD_PIN)
    return vault


def fail(vault: PinVault, clock: FakeClock, times: int) -> PinCheck:
    """Type a wrong PIN ``times`` times, each as soon as the vault looks at one again."""
    check = PinCheck(False, None, 0.0, 0)
    for _ in range(times):
        clock.advance(vault.locked_for_s(clock.now()))
        check = vault.verify(Role.GUARD, WRONG, clock.now())
        assert not check.ok
    return check


def reboot(clock: FakeClock, boot_id: str, uptime_s: float = 12.0) -> None:
    """A new boot: another boot id, the monotonic clock from zero, the wall clock wherever it is."""
    clock.boot_id = boot_id
    clock.monotonic_s = uptime_s
    clock.wall += timedelta(hours=1)


# --- the file, the hashes, the set-up -----------------------------------------------------------------------


def test_a_missing_file_is_created_private_and_the_set_up_is_needed(path: Path) -> None:
    vault = PinVault.open(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert vault.needs_setup()
    assert not vault.has_pin(Role.ADMIN) and not vault.has_pin(Role.GUARD)
    vault.set_pin(Role.GUARD, GUARD_PIN)
    assert vault.needs_setup(), "a guard PIN alone does not end the set-up"
    vault.set_pin(Role.ADMIN, ADMIN_PIN)
    assert not vault.needs_setup()
    assert vault.has_pin(Role.ADMIN) and vault.has_pin(Role.GUARD)
    assert not PinVault.open(path).needs_setup(), "and it stays done after a restart"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["pins.json"], "no temporary file left behind"


def test_hashes_are_argon2id_and_the_pins_are_not_in_the_file(vault: PinVault, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    hashes = json.loads(text)["hashes"]
    assert set(hashes) == {"admin", "guard"}
    for stored in hashes.values():
        assert stored.startswith("$argon2id$v=19$m=12288,t=3,p=1$")
    assert ADMIN_PIN not in text and GUARD_PIN not in text


def test_no_pin_yet_refuses_without_counting(path: Path, clock: FakeClock) -> None:
    vault = PinVault.open(path)
    assert vault.verify(Role.ADMIN, "0000", clock.now()) == PinCheck(False, None, 0.0, 0)
    assert vault.verify(Role.GUARD, ADMIN_PIN, clock.now()) == PinCheck(False, None, 0.0, 0)
    assert vault.failures == 0


def test_the_right_pins(vault: PinVault, clock: FakeClock) -> None:
    assert vault.verify(Role.ADMIN, ADMIN_PIN, clock.now()) == PinCheck(True, Role.ADMIN, 0.0, 0)
    assert vault.verify(Role.GUARD, GUARD_PIN, clock.now()) == PinCheck(True, Role.GUARD, 0.0, 0)
    # the admin PIN opens the guard's screens too, and says it was the admin
    assert vault.verify(Role.GUARD, ADMIN_PIN, clock.now()) == PinCheck(True, Role.ADMIN, 0.0, 0)
    # but the guard PIN never opens the admin's
    assert vault.verify(Role.ADMIN, GUARD_PIN, clock.now()) == PinCheck(False, None, 0.0, 1)


@pytest.mark.parametrize("pin", ["", "1", "48291", "4829130000000", "482 913", "abcdef", "٤٨٢٩١٣"])
def test_implausible_pins_are_failures_too(vault: PinVault, clock: FakeClock, pin: str) -> None:
    assert vault.verify(Role.ADMIN, pin, clock.now()) == PinCheck(False, None, 0.0, 1)


def test_a_changed_pin(vault: PinVault, clock: FakeClock) -> None:
    vault.set_pin(Role.GUARD, "2468")
    assert not vault.verify(Role.GUARD, GUARD_PIN, clock.now()).ok
    assert vault.verify(Role.GUARD, "2468", clock.now()).ok


def test_a_hash_made_with_older_settings_is_rehashed_on_success(vault: PinVault, path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID)
    doc["hashes"]["admin"] = weak.hash(ADMIN_PIN)
    path.write_text(json.dumps(doc), encoding="utf-8")
    clock = FakeClock(wall=datetime(2026, 3, 2, tzinfo=UTC))
    assert PinVault.open(path).verify(Role.ADMIN, ADMIN_PIN, clock.now()).ok
    assert json.loads(path.read_text(encoding="utf-8"))["hashes"]["admin"].startswith(
        "$argon2id$v=19$m=12288"
    )


# --- weak PINs ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pin", "problem"),
    [
        ("0000", PinProblem.TRIVIAL),
        ("7777", PinProblem.TRIVIAL),
        ("88888888", PinProblem.TRIVIAL),
        ("1234", PinProblem.TRIVIAL),
        ("0123", PinProblem.TRIVIAL),
        ("12345678", PinProblem.TRIVIAL),
        ("4321", PinProblem.TRIVIAL),
        ("98765432", PinProblem.TRIVIAL),
        ("7890", PinProblem.TRIVIAL),
        ("1212", PinProblem.TRIVIAL),
        ("123123", PinProblem.TRIVIAL),
        ("20262026", PinProblem.TRIVIAL),
        ("123", PinProblem.LENGTH),
        ("", PinProblem.LENGTH),
        ("123456789", PinProblem.LENGTH),
        ("12a4", PinProblem.NOT_DIGITS),
        (" 4829", PinProblem.NOT_DIGITS),
        ("٤٨٢٩", PinProblem.NOT_DIGITS),  # Arabic-Indic digits: str.isdigit() would take them
    ],
)
def test_weak_pins_are_refused_and_nothing_is_written(path: Path, pin: str, problem: PinProblem) -> None:
    vault = PinVault.open(path)
    before = path.read_bytes()
    with pytest.raises(PinError) as err:
        vault.set_pin(Role.ADMIN, pin)
    assert isinstance(err.value, KioskError)
    assert err.value.reason is problem
    assert str(err.value).startswith(problem.value)
    assert path.read_bytes() == before
    assert vault.needs_setup()


@pytest.mark.parametrize("pin", ["4829", "0852", "13572468", "1122", "19750412"])
def test_ordinary_pins_are_accepted(path: Path, pin: str) -> None:
    PinVault.open(path).set_pin(Role.ADMIN, pin)


def test_the_guard_and_admin_pins_must_differ(vault: PinVault) -> None:
    with pytest.raises(PinError) as err:
        vault.set_pin(Role.GUARD, ADMIN_PIN)
    assert err.value.reason is PinProblem.SAME_AS_OTHER_ROLE
    with pytest.raises(PinError):
        vault.set_pin(Role.ADMIN, GUARD_PIN)


# --- the lockout --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failures", "delay_s"),
    [
        (0, 0),
        (1, 0),
        (2, 0),
        (3, 30),
        (4, 60),
        (5, 120),
        (6, 240),
        (9, 1920),
        (10, 3600),
        (11, 3600),
        (10**6, 3600),
    ],
)
def test_delays_grow_from_the_third_failure_and_stop_at_an_hour(failures: int, delay_s: float) -> None:
    assert lockout_delay_s(failures) == delay_s


def test_wrong_pins_lock_with_growing_delays(vault: PinVault, clock: FakeClock) -> None:
    assert fail(vault, clock, 1) == PinCheck(False, None, 0.0, 1)
    assert fail(vault, clock, 1) == PinCheck(False, None, 0.0, 2)
    assert fail(vault, clock, 1) == PinCheck(False, None, 30.0, 3)
    for failures in range(4, 12):
        clock.advance(lockout_delay_s(failures - 1))
        assert fail(vault, clock, 1) == PinCheck(False, None, lockout_delay_s(failures), failures)
    assert vault.locked_for_s(clock.now()) == MAX_DELAY_S


def test_while_locked_the_pin_is_not_even_checked(vault: PinVault, clock: FakeClock, path: Path) -> None:
    fail(vault, clock, 3)
    on_disk = path.read_bytes()
    clock.advance(10)
    # the right PIN is refused without being looked at: the attempt is not counted, nothing is written
    assert vault.verify(Role.ADMIN, ADMIN_PIN, clock.now()) == PinCheck(False, None, 20.0, 3)
    assert vault.verify(Role.GUARD, WRONG, clock.now()) == PinCheck(False, None, 20.0, 3)
    assert path.read_bytes() == on_disk
    clock.advance(20)
    assert vault.locked_for_s(clock.now()) == 0
    assert vault.verify(Role.ADMIN, ADMIN_PIN, clock.now()) == PinCheck(True, Role.ADMIN, 0.0, 0)


def test_a_right_pin_clears_the_failures(vault: PinVault, clock: FakeClock, path: Path) -> None:
    fail(vault, clock, 2)
    assert vault.verify(Role.GUARD, GUARD_PIN, clock.now()).ok
    assert vault.failures == 0
    assert PinVault.open(path).failures == 0
    assert fail(vault, clock, 2) == PinCheck(False, None, 0.0, 2), "two more free tries, not a lockout"


def test_the_lockout_survives_a_restart(vault: PinVault, clock: FakeClock, path: Path) -> None:
    fail(vault, clock, 4)  # 60 s
    clock.advance(15)
    restarted = PinVault.open(path)
    assert restarted.failures == 4
    assert restarted.verify(Role.ADMIN, ADMIN_PIN, clock.now()) == PinCheck(False, None, 45.0, 4)
    clock.advance(45)
    assert PinVault.open(path).verify(Role.ADMIN, ADMIN_PIN, clock.now()).ok


def test_failures_count_across_a_restart(vault: PinVault, clock: FakeClock, path: Path) -> None:
    fail(vault, clock, 2)
    assert fail(PinVault.open(path), clock, 1) == PinCheck(False, None, 30.0, 3)


@pytest.mark.parametrize("jump", [timedelta(days=2), timedelta(days=-400), timedelta(hours=-1)])
def test_a_wall_clock_change_neither_shortens_nor_extends_the_lockout(
    vault: PinVault, clock: FakeClock, path: Path, jump: timedelta
) -> None:
    fail(vault, clock, 3)  # 30 s
    clock.advance(10)
    clock.wall += jump  # NTP at last, or someone setting the clock to get in
    assert vault.locked_for_s(clock.now()) == 20
    assert PinVault.open(path).verify(Role.ADMIN, ADMIN_PIN, clock.now()) == PinCheck(False, None, 20.0, 3)
    clock.advance(20)
    assert vault.verify(Role.ADMIN, ADMIN_PIN, clock.now()).ok


def test_a_reboot_starts_the_whole_delay_again(vault: PinVault, clock: FakeClock, path: Path) -> None:
    fail(vault, clock, 4)  # 60 s
    clock.advance(50)  # 10 s were left when the power went
    reboot(clock, "boot-2")
    after = PinVault.open(path)
    assert after.verify(Role.ADMIN, ADMIN_PIN, clock.now()) == PinCheck(False, None, 60.0, 4)
    clock.advance(25)
    # a restart within the new boot keeps counting from the first check of that boot
    assert PinVault.open(path).locked_for_s(clock.now()) == 35
    clock.advance(35)
    assert PinVault.open(path).verify(Role.ADMIN, ADMIN_PIN, clock.now()).ok


def test_a_reboot_with_a_large_uptime_does_not_end_the_lockout(vault: PinVault, clock: FakeClock) -> None:
    fail(vault, clock, 3)
    reboot(clock, "boot-2", uptime_s=10**6)  # the new boot's monotonic clock is far beyond the old one
    assert vault.locked_for_s(clock.now()) == 30


def test_a_monotonic_clock_that_goes_back_counts_as_a_reboot(vault: PinVault, clock: FakeClock) -> None:
    fail(vault, clock, 3)
    clock.monotonic_s = 5.0  # the same boot id ("unknown" where /proc has none), yet the clock restarted
    assert vault.locked_for_s(clock.now()) == 30


def test_failures_count_across_a_reboot(vault: PinVault, clock: FakeClock, path: Path) -> None:
    fail(vault, clock, 2)
    reboot(clock, "boot-2")
    assert fail(PinVault.open(path), clock, 1) == PinCheck(False, None, 30.0, 3)


def test_an_attempt_is_counted_before_the_pin_is_checked(
    vault: PinVault, clock: FakeClock, path: Path
) -> None:
    class PowerCut(PinVault):
        def _matches(self, role: Role, pin: str) -> bool:
            raise SystemExit("the plug is pulled while Argon2 runs")

    fail(vault, clock, 2)
    with pytest.raises(SystemExit):
        PowerCut.open(path).verify(Role.ADMIN, ADMIN_PIN, clock.now())
    reboot(clock, "boot-2")
    assert PinVault.open(path).verify(Role.ADMIN, ADMIN_PIN, clock.now()) == PinCheck(False, None, 30.0, 3)


def test_a_counter_that_cannot_be_written_refuses_the_check(
    vault: PinVault, clock: FakeClock, path: Path
) -> None:
    path.unlink()
    path.mkdir()  # the file cannot be replaced any more (works as root too, unlike a read-only folder)
    with pytest.raises(PinFileError, match="cannot write PIN file"):
        vault.verify(Role.ADMIN, ADMIN_PIN, clock.now())
    assert [p.name for p in path.parent.iterdir()] == ["pins.json"], "no temporary file left behind"


# --- a damaged file -----------------------------------------------------------------------------------------


def good_document() -> dict[str, object]:
    return {
        "format": 1,
        "hashes": {"admin": PasswordHasher().hash(ADMIN_PIN)},
        "lockout": {
            "failures": 0,
            "delay_s": 0.0,
            "boot_id": "",
            "since_monotonic_s": 0.0,
            "last_failure_wall": None,
        },
    }


def damaged(**changes: object) -> bytes:
    doc = good_document()
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            doc[section][field] = value  # type: ignore[index]
        elif value is None:
            del doc[section]
        else:
            doc[section] = value
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not JSON"),
        (b'{"format": 1, "hashes": {', "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"[]", "not a PIN file"),
        (damaged(lockout=None), "not a PIN file"),
        (damaged(extra=1), "not a PIN file"),
        (damaged(hashes__admin="482913"), "not Argon2id"),
        (damaged(hashes__admin="$2b$12$abcdefghijklmnopqrstuv"), "not Argon2id"),
        (damaged(hashes__root=PasswordHasher().hash("1")), "unknown roles"),
        (damaged(lockout__failures=-1), "bad lockout numbers"),
        (damaged(lockout__failures=True), "bad lockout numbers"),
        (damaged(lockout__delay_s="30"), "bad lockout numbers"),
        (damaged(lockout__delay_s=float("nan")), "bad lockout numbers"),
        (damaged(lockout__delay_s=99999.0), "bad lockout record"),
        (damaged(lockout__boot_id=None), "bad lockout record"),
        (b"x" * 70_000, "larger than 64 KiB"),
        (damaged(format=2), "has format 2"),
    ],
)
def test_a_damaged_file_is_refused_and_left_as_it_is(path: Path, content: bytes, message: str) -> None:
    path.parent.mkdir()
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(PinFileError, match=message) as err:
        PinVault.open(path)
    assert str(path) in str(err.value)
    assert isinstance(err.value, KioskError)
    assert path.read_bytes() == content, "never overwritten"
    assert [p.name for p in path.parent.iterdir()] == ["pins.json"]


def test_the_damaged_message_says_what_to_do(path: Path) -> None:
    path.parent.mkdir()
    path.write_bytes(b"{")
    with pytest.raises(PinFileError, match=r"left as it is\. Restore it from a backup, or move it aside"):
        PinVault.open(path)


def test_a_damaged_hash_is_refused_when_used(path: Path, clock: FakeClock) -> None:
    path.parent.mkdir()
    path.write_bytes(damaged(hashes__admin="$argon2id$v=19$m=12288,t=3,p=1$bm90IGEgaGFzaA"))
    vault = PinVault.open(path)
    with pytest.raises(PinFileError, match=r"admin PIN hash .* is damaged"):
        vault.verify(Role.ADMIN, ADMIN_PIN, clock.now())


def test_an_unreadable_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PinFileError, match="cannot read PIN file"):
        PinVault.open(tmp_path)  # a folder


def test_a_file_readable_by_others_is_made_private(path: Path) -> None:
    path.parent.mkdir()
    path.write_bytes(damaged())  # nothing damaged: the good document
    path.chmod(0o644)
    PinVault.open(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_writes_keep_the_file_private(vault: PinVault, clock: FakeClock, path: Path) -> None:
    os.chmod(path, 0o600)
    fail(vault, clock, 1)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --- configuration ------------------------------------------------------------------------------------------


def test_the_pin_file_is_configured(tmp_path: Path) -> None:
    assert load_config(environ={}).security.pin_file == Path("/var/lib/kiosk/pins.json")
    target = tmp_path / "p.json"
    assert load_config(environ={}, overrides={"security.pin_file": str(target)}).security.pin_file == target
