"""Layer: hardware. The ``Camera`` protocol every camera backend implements, and small shared helpers.

A camera is opened, read in a loop by one thread (``FrameGrabber``), and closed. ``close()`` may be called
from another thread while a ``read()`` is blocked in the driver: implementations make that safe and make the
blocked read return or raise ``DeviceError`` as soon as the library allows, so a stalled camera can be
recovered. ``open()`` after ``close()`` opens the device again (the grabber's supervisor reopens a lost
camera this way); ``open()`` on an open camera does nothing.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

import numpy as np

from kiosk.config import parse_manual_setting
from kiosk.device import DeviceError
from kiosk.model import Gray

#: What ``read()`` returns: the grayscale frame at the configured size, and optionally the same scene larger.
FramePair = tuple[Gray, Gray | None]


class Camera(Protocol):
    """A source of grayscale frames. ``read`` raises ``DeviceError``; ``close`` is idempotent."""

    name: str

    def open(self) -> None: ...

    def read(self) -> FramePair:
        """The next frame: ``(gray, full)``; ``gray`` is 2-D ``uint8`` of the configured size."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class CameraBase:
    """Shared plumbing: ``with camera:`` opens it and closes it again."""

    name: str = "camera"

    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def manual_value(value: str, key: str) -> float | None:
    """``camera.<key>`` parsed by the config's own parser: None for ``"auto"``, else the number.

    A value that skipped validation (a config built in code) is a ``DeviceError`` naming the key.
    """
    try:
        return parse_manual_setting(value)
    except ValueError as exc:
        raise DeviceError(f"camera.{key}: {exc}") from None


def to_gray(image: np.ndarray) -> Gray:
    """A 2-D ``uint8`` view of a decoded image (gray, BGR or BGRA), converted with OpenCV when needed."""
    if image.ndim == 2:
        return np.ascontiguousarray(image, dtype=np.uint8)
    import cv2  # noqa: PLC0415 - OpenCV only where it is needed

    code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return np.ascontiguousarray(cv2.cvtColor(image, code), dtype=np.uint8)


def fit(gray: Gray, size: tuple[int, int]) -> FramePair:
    """``gray`` at ``size`` (width, height); the original is kept as ``full`` when it is a larger view.

    A larger image of the same aspect is what the decoder's main-stream fallbacks can use; anything else
    (smaller, or another shape) is only resized.
    """
    width, height = size
    h, w = gray.shape
    if (w, h) == (width, height):
        return gray, None
    import cv2  # noqa: PLC0415 - OpenCV only where it is needed

    small = np.ascontiguousarray(
        cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA), dtype=np.uint8
    )
    same_aspect = abs(h / w - height / width) <= 0.02
    return small, (gray if w > width and same_aspect else None)
