"""Layer: ui. ``UiContext``: everything the touchscreen app needs, built and handed down by the composition
root (``app/gui.py``). No global settings object, no singletons (Picard's lesson): a screen gets what it
uses from here, and a test builds a context with only the parts it needs.

The guard console (``ui.guard_console.GuardConsole(context, parent)``) and the admin screens
(``ui.admin.AdminScreen(context, parent)``) take the same context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.clock import Clock
from kiosk.config import Config
from kiosk.device import FrameSource, GateOutputs
from kiosk.model import Direction

if TYPE_CHECKING:
    from kiosk.identity import IdentityKeyring
    from kiosk.pipeline import ScanPipeline
    from kiosk.scanloop import ScanLoop
    from kiosk.store import Store
    from ui.bridge import ScanBridge


@dataclass(frozen=True)
class UiContext:
    """What ``run_app`` and every screen are given. Only ``config``, ``bridge`` and ``clock`` are required.

    The store, pipeline, loop, grabber and gate belong to the scan worker: a screen must not call them on
    the GUI thread when that could wait on the disk or a device (STYLE 16); it hands such work to a thread.
    """

    config: Config
    bridge: ScanBridge
    clock: Clock
    frames: FrameSource | None = None  # the frame grabber (newest frame, camera status)
    store: Store | None = None
    pipeline: ScanPipeline | None = None
    loop: ScanLoop | None = None
    gate: GateOutputs | None = None
    keyring: IdentityKeyring | None = None
    scanners: tuple[Any, ...] = ()
    #: the PIN vault's file (``kiosk.pin.PinVault.open``); None: PINs not configured
    pin_path: Path | None = None
    #: systemd notifications (READY once the first preview frame is shown, WATCHDOG while healthy)
    notifier: Any = None
    #: how many visits wait to be sent; called off the GUI thread (a database query)
    backlog: Callable[[], int] | None = None
    #: housekeeping the app runs off the GUI thread every minute (the WAL checkpoint)
    housekeeping: Callable[[], object] | None = None
    #: admin settings (``kiosk.config.ADMIN_KEYS``) that the environment or ``--set`` flags fix, over the
    #: admin settings file: the settings page says so
    overridden: tuple[str, ...] = ()
    #: whether the sync worker's last word was "online" (its status file); called off the GUI thread
    online: Callable[[], bool] | None = None
    #: writes the app's health file for the sync worker's heartbeats, every 15 s off the GUI thread
    health: Callable[[], object] | None = None
    #: ``kiosk doctor``'s checks as (name, OK/WARN/FAIL, message) for the admin's status page; called off
    #: the GUI thread; must not open the devices the running gate holds (camera, GPIO, scanners)
    status_checks: Callable[[], list[tuple[str, str, str]]] | None = None
    #: the newest warnings and errors the kiosk logged (time, text), newest first, for the status page
    recent_errors: Callable[[], list[str]] | None = None
    #: demo / development: stop after this many seconds; write screenshots into this folder
    duration_s: float | None = None
    screenshot_dir: Path | None = None
    #: a window of this size instead of full screen (offscreen runs, development)
    window_size: tuple[int, int] | None = None


def gate_direction(context: UiContext) -> Direction:
    """The way the gate counts now: the pipeline's (the guard may switch a gate configured both ways), or the
    configured one (IN for a gate both ways) where there is no pipeline (screenshots, tests)."""
    if context.pipeline is not None:
        return context.pipeline.direction
    configured = context.config.device.direction
    return Direction.IN if configured is Direction.BOTH else configured
