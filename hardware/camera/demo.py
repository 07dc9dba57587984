"""Layer: hardware. A generated camera scene: visitors' codes appear, are held still, and leave.

Each visitor from ``kiosk.demo.demo_cases`` (valid and invalid CCCD, PC-Covid QR, BHYT, DCC, a location
code, a Wi-Fi code) is drawn in its style (paper, phone, dark mode, tilted, blurred, glare) by
``kiosk.demo.render_code``, then moved: it slides and fades in with motion blur, is held for about a second
with a little hand shake, slides out, and the empty scene stays for a moment before the next visitor.
The scene is a pure function of the seed and the frame number, so a run can be reproduced exactly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from hardware.camera.base import CameraBase, FramePair
from kiosk.config import CameraConfig
from kiosk.demo import DemoCase, DemoSigner, demo_cases, demo_now, render_code
from kiosk.device import DeviceError
from kiosk.model import Gray

BACKGROUND = 90  # the grey of render_code's background, so a code's frame and an empty frame match


@dataclass(frozen=True, slots=True)
class DemoScript:
    """How long each phase of one visitor lasts, in seconds of scene time."""

    empty_s: float = 1.0
    enter_s: float = 0.3
    hold_s: float = 1.0
    leave_s: float = 0.3

    @property
    def visit_s(self) -> float:
        return self.empty_s + self.enter_s + self.hold_s + self.leave_s


class DemoCamera(CameraBase):
    """The generated scene at the configured size and rate. ``visitor`` is who is in view (or None)."""

    def __init__(
        self,
        config: CameraConfig,
        *,
        signer: DemoSigner | None = None,
        now: datetime | None = None,
        seed: int = 0,
        script: DemoScript | None = None,
        realtime: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.config = config
        self.name = "demo"
        self.seed = seed
        self.script = script or DemoScript()
        self.realtime = realtime
        when = now or demo_now()
        self.cases: list[DemoCase] = demo_cases(signer or DemoSigner.create(when), when)
        self.visitor: DemoCase | None = None
        self._clock = clock
        self._wake = threading.Event()
        self._sleep = sleep if sleep is not None else self._wake.wait
        self._lock = threading.Lock()
        self._open = False
        self._index = 0
        self._start_s = 0.0
        self._codes: dict[int, Gray] = {}  # rendered once per visitor: segno + OpenCV take milliseconds

    @property
    def frames_per_visit(self) -> int:
        return max(1, round(self.script.visit_s * self.config.fps))

    def open(self) -> None:
        with self._lock:
            if self._open:
                return
            self._wake.clear()
            self._index = 0
            self._start_s = self._clock()
            self._open = True

    def read(self) -> FramePair:
        if self.realtime:
            with self._lock:
                due = self._start_s + self._index / self.config.fps
            delay = due - self._clock()
            if delay > 0:
                self._sleep(delay)
        with self._lock:
            if not self._open:
                raise DeviceError("demo: camera is closed")
            index = self._index
            self._index += 1
        gray, visitor = self.frame_at(index)
        self.visitor = visitor
        return gray, None

    def frame_at(self, index: int) -> tuple[Gray, DemoCase | None]:
        """Frame ``index`` of the scene and the visitor in it (None while the scene is empty)."""
        import cv2  # noqa: PLC0415 - OpenCV only where it is needed

        width, height = self.config.width, self.config.height
        rng = np.random.default_rng((self.seed, index))
        fps = self.config.fps
        visit, local = divmod(index, self.frames_per_visit)
        t = local / fps
        s = self.script
        case_no = visit % len(self.cases)
        sensor_noise = rng.integers(0, 25, size=(height, width), dtype=np.uint8)
        if t < s.empty_s:
            return np.ascontiguousarray(sensor_noise + np.uint8(BACKGROUND)), None
        t -= s.empty_s
        code = self._code(case_no)
        # Where the code is and how visible: slide from one side, hold, slide out the other way.
        direction = 1.0 if visit % 2 == 0 else -1.0
        if t < s.enter_s:
            progress = t / s.enter_s if s.enter_s else 1.0
            offset, alpha = (1.0 - progress) * 0.6, progress
            speed = 0.6 / max(s.enter_s, 1e-3) / fps
        elif t < s.enter_s + s.hold_s:
            offset, alpha, speed = 0.0, 1.0, 0.0
        else:
            progress = (t - s.enter_s - s.hold_s) / s.leave_s if s.leave_s else 1.0
            offset, alpha = -progress * 0.6, 1.0 - progress
            speed = 0.6 / max(s.leave_s, 1e-3) / fps
        shake = rng.normal(0.0, 1.2, size=2)  # a hand is never perfectly still
        dx = direction * offset * width + shake[0]
        dy = shake[1]
        matrix = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
        moved: Any = cv2.warpAffine(code, matrix, (width, height), borderValue=BACKGROUND)
        blur_px = int(abs(speed) * width)
        if blur_px >= 2:
            moved = _motion_blur(moved, min(blur_px, 31), cv2)
        background = sensor_noise + np.uint8(BACKGROUND)
        blend = moved.astype(np.float32) * alpha + background.astype(np.float32) * (1.0 - alpha)
        # Sensor noise on top of the shown code as well: a code on screen is never noiseless.
        noisy = blend + rng.normal(0.0, 2.0, size=blend.shape)
        gray = np.clip(noisy, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(gray), (self.cases[case_no] if alpha > 0.5 else None)

    def _code(self, case_no: int) -> Gray:
        code = self._codes.get(case_no)
        if code is None:
            case = self.cases[case_no]
            size = (self.config.width, self.config.height)
            code = render_code(case.payload, case.style, size=size, seed=self.seed + case_no)
            self._codes[case_no] = code
        return code

    def close(self) -> None:
        """Idempotent; safe from any thread (a pacing sleep is cut short)."""
        self._wake.set()
        with self._lock:
            self._open = False


def _motion_blur(image: Gray, length: int, cv2: Any) -> Gray:
    """Horizontal motion blur over ``length`` pixels (the code moves sideways)."""
    kernel = np.zeros((1, length), dtype=np.float32)
    kernel[0, :] = 1.0 / length
    return np.ascontiguousarray(cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REPLICATE))
