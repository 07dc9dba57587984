"""Shared pieces for the touchscreen app's tests: a context with only what a screen needs."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from kiosk.clock import FakeClock
from kiosk.config import Config, UiConfig
from ui.bridge import ScanBridge
from ui.context import UiContext


def ui_context(*, result_s: float = 0.5, kiosk_mode: bool = True, **fields: object) -> UiContext:
    config = dataclasses.replace(Config(), ui=UiConfig(result_s=result_s, kiosk_mode=kiosk_mode))
    return UiContext(
        config=config,
        bridge=ScanBridge(),
        clock=FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC)),
        **fields,  # type: ignore[arg-type]
    )
