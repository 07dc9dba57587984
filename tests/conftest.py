"""Test-wide settings: Hypothesis profiles, and the EU DCC suite's per-country table in the summary."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# The normal run (make test, CI) fuzzes each property 600 times; `make soak` (KIOSK_SOAK=1) 20,000 times.
settings.register_profile("default", max_examples=600)
settings.register_profile("soak", max_examples=20_000)
settings.load_profile("soak" if os.environ.get("KIOSK_SOAK") == "1" else "default")


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
