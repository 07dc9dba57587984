"""Browser tests: Debian's ``chromium`` driven by Playwright for Python (``executable_path``: Playwright never
downloads a browser here), headless, with the flags this machine's closed network needs.

``chromium_or_skip()`` returns the browser's path or skips the test with what to install;
``launch(playwright)`` starts it. Pages come from a real ``kiosk-server serve`` (tests/server_support.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

#: Without the background-networking flags Chromium keeps trying hosts this machine cannot reach.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def chromium_or_skip() -> Path:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return Path(found)
    pytest.skip(
        "browser test: Debian's chromium is not installed (apt-get install chromium; make test does it as root)"
    )


def launch(playwright: Any) -> Any:
    """A headless Chromium (``playwright.chromium.launch``) from the system's binary."""
    return playwright.chromium.launch(
        executable_path=str(chromium_or_skip()), headless=True, args=list(CHROMIUM_ARGS)
    )
