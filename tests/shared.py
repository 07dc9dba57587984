"""Locate ../shared (reference data beside the project); tests skip cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def shared_dir() -> Path | None:
    """The shared data folder: ``$KIOSK_SHARED_DIR`` or ``../shared`` beside the checkout."""
    env = os.environ.get("KIOSK_SHARED_DIR")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared"
    return path if path.is_dir() else None


def require_shared(sub: str) -> Path:
    """Return ``shared/<sub>`` or skip the calling test when it is not on this machine."""
    base = shared_dir()
    if base is None or not (base / sub).exists():
        pytest.skip(f"shared data {sub!r} not present (set KIOSK_SHARED_DIR)")
    return base / sub
