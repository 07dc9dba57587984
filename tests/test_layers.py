"""The core stays light: importing it must not pull in OpenCV, Qt, GPIO or HTTP libraries."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("cv2", "PySide6", "gpiozero", "picamera2", "requests", "openpyxl", "segno", "pyzbar")


def test_core_import_pulls_in_no_heavy_or_hardware_library() -> None:
    code = (
        "import sys, app.cli, app.build, kiosk.pipeline, kiosk.payloads, kiosk.decode, kiosk.store, kiosk.policy,"
        " kiosk.export, kiosk.demo, kiosk.config\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
