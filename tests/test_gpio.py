"""Gate outputs on gpiozero's MockFactory: the recorded pin history for each outcome, polarity, the door
sensor, faults, and every way of ending up with "no gate outputs"."""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator

import pytest

pytest.importorskip("gpiozero")

from gpiozero import Device
from gpiozero.exc import BadPinFactory, PinFactoryFallback
from gpiozero.pins.mock import MockFactory, MockPin

from hardware.gpio import GatePatterns, GpioGate, make_gate
from kiosk.config import GateConfig
from kiosk.device import GateState, NullGate
from kiosk.model import Outcome
from tests.waiting import wait_for

RELAY, GREEN, RED, BUZZER, DOOR = 17, 22, 23, 24, 25
UNLOCK_S = 0.05
# Short but distinct timings so the whole file runs in about a second; lengths are asserted as lower bounds
# (a background wait never ends early), with generous upper bounds for a loaded CI machine.
PATTERNS = GatePatterns(
    beep_s=0.02, beep_gap_s=0.02, long_beep_s=0.3, refused_led_s=0.08, guard_blink_s=0.02, guard_blinks=3
)
SLACK_S = 0.005  # timer granularity
LATE_S = 1.0


def config(**overrides: object) -> GateConfig:
    values: dict[str, object] = {
        "enabled": True,
        "relay_pin": str(RELAY),
        "green_led_pin": str(GREEN),
        "red_led_pin": str(RED),
        "buzzer_pin": str(BUZZER),
        "door_sensor_pin": str(DOOR),
        "unlock_s": UNLOCK_S,
    }
    values.update(overrides)
    return GateConfig(**values)  # type: ignore[arg-type]


class History:
    """A pin's recorded changes from now on: states and how long each previous state lasted."""

    def __init__(self, pin: MockPin) -> None:
        self.pin = pin
        self.start = len(pin.states)

    def states(self) -> list[bool]:
        return [bool(s.state) for s in self.pin.states[self.start :]]

    def held_s(self) -> list[float]:
        """How long each recorded state lasted before the next change (one fewer than ``states``)."""
        return [s.timestamp for s in self.pin.states[self.start + 1 :]]

    def wait(self, count: int) -> list[bool]:
        wait_for(lambda: len(self.states()) >= count)
        return self.states()


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.reset()


@pytest.fixture
def gate(factory: MockFactory) -> Iterator[GpioGate]:
    gate = make_gate(config(), pin_factory=factory, patterns=PATTERNS)
    assert isinstance(gate, GpioGate)
    with gate:
        yield gate


def test_outputs_start_off_and_ready(gate: GpioGate, factory: MockFactory) -> None:
    assert gate.state() is GateState.READY
    for pin in (RELAY, GREEN, RED, BUZZER):
        assert factory.pin(pin).function == "output"
        assert factory.pin(pin).state is False


def test_granted_pulses_relay_and_green_for_unlock_s_with_one_short_beep(
    gate: GpioGate, factory: MockFactory
) -> None:
    relay, green, red, buzzer = (History(factory.pin(p)) for p in (RELAY, GREEN, RED, BUZZER))
    gate.signal(Outcome.GRANTED)

    assert relay.wait(2) == [True, False]
    assert UNLOCK_S - SLACK_S <= relay.held_s()[0] < UNLOCK_S + LATE_S
    assert green.wait(2) == [True, False]
    assert UNLOCK_S - SLACK_S <= green.held_s()[0] < UNLOCK_S + LATE_S
    assert buzzer.wait(2) == [True, False]
    assert PATTERNS.beep_s - SLACK_S <= buzzer.held_s()[0] < PATTERNS.long_beep_s
    assert red.states() == []


def test_refused_lights_red_and_beeps_twice_and_never_touches_the_relay(
    gate: GpioGate, factory: MockFactory
) -> None:
    relay, green, red, buzzer = (History(factory.pin(p)) for p in (RELAY, GREEN, RED, BUZZER))
    gate.signal(Outcome.REFUSED)

    assert red.wait(2) == [True, False]
    assert red.held_s()[0] >= PATTERNS.refused_led_s - SLACK_S
    assert buzzer.wait(4) == [True, False, True, False]
    on1, gap, on2 = buzzer.held_s()
    assert min(on1, on2) >= PATTERNS.beep_s - SLACK_S
    assert max(on1, on2) < PATTERNS.long_beep_s
    assert gap >= PATTERNS.beep_gap_s - SLACK_S
    assert relay.states() == [] and green.states() == []


def test_needs_guard_blinks_amber_with_one_long_beep(gate: GpioGate, factory: MockFactory) -> None:
    relay, green, red, buzzer = (History(factory.pin(p)) for p in (RELAY, GREEN, RED, BUZZER))
    gate.signal(Outcome.NEEDS_GUARD)

    blinks = [True, False] * PATTERNS.guard_blinks
    assert green.wait(len(blinks)) == blinks
    assert red.wait(len(blinks)) == blinks
    assert buzzer.wait(2) == [True, False]
    assert buzzer.held_s()[0] >= PATTERNS.long_beep_s - SLACK_S
    assert relay.states() == []


def test_the_three_buzzer_patterns_are_distinct(gate: GpioGate, factory: MockFactory) -> None:
    heard: dict[Outcome, tuple[int, bool]] = {}
    for outcome, changes in ((Outcome.GRANTED, 2), (Outcome.REFUSED, 4), (Outcome.NEEDS_GUARD, 2)):
        buzzer = History(factory.pin(BUZZER))
        gate.signal(outcome)
        buzzer.wait(changes)
        long = buzzer.held_s()[0] >= PATTERNS.long_beep_s - SLACK_S
        heard[outcome] = (buzzer.states().count(True), long)
    assert heard == {
        Outcome.GRANTED: (1, False),
        Outcome.REFUSED: (2, False),
        Outcome.NEEDS_GUARD: (1, True),
    }


def test_relay_polarity_active_low(factory: MockFactory) -> None:
    relay_pin = factory.pin(RELAY)
    with make_gate(config(relay_active_high=False), pin_factory=factory, patterns=PATTERNS) as gate:
        # Inactive (locked) is a high pin for an active-low relay module, from the moment it is claimed.
        assert relay_pin.state is True
        relay = History(relay_pin)
        gate.signal(Outcome.GRANTED)
        assert relay.wait(2) == [False, True]
        assert relay.held_s()[0] >= UNLOCK_S - SLACK_S
    # Fail secure on close: still inactive when the pin is released.
    assert relay.states()[-1] is True


def test_a_new_signal_supersedes_the_running_pattern(factory: MockFactory) -> None:
    slow = GatePatterns(beep_s=0.02, beep_gap_s=0.02, guard_blink_s=30, guard_blinks=10, long_beep_s=30)
    with make_gate(config(unlock_s=30), pin_factory=factory, patterns=slow) as gate:
        relay, green, buzzer = (History(factory.pin(p)) for p in (RELAY, GREEN, BUZZER))
        gate.signal(Outcome.GRANTED)
        relay.wait(1)
        buzzer.wait(1)  # both background patterns have begun
        gate.signal(Outcome.REFUSED)
        # signal() switches everything off before returning: the 30 s unlock ended at once.
        assert relay.states() == [True, False]
        assert relay.held_s()[0] < LATE_S
        assert green.wait(2) == [True, False]
        assert buzzer.wait(6) == [True, False, True, False, True, False]  # granted's beep, refused's two

        buzzer = History(factory.pin(BUZZER))
        gate.signal(Outcome.NEEDS_GUARD)
        buzzer.wait(1)
        gate.signal(Outcome.GRANTED)
        # The 30 s guard beep was cut off, and the granted short beep followed.
        assert buzzer.wait(4) == [True, False, True, False]
        assert buzzer.held_s()[0] < LATE_S
        assert buzzer.held_s()[2] < LATE_S


def test_door_sensor_reads_open_and_shut(gate: GpioGate, factory: MockFactory) -> None:
    door = factory.pin(DOOR)
    door.drive_low()  # the switch to ground closes while the door is shut
    assert gate.door_open() is False
    door.drive_high()
    assert gate.door_open() is True


def test_no_door_sensor_reads_none(factory: MockFactory) -> None:
    with make_gate(config(door_sensor_pin=""), pin_factory=factory) as gate:
        assert gate.door_open() is None


def test_only_some_outputs_wired(factory: MockFactory) -> None:
    with make_gate(
        config(green_led_pin="", buzzer_pin="", door_sensor_pin=""), pin_factory=factory, patterns=PATTERNS
    ) as gate:
        relay, red = History(factory.pin(RELAY)), History(factory.pin(RED))
        gate.signal(Outcome.GRANTED)
        assert relay.wait(2) == [True, False]
        gate.signal(Outcome.NEEDS_GUARD)
        assert red.wait(2 * PATTERNS.guard_blinks) == [True, False] * PATTERNS.guard_blinks
        assert gate.state() is GateState.READY


def test_close_is_idempotent_releases_pins_and_ignores_later_signals(factory: MockFactory) -> None:
    gate = make_gate(config(), pin_factory=factory, patterns=PATTERNS)
    assert isinstance(gate, GpioGate)
    gate.close()
    gate.close()
    assert gate.state() is GateState.NO_OUTPUTS
    assert gate.door_open() is None
    relay = History(factory.pin(RELAY))
    gate.signal(Outcome.GRANTED)
    assert relay.states() == []
    # The pins are free again: a second gate can claim them.
    with make_gate(config(), pin_factory=factory) as again:
        assert again.state() is GateState.READY


class FlakyPin(MockPin):
    """A MockPin whose writes fail while ``broken`` (a shorted or vanished GPIO line)."""

    broken = False

    def _set_state(self, value: bool) -> None:
        if self.broken:
            raise OSError(5, "Input/output error")
        super()._set_state(value)


def test_a_failing_pin_is_a_fault_not_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    factory = MockFactory(pin_class=FlakyPin)
    try:
        with make_gate(config(), pin_factory=factory, patterns=PATTERNS) as gate:
            pin = factory.pin(BUZZER)
            assert isinstance(pin, FlakyPin)
            pin.broken = True
            with caplog.at_level(logging.DEBUG, logger="hardware.gpio"):
                gate.signal(Outcome.GRANTED)
                gate.signal(Outcome.REFUSED)
            assert gate.state() is GateState.FAULT
            assert "Input/output error" in gate.reason
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert len(errors) == 1  # logged once, not once per visitor

            pin.broken = False
            relay = History(factory.pin(RELAY))
            gate.signal(Outcome.GRANTED)
            assert gate.state() is GateState.READY
            assert gate.reason == ""
            assert relay.wait(2) == [True, False]
    finally:
        factory.reset()


def test_a_pin_claimed_twice_gives_no_outputs_with_the_reason(factory: MockFactory) -> None:
    gate = make_gate(config(buzzer_pin=str(RELAY)), pin_factory=factory)
    assert isinstance(gate, NullGate)
    assert gate.state() is GateState.NO_OUTPUTS
    assert "could not start" in gate.reason
    # The devices claimed before the failure were released.
    with make_gate(config(), pin_factory=factory) as again:
        assert again.state() is GateState.READY


def test_disabled_config_gives_a_null_gate_with_a_reason() -> None:
    gate = make_gate(GateConfig(enabled=False, relay_pin=str(RELAY)))
    assert isinstance(gate, NullGate)
    assert gate.state() is GateState.NO_OUTPUTS
    assert "disabled" in gate.reason


def test_enabled_without_pins_gives_no_outputs() -> None:
    gate = make_gate(GateConfig(enabled=True), pin_factory=MockFactory())
    assert isinstance(gate, NullGate)
    assert "no pins" in gate.reason


def test_without_gpiozero_installed_gives_no_outputs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "gpiozero", None)  # makes `import gpiozero` raise ImportError
    with caplog.at_level(logging.WARNING, logger="hardware.gpio"):
        gate = make_gate(config())
    assert isinstance(gate, NullGate)
    assert "gpiozero is not installed" in gate.reason
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_no_gpio_on_this_machine_gives_no_outputs_and_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_factory_loads() -> object:
        # What gpiozero does on a laptop: one warning per factory it falls back from, then BadPinFactory.
        warnings.warn(PinFactoryFallback("Falling back from lgpio: No module named 'lgpio'"), stacklevel=1)
        warnings.warn(
            PinFactoryFallback("Falling back from native: unable to locate Pi revision"), stacklevel=1
        )
        raise BadPinFactory("Unable to load any default pin factory!")

    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setattr(Device, "_default_pin_factory", staticmethod(no_factory_loads))
    with caplog.at_level(logging.WARNING, logger="hardware.gpio"):
        gate = make_gate(config())  # pytest turns warnings into errors: none may escape
    assert isinstance(gate, NullGate)
    assert gate.state() is GateState.NO_OUTPUTS
    assert gate.reason.startswith("no gate outputs: no GPIO on this machine")
    assert "lgpio" in gate.reason and "Unable to load any default pin factory" in gate.reason
    assert len(caplog.records) == 1


def test_an_unknown_named_pin_factory_gives_no_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "no-such-factory")
    gate = make_gate(config())
    assert isinstance(gate, NullGate)
    assert "no-such-factory" in gate.reason


def test_the_default_pin_factory_is_used_when_none_is_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    with make_gate(config(), patterns=PATTERNS) as gate:
        assert isinstance(gate, GpioGate)
        factory = Device.pin_factory
        assert isinstance(factory, MockFactory)
        relay = History(factory.pin(RELAY))
        gate.signal(Outcome.GRANTED)
        assert relay.wait(2) == [True, False]
    factory.reset()


@pytest.mark.parametrize("field", ["beep_s", "long_beep_s", "refused_led_s", "guard_blink_s"])
def test_patterns_must_have_positive_timings(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        GatePatterns(**{field: 0})  # type: ignore[arg-type]
