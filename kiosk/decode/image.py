"""Layer: core. Reading an image file into the grayscale array the decoder takes (OpenCV, lazily)."""

from __future__ import annotations

import importlib
from os import PathLike

import numpy as np
import numpy.typing as npt

from kiosk.errors import DecodeError


def load_gray(path: str | PathLike[str]) -> npt.NDArray[np.uint8]:
    """Read an image file as a 2-D ``uint8`` grayscale array; unreadable → ``DecodeError`` naming it."""
    try:
        # Imported here, not at module level: the core must not pull OpenCV in at import time.
        cv2 = importlib.import_module("cv2")
    except ImportError as exc:
        raise DecodeError(f"cannot read {path}: OpenCV is not installed") from exc
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise DecodeError(f"cannot read image {path}: {exc.strerror or exc}") from exc
    # imdecode of a byte buffer (not imread) so non-ASCII paths work and errors are not just a None.
    img = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if data.size else None
    if img is None:
        raise DecodeError(f"cannot read image {path}: not a supported image file")
    gray: npt.NDArray[np.uint8] = np.ascontiguousarray(img, dtype=np.uint8)
    return gray
