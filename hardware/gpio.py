"""Layer: hardware. Gate outputs through gpiozero: relay, green and red LEDs, buzzer, optional door sensor.

``make_gate(config)`` returns a ``GpioGate`` when the gate is enabled and GPIO works on this machine, and a
``NullGate`` with a plain reason otherwise (disabled, no pins, gpiozero not installed, no pin factory loads,
a pin refused) — the kiosk keeps scanning and recording either way. Tests pass gpiozero's ``MockFactory``
as ``pin_factory`` and read each pin's recorded history.

What each outcome does (defaults in ``GatePatterns``; every pattern runs in gpiozero's background blink
threads, so ``signal`` returns at once)::

    GRANTED      relay closed for unlock_s (one pulse)   green LED on for unlock_s        one short beep 0.15 s
    REFUSED      relay stays open                        red LED on for 2 s               two short beeps 0.15/0.15 s
    NEEDS_GUARD  relay stays open                        red + green blink together       one long beep 1 s
                                                         (amber) 0.25/0.25 s × 6 = 3 s

The beeps differ in count and length (one short, two short, one long) so a visitor who cannot see the
screen still tells them apart. A new signal supersedes the previous one: every output is switched off
first, which also ends an unlock still running — a refusal right after an admission locks the gate again
rather than letting the refused person walk through on the previous visitor's pulse.
"""

from __future__ import annotations

import logging
import threading
import warnings
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from kiosk.config import GateConfig
from kiosk.device import DeviceError, GateOutputs, GateState, NullGate
from kiosk.model import Outcome

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GatePatterns:
    """Timings of the light and sound patterns (seconds). The relay pulse length is ``GateConfig.unlock_s``."""

    beep_s: float = 0.15
    beep_gap_s: float = 0.15
    long_beep_s: float = 1.0
    refused_led_s: float = 2.0
    guard_blink_s: float = 0.25
    guard_blinks: int = 6

    def __post_init__(self) -> None:
        for name in ("beep_s", "beep_gap_s", "long_beep_s", "refused_led_s", "guard_blink_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"GatePatterns.{name} must be above 0")
        if self.guard_blinks < 1:
            raise ValueError("GatePatterns.guard_blinks must be at least 1")


DEFAULT_PATTERNS = GatePatterns()

_PIN_KEYS = ("relay_pin", "green_led_pin", "red_led_pin", "buzzer_pin", "door_sensor_pin")


def make_gate(
    config: GateConfig, *, pin_factory: Any = None, patterns: GatePatterns = DEFAULT_PATTERNS
) -> GateOutputs:
    """The gate outputs for this machine; never raises.

    ``pin_factory`` is a gpiozero pin factory (tests pass ``MockFactory()``); None uses gpiozero's default
    (``$GPIOZERO_PIN_FACTORY``, else lgpio, RPi.GPIO, pigpio, native).
    """
    if not config.enabled:
        log.info("gate outputs disabled in config ([gate] enabled = false)")
        return NullGate("gate outputs disabled in config")
    if not any(getattr(config, key) for key in _PIN_KEYS):
        return _no_outputs("gate enabled but no pins configured in [gate]")
    try:
        import gpiozero  # noqa: F401, PLC0415 - optional: a laptop runs without it
    except ImportError as exc:
        return _no_outputs(f"gpiozero is not installed ({exc})")
    if pin_factory is None:
        pin_factory, detail = _default_pin_factory()
        if pin_factory is None:
            return _no_outputs(f"no GPIO on this machine: {detail}")
    try:
        return GpioGate(config, pin_factory=pin_factory, patterns=patterns)
    except DeviceError as exc:
        return _no_outputs(str(exc))


def _no_outputs(reason: str) -> NullGate:
    log.warning("no gate outputs: %s; the kiosk keeps working without relay, LEDs and buzzer", reason)
    return NullGate(f"no gate outputs: {reason}")


def _default_pin_factory() -> tuple[Any, str]:
    """gpiozero's default pin factory, or None and why none loads (its fallback warnings become the reason)."""
    from gpiozero import Device  # noqa: PLC0415

    with warnings.catch_warnings(record=True) as caught:
        # gpiozero warns once per factory it falls back from; collect them into one log line instead.
        warnings.simplefilter("always")
        try:
            Device.ensure_pin_factory()
        except Exception as exc:  # any factory can fail in its own way (ImportError, OSError, RuntimeError)
            tried = "; ".join(str(w.message) for w in caught)
            return None, f"{exc}" + (f" ({tried})" if tried else "")
    for w in caught:
        log.info("gpiozero: %s", w.message)
    return Device.pin_factory, ""


class GpioGate:
    """Relay, LEDs, buzzer and door sensor on gpiozero devices. Implements ``kiosk.device.GateOutputs``.

    ``signal`` is called from the scan worker thread; ``close`` and ``door_open`` from any thread. A device
    call that raises puts the gate in ``GateState.FAULT`` (logged once) and the next good signal clears it.
    """

    def __init__(
        self, config: GateConfig, *, pin_factory: Any, patterns: GatePatterns = DEFAULT_PATTERNS
    ) -> None:
        from gpiozero import LED, Buzzer, DigitalInputDevice, DigitalOutputDevice  # noqa: PLC0415

        self._unlock_s = config.unlock_s
        self._patterns = patterns
        self._lock = threading.Lock()
        self._devices: list[Any] = []
        self._state = GateState.READY
        self._closed = False
        #: What went wrong last, for the status screen; empty while the gate works.
        self.reason = ""
        try:
            self._relay = self._add(
                config.relay_pin,
                lambda pin: DigitalOutputDevice(
                    pin,
                    active_high=config.relay_active_high,
                    initial_value=False,
                    pin_factory=pin_factory,
                ),
            )
            self._green = self._add(config.green_led_pin, lambda pin: LED(pin, pin_factory=pin_factory))
            self._red = self._add(config.red_led_pin, lambda pin: LED(pin, pin_factory=pin_factory))
            self._buzzer = self._add(config.buzzer_pin, lambda pin: Buzzer(pin, pin_factory=pin_factory))
            # Door sensor: a switch to ground, closed while the door is shut (so "active" means shut).
            self._door = self._add(
                config.door_sensor_pin,
                lambda pin: DigitalInputDevice(pin, pull_up=True, pin_factory=pin_factory),
            )
        except Exception as exc:  # gpiozero raises its own tree, OSError, or RuntimeError from a driver
            self._close_devices()
            raise DeviceError(f"gate outputs could not start: {type(exc).__name__}: {exc}") from exc

    def _add(self, pin: str, build: Any) -> Any:
        if not pin:
            return None
        device = build(int(pin))
        self._devices.append(device)
        return device

    def signal(self, outcome: Outcome) -> None:
        """Start the pattern for ``outcome`` and return at once. Called on the scan worker thread."""
        with self._lock:
            if self._closed:
                log.debug("gate closed; ignoring %s", outcome)
                return
            try:
                self._all_off()
                self._start(outcome)
            except Exception as exc:  # a failing pin must never take the scan loop down with it
                self._fault(f"{outcome} signal failed: {type(exc).__name__}: {exc}", exc)
                return
            if self._state is GateState.FAULT:
                log.info("gate outputs working again")
            self._state = GateState.READY
            self.reason = ""

    def _all_off(self) -> None:
        # off() also stops a running blink thread, which on its own would leave the device as it was.
        for device in (self._relay, self._green, self._red, self._buzzer):
            if device is not None:
                device.off()

    def _start(self, outcome: Outcome) -> None:
        p = self._patterns
        if outcome is Outcome.GRANTED:
            self._blink(self._relay, self._unlock_s, 0, 1)
            self._blink(self._green, self._unlock_s, 0, 1)
            self._blink(self._buzzer, p.beep_s, 0, 1)
        elif outcome is Outcome.REFUSED:
            self._blink(self._red, p.refused_led_s, 0, 1)
            self._blink(self._buzzer, p.beep_s, p.beep_gap_s, 2)
        else:
            self._blink(self._green, p.guard_blink_s, p.guard_blink_s, p.guard_blinks)
            self._blink(self._red, p.guard_blink_s, p.guard_blink_s, p.guard_blinks)
            self._blink(self._buzzer, p.long_beep_s, 0, 1)

    @staticmethod
    def _blink(device: Any, on_s: float, off_s: float, n: int) -> None:
        if device is not None:
            device.blink(on_time=on_s, off_time=off_s, n=n, background=True)

    def _fault(self, reason: str, exc: BaseException) -> None:
        if self._state is not GateState.FAULT:
            log.error("gate outputs fault: %s", reason, exc_info=exc)
        else:
            log.debug("gate outputs still failing: %s", reason)
        self._state = GateState.FAULT
        self.reason = reason

    def state(self) -> GateState:
        with self._lock:
            return GateState.NO_OUTPUTS if self._closed else self._state

    def door_open(self) -> bool | None:
        """True if the door (or turnstile) sensor reads open, False if shut, None without a sensor."""
        with self._lock:
            if self._door is None or self._closed:
                return None
            try:
                return not self._door.is_active
            except Exception as exc:  # a sensor read failure is a fault, not a crash
                self._fault(f"door sensor read failed: {type(exc).__name__}: {exc}", exc)
                return None

    def close(self) -> None:
        """Lock the gate, switch everything off and release the pins. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                # Fail secure: the relay is driven inactive before its pin is released to an input.
                self._all_off()
            except Exception as exc:
                log.warning("could not switch gate outputs off while closing: %s", exc)
            self._close_devices()

    def _close_devices(self) -> None:
        for device in reversed(self._devices):
            try:
                device.close()
            except Exception as exc:
                log.warning("could not close %r: %s", device, exc)
        self._devices.clear()

    def __enter__(self) -> GpioGate:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
