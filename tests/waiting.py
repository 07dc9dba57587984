"""Waiting in tests for what another thread does: one helper, with a timeout, that fails the test clearly.

Nothing sleeps to let time pass: with a ``condition`` the predicate is checked each time the condition is
notified; where a thread offers nothing to wait on (a gpiozero mock pin's history, a scanner's
``connected``), the predicate is polled every couple of milliseconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

POLL_S = 0.002


def wait_for(
    predicate: Callable[[], T],
    timeout_s: float = 3.0,
    *,
    condition: threading.Condition | None = None,
    what: str | Callable[[], str] = "condition",
) -> T:
    """The first truthy value of ``predicate()``; the test fails after ``timeout_s`` naming ``what``.

    ``what`` may be a function, called only on failure (to show the state that was reached instead).
    """
    if condition is not None:
        with condition:
            value = condition.wait_for(predicate, timeout_s)
    else:
        deadline = time.monotonic() + timeout_s
        tick = threading.Event()  # never set: its timed wait is the poll interval
        while not (value := predicate()) and time.monotonic() < deadline:
            tick.wait(POLL_S)
    if not value:
        description = what() if callable(what) else what
        pytest.fail(f"{description} not reached within {timeout_s:g} s")
    return value
