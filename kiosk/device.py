"""Layer: core. The seams between the scan loop and the physical world, as protocols and value objects.

The core defines what it needs; ``hardware/`` implements it (cameras, 2D scanners, gate outputs, systemd).
Real fakes live beside the real devices (replay and demo cameras, gpiozero's MockFactory), never in the core.

::

    Camera ──read()──▶ FrameGrabber (thread, newest frame only, supervision) ──latest()──▶ ScanLoop
    Scanner ──payloads──▶ queue ─────────────────────────────────────────────────────────▶ ScanLoop
       └──status()──▶ ScannerStatus (running / failed with the reason, retried) ──▶ health, doctor, screen
    ScanLoop ──signal(outcome)──▶ GateOutputs (relay, LEDs, buzzer)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from kiosk.errors import DeviceError
from kiosk.model import Gray, Outcome

__all__ = [
    "CAMERA_BACKENDS",
    "SCANNER_BACKENDS",
    "Backend",
    "CameraState",
    "CameraStatus",
    "DeviceError",  # defined in kiosk.errors with the rest of the tree; re-exported for the device layer
    "Frame",
    "FrameSource",
    "GateOutputs",
    "GateState",
    "NullGate",
    "ScannerState",
    "ScannerStatus",
    "parse_camera_source",
]


@dataclass(frozen=True, slots=True)
class Backend:
    """A device back end as the configuration names it: ``name``, or ``name:ARGUMENT`` when it takes one."""

    name: str
    summary: str
    argument: str = ""  # what follows the colon (``DEVICE``, ``PATH``); empty: takes none
    argument_required: bool = False

    @property
    def usage(self) -> str:
        if not self.argument:
            return self.name
        return f"{self.name}:{self.argument}" if self.argument_required else f"{self.name}[:{self.argument}]"


#: The one registry of camera back ends: ``camera.source`` is validated against it at start-up and
#: ``hardware.camera.make_camera`` builds from it (a test keeps the builders and these names in step).
#: Test fakes (the scripted camera) are not here: nothing reaches them from the configuration.
CAMERA_BACKENDS: tuple[Backend, ...] = (
    Backend("auto", "a Pi camera module, else a USB webcam; each fallback is logged"),
    Backend("picamera2", "a Raspberry Pi camera module"),
    Backend("opencv", "a USB/V4L2 webcam by index or /dev/v4l/by-id/... path (default: the first)", "DEVICE"),
    Backend("replay", "a folder of images or a video file, replayed", "PATH", argument_required=True),
    Backend("demo", "generated visitors holding up codes of every kind"),
)

#: The one registry of 2D scanner back ends: name → the ``[scanner]`` key that names its device (empty: not
#: fitted). ``hardware.scanner.make_scanners`` builds one per configured key, in this order.
SCANNER_BACKENDS: Mapping[str, str] = {"serial": "serial_port", "hid": "hid_device"}


def parse_camera_source(source: str) -> tuple[Backend, str]:
    """``camera.source`` → (back end, argument); ``ValueError`` naming the accepted forms otherwise."""
    name, colon, argument = source.strip().partition(":")
    for backend in CAMERA_BACKENDS:
        if backend.name != name:
            continue
        if colon and not backend.argument:
            break
        if backend.argument_required and not argument:
            break
        return backend, argument
    allowed = ", ".join(b.usage for b in CAMERA_BACKENDS)
    raise ValueError(f"{source!r} is not a camera source; allowed: {allowed}")


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One camera frame: a grayscale preview (what is decoded) and, optionally, the full-resolution view."""

    gray: Gray
    seq: int  # increases by one per frame grabbed, across reopens (so a reader's after_seq stays valid)
    captured_s: float  # monotonic seconds when the frame arrived
    full: Gray | None = None  # a camera's main stream (same scene, larger), used only by decode fallbacks


class CameraState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    LOST = "lost"  # silent or failing: being reopened with back-off
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class CameraStatus:
    state: CameraState
    fps: float  # measured frame rate over the last second or so
    detail: str = ""  # what went wrong, for the screen and the log
    reopen_attempts: int = 0


class FrameSource(Protocol):
    """What the scan loop reads frames from (``hardware.camera.FrameGrabber``)."""

    def latest(self, after_seq: int, timeout_s: float) -> Frame | None:
        """The newest frame with ``seq > after_seq``, waiting up to ``timeout_s``; None if none came."""
        ...

    def status(self) -> CameraStatus: ...


class ScannerState(StrEnum):
    STARTING = "starting"  # the reader thread is opening the device for the first time
    RUNNING = "running"  # open and being read
    FAILED = "failed"  # cannot be opened or read; ``detail`` says why; retried with capped back-off
    STOPPED = "stopped"  # not started, or closed


@dataclass(frozen=True, slots=True)
class ScannerStatus:
    """A 2D scanner's state, for the health report, ``kiosk doctor`` and the status screen."""

    name: str  # e.g. "serial scanner /dev/ttyACM0"
    state: ScannerState
    detail: str = ""  # when failed: what went wrong and what to do ("no such device — check the cable …")
    failures: int = 0  # failed opens or reads since it last ran
    retry_in_s: float = 0.0  # the back-off before the next attempt, when failed


class GateState(StrEnum):
    READY = "ready"
    NO_OUTPUTS = "no_outputs"  # no GPIO on this machine, or disabled in config: the kiosk still works
    FAULT = "fault"


class GateOutputs(Protocol):
    """Relay, LEDs and buzzer. ``signal`` returns at once; pulses and patterns run in the background."""

    def signal(self, outcome: Outcome) -> None: ...

    def state(self) -> GateState: ...

    def close(self) -> None: ...


class NullGate:
    """No gate outputs: every signal is ignored (a laptop, a kiosk without a relay, tests)."""

    def __init__(self, reason: str = "no gate outputs configured") -> None:
        self.reason = reason
        self.signals: deque[Outcome] = deque(maxlen=100)  # the last few, for tests and the status screen

    def signal(self, outcome: Outcome) -> None:
        self.signals.append(outcome)

    def state(self) -> GateState:
        return GateState.NO_OUTPUTS

    def close(self) -> None:
        return None
