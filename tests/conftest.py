"""Test-wide settings: Hypothesis profiles, hardware tests skipped off the device, and the EU DCC suite's
per-country table in the summary."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Qt tests (tests/test_ui_*.py, pytest-qt) run without a display, here and in CI.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The normal run (make test, CI) fuzzes each property 600 times; `make soak` (KIOSK_SOAK=1) 20,000 times.
settings.register_profile("default", max_examples=600)
settings.register_profile("soak", max_examples=20_000)
settings.load_profile("soak" if os.environ.get("KIOSK_SOAK") == "1" else "default")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``hardware`` tests, saying what they need, unless the run selects them with ``-m hardware``.

    Skipped rather than deselected, so the summary shows that they did not run and why. A test names what
    it needs as the marker's argument: ``@pytest.mark.hardware("a V4L2 camera")``. On the device,
    ``pytest -m hardware`` runs them (and only them); each still skips with its own reason if its device is
    missing.
    """
    if "hardware" in (config.getoption("markexpr") or ""):
        return
    for item in items:
        marker = item.get_closest_marker("hardware")
        if marker is not None:
            needs = marker.args[0] if marker.args else "a real Raspberry Pi device"
            item.add_marker(
                pytest.mark.skip(reason=f"hardware test: needs {needs}; run with -m hardware on the device")
            )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print pass counts per country when the DCC test-suite cases ran in this session."""
    import sys

    module = sys.modules.get("tests.test_dcc_testdata")
    if module is None or not module.all_outcomes.cache_info().currsize:
        return
    table = module.country_table(module.all_outcomes())
    if table:
        terminalreporter.section("EU DCC test suite: verdicts per country")
        terminalreporter.write_line(table)


#: Opens a ``Store`` on the test's database (or another path) with test defaults; see ``open_store``.
OpenStore = Callable[..., Any]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "kiosk.db"


@pytest.fixture
def open_store(db_path: Path) -> Iterator[OpenStore]:
    """Open real stores on ``db_path`` (or another path); every one is closed at the end."""
    from kiosk.store import Store

    opened: list[Store] = []

    def _open(path: Path | None = None, **kwargs: Any) -> Store:
        kwargs.setdefault("device_id", "dev-1")
        kwargs.setdefault("location_code", "HUE-001")
        kwargs.setdefault("privacy_notice_version", "2025-01")
        kwargs.setdefault("disk_free", lambda _d: 10_000 * 1024 * 1024)
        store = Store.open(path or db_path, **kwargs)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()
