"""What every test of the ``kiosk`` command line sets up: no KIOSK_* variables from the machine, no
/etc/kiosk, a config file of the test's own, and ``tmp_path`` as the working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def isolate_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_text: str = "") -> Path:
    """Clear KIOSK_* variables, point $KIOSK_CONFIG at a new config file holding ``config_text``, and
    change into ``tmp_path``. Returns the config file."""
    for name in list(os.environ):
        if name.startswith("KIOSK_"):
            monkeypatch.delenv(name)
    config = tmp_path / ("kiosk.toml" if config_text else "empty.toml")
    config.write_text(config_text, encoding="utf-8")
    monkeypatch.setenv("KIOSK_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    return config
