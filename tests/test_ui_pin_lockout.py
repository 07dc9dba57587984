"""The PIN pad over a real PIN file: the lockout holds across a restart of the app and a wall-clock jump.

A restart is a new ``PinPad`` and ``VaultChecker`` on the same file; the clock is a ``FakeClock`` (the wall
clock jumps, the monotonic clock of the same boot does not), so nothing sleeps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from pytestqt.qtbot import QtBot

from kiosk.clock import FakeClock
from kiosk.pin import PinVault, Role
from ui.pin_pad import PinPad, VaultChecker

ADMIN_PIN, GUARD_PIN = "4826", "7391"


@pytest.fixture
def pin_file(tmp_path: Path) -> Path:
    path = tmp_path / "pins.json"
    vault = PinVault.open(path)
    vault.set_pin(Role.ADMIN, ADMIN_PIN)
    vault.set_pin(Role.GUARD, GUARD_PIN)
    return path


def pad(qtbot: QtBot, pin_file: Path, clock: FakeClock) -> PinPad:
    widget = PinPad(VaultChecker(pin_file, clock).check)
    qtbot.addWidget(widget)
    widget.request("guard")
    return widget


def enter(qtbot: QtBot, widget: PinPad, pin: str) -> str:
    for digit in pin:
        widget.press(digit)
    widget.submit()
    qtbot.waitUntil(lambda: not widget.busy, timeout=10_000)
    return widget._message


def test_lockout_survives_a_restart_and_a_wall_clock_jump(qtbot: QtBot, pin_file: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 29, 8, tzinfo=UTC))
    first = pad(qtbot, pin_file, clock)
    for _ in range(3):
        message = enter(qtbot, first, "0000")
    assert message.startswith("locked:")

    # The app restarts (same boot) and someone sets the wall clock a day ahead: still locked, and the
    # right PIN is not even checked.
    clock.wall += timedelta(days=1)
    restarted = pad(qtbot, pin_file, clock)
    accepted: list[str] = []
    restarted.accepted.connect(accepted.append)
    assert enter(qtbot, restarted, GUARD_PIN).startswith("locked:")
    assert accepted == []

    # Only time on the monotonic clock lifts it.
    clock.monotonic_s += 31
    with qtbot.waitSignal(restarted.accepted, timeout=10_000) as signal:
        for digit in GUARD_PIN:
            restarted.press(digit)
        restarted.submit()
    assert signal.args == ["guard"]


def test_a_wrong_pin_says_so_and_a_right_one_opens(qtbot: QtBot, pin_file: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 29, 8, tzinfo=UTC))
    widget = pad(qtbot, pin_file, clock)
    assert enter(qtbot, widget, "1111").startswith("wrong:")
    with qtbot.waitSignal(widget.accepted, timeout=10_000) as signal:
        for digit in ADMIN_PIN:  # the admin's PIN also opens the guard's screens
            widget.press(digit)
        widget.submit()
    assert signal.args == ["guard"]
