"""The camera contract, run against every backend that can load here, and ``make_camera``'s choices.

The V4L2 and Pi camera backends carry the ``hardware`` marker: they run only with ``-m hardware`` (on the
device), and even then skip with the reason when the device is missing. The shipped test double
(``ScriptedCamera``) keeps the same contract as the real cameras. The picamera2 backend is additionally
unit-tested against a small fake ``picamera2`` module.
"""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import types
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import pytest

from hardware.camera import (
    Camera,
    DemoCamera,
    DemoScript,
    OpenCVCamera,
    Picamera2Camera,
    ReplayCamera,
    ScriptedCamera,
    make_camera,
)
from hardware.camera import factory as factory_module
from hardware.camera.base import manual_value
from hardware.camera.opencv import parse_device
from hardware.camera.picamera2 import main_size
from kiosk.config import CameraConfig, parse_manual_setting
from kiosk.decode import Decoder, DecoderOptions
from kiosk.demo import DemoSigner
from kiosk.device import DeviceError

W, H = 160, 120
CONFIG = CameraConfig(width=W, height=H, fps=10.0, replay_realtime=False)
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def signer() -> DemoSigner:
    return DemoSigner.create(NOW)


def write_images(folder: Path, count: int = 3, size: tuple[int, int] = (W, H)) -> list[int]:
    """``count`` flat grey PNGs named in order; returns their grey levels."""
    folder.mkdir(parents=True, exist_ok=True)
    levels = [40 + 60 * i for i in range(count)]
    for i, level in enumerate(levels):
        cv2.imwrite(str(folder / f"frame{i:03d}.png"), np.full((size[1], size[0]), level, np.uint8))
    return levels


def write_video(path: Path, count: int = 4, size: tuple[int, int] = (W, H)) -> bool:
    """A short MJPG/AVI; False when this OpenCV build cannot write it."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, size, isColor=False)
    try:
        if not writer.isOpened():
            return False
        for i in range(count):
            writer.write(np.full((size[1], size[0]), 40 + (50 * i) % 200, np.uint8))
    finally:
        writer.release()
    return path.is_file() and path.stat().st_size > 0


def v4l2_skip_reason() -> str | None:
    """Why the OpenCV backend cannot be contract-tested here (None: ``$KIOSK_TEST_CAMERA`` names a device)."""
    import os

    device = os.environ.get("KIOSK_TEST_CAMERA")
    if device:
        return None
    hint = "(set KIOSK_TEST_CAMERA=/dev/videoN to run it on a webcam or a fed loopback device)"
    if not Path("/sys/module/v4l2loopback").exists():
        present = "present" if list(Path("/dev").glob("video*")) else "absent"
        return f"no virtual V4L2 device: v4l2loopback is not loaded, /dev/video* {present} {hint}"
    return f"v4l2loopback is loaded but nothing here feeds it {hint}"


def picamera2_skip_reason() -> str | None:
    try:
        import picamera2  # noqa: F401
    except ImportError:
        return "picamera2 not installed (Raspberry Pi only)"
    return None


BACKENDS = [
    "replay-images",
    "replay-video",
    "demo",
    "scripted",
    "opencv-file",
    # Run only with -m hardware, on a machine that has the device (see tests/conftest.py).
    pytest.param("opencv", marks=pytest.mark.hardware("a V4L2 camera (KIOSK_TEST_CAMERA=/dev/videoN)")),
    pytest.param("picamera2", marks=pytest.mark.hardware("a Pi camera module and python3-picamera2")),
]


@pytest.fixture(params=BACKENDS)
def make(request: pytest.FixtureRequest, tmp_path: Path, signer: DemoSigner) -> Callable[[], Camera]:
    """A function that builds a fresh, unopened camera of the backend under test."""
    backend: str = request.param
    if backend == "replay-images":
        write_images(tmp_path / "frames")
        return lambda: ReplayCamera(tmp_path / "frames", CONFIG, realtime=False)
    if backend == "replay-video":
        if not write_video(tmp_path / "clip.avi"):
            pytest.skip("this OpenCV build cannot write MJPG/AVI")
        return lambda: ReplayCamera(tmp_path / "clip.avi", CONFIG, realtime=False)
    if backend == "opencv-file":
        # OpenCVCamera's own code (open, controls, read, close from another thread) on a long MJPG file
        # standing in for a device: only the V4L2 driver underneath is not exercised.
        clip = tmp_path / "device.avi"
        if not write_video(clip, count=400, size=(W * 2, H * 2)):
            pytest.skip("this OpenCV build cannot write MJPG/AVI")
        return lambda: OpenCVCamera(str(clip), CONFIG, api_preference=cv2.CAP_FFMPEG)
    if backend == "demo":
        return lambda: DemoCamera(CONFIG, signer=signer, now=NOW, realtime=False)
    if backend == "scripted":
        return lambda: ScriptedCamera(size=(W, H), period_s=0.001)
    if backend == "opencv":
        reason = v4l2_skip_reason()
        if reason:
            pytest.skip(reason)
        import os

        return lambda: OpenCVCamera(parse_device(os.environ["KIOSK_TEST_CAMERA"]), CONFIG)
    reason = picamera2_skip_reason()
    if reason:
        pytest.skip(reason)
    return lambda: Picamera2Camera(CONFIG)


# -- the contract -----------------------------------------------------------------------------------------


def test_contract_open_read_close(make: Callable[[], Camera]) -> None:
    camera = make()
    assert isinstance(camera.name, str) and camera.name
    camera.open()
    camera.open()  # opening an open camera does nothing
    try:
        for _ in range(3):
            gray, full = camera.read()
            assert gray.dtype == np.uint8 and gray.ndim == 2
            assert gray.shape == (H, W)
            assert gray.flags.c_contiguous
            if full is not None:
                assert full.dtype == np.uint8 and full.ndim == 2
                assert full.shape[1] >= W and abs(full.shape[0] / full.shape[1] - H / W) <= 0.02
    finally:
        camera.close()


def test_contract_close_is_idempotent_and_read_after_close_raises(make: Callable[[], Camera]) -> None:
    camera = make()
    with pytest.raises(DeviceError):
        camera.read()  # never opened
    camera.open()
    camera.read()
    camera.close()
    camera.close()
    with pytest.raises(DeviceError):
        camera.read()


def test_contract_context_manager_opens_and_closes(make: Callable[[], Camera]) -> None:
    with make() as camera:
        gray, _ = camera.read()
        assert gray.shape == (H, W)
    with pytest.raises(DeviceError):
        camera.read()


def test_contract_reopens_after_close(make: Callable[[], Camera]) -> None:
    """The grabber's supervisor reopens a lost camera on the same object."""
    camera = make()
    with camera:
        camera.read()
    with camera:
        gray, _ = camera.read()
        assert gray.shape == (H, W)


def test_contract_close_from_another_thread_ends_a_reading_loop(make: Callable[[], Camera]) -> None:
    camera = make()
    camera.open()
    first_read = threading.Event()
    outcome: list[BaseException] = []

    def loop() -> None:
        try:
            while True:
                camera.read()
                first_read.set()
        except DeviceError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=loop)
    reader.start()
    assert first_read.wait(5.0)
    camera.close()
    reader.join(5.0)
    assert not reader.is_alive() and outcome, "a read after close() must raise DeviceError"


# -- replay -----------------------------------------------------------------------------------------------


def test_replay_folder_loops_in_name_order(tmp_path: Path) -> None:
    levels = write_images(tmp_path)
    with ReplayCamera(tmp_path, CONFIG, realtime=False) as camera:
        seen = [int(camera.read()[0][0, 0]) for _ in range(7)]
        assert camera.loops == 2
    assert seen == [*levels, *levels, levels[0]]


def test_replay_video_loops(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    if not write_video(path, count=3):
        pytest.skip("this OpenCV build cannot write MJPG/AVI")
    with ReplayCamera(path, CONFIG, realtime=False) as camera:
        seen = [int(camera.read()[0].mean()) for _ in range(7)]
        assert camera.loops == 2
    # JPEG rounding: compare the levels loosely.
    assert [round(v / 10) for v in seen[:3]] == [round(v / 10) for v in seen[3:6]]
    assert abs(seen[6] - seen[0]) <= 2


def test_replay_without_loop_ends_with_a_device_error(tmp_path: Path) -> None:
    write_images(tmp_path, count=2)
    with ReplayCamera(tmp_path, CONFIG, realtime=False, loop=False) as camera:
        camera.read()
        camera.read()
        with pytest.raises(DeviceError, match="end of replay"):
            camera.read()


class FakeTime:
    """A monotonic clock and a sleep that only moves it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_replay_paces_in_real_time_without_drift(tmp_path: Path) -> None:
    write_images(tmp_path)
    fake = FakeTime()
    camera = ReplayCamera(tmp_path, CONFIG, realtime=True, clock=fake.clock, sleep=fake.sleep)
    with camera:
        camera.read()  # frame 0 is due at once
        assert fake.sleeps == []
        for _ in range(4):
            camera.read()
        assert fake.sleeps == pytest.approx([0.1] * 4)
        fake.now += 0.25  # a slow consumer: the next two frames are already due
        camera.read()
        camera.read()
        assert len(fake.sleeps) == 4
        camera.read()  # frame 7 is due at 0.7 s; the clock is at 0.65 s
        assert fake.sleeps[-1] == pytest.approx(0.05)
        assert fake.now - 100.0 == pytest.approx(0.7)


def test_replay_as_fast_as_possible_never_sleeps(tmp_path: Path) -> None:
    write_images(tmp_path)
    fake = FakeTime()
    with ReplayCamera(tmp_path, CONFIG, realtime=False, clock=fake.clock, sleep=fake.sleep) as camera:
        for _ in range(10):
            camera.read()
    assert fake.sleeps == []


def test_replay_of_larger_images_gives_the_original_as_full(tmp_path: Path) -> None:
    write_images(tmp_path, count=1, size=(W * 4, H * 4))
    with ReplayCamera(tmp_path, CONFIG, realtime=False) as camera:
        gray, full = camera.read()
    assert gray.shape == (H, W)
    assert full is not None and full.shape == (H * 4, W * 4)


def test_replay_of_an_empty_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(DeviceError, match="no images"):
        ReplayCamera(tmp_path, CONFIG).open()


# -- demo -------------------------------------------------------------------------------------------------


def test_demo_shows_decodable_codes_of_several_kinds_with_empty_frames_between(signer: DemoSigner) -> None:
    script = DemoScript(empty_s=0.25, enter_s=0.25, hold_s=0.5, leave_s=0.25)
    config = CameraConfig(fps=8.0)
    camera = DemoCamera(config, signer=signer, now=NOW, script=script, realtime=False, seed=7)
    timeline: list[bytes | None] = []  # per frame: the payload read, or None when nothing was read
    with camera, Decoder(DecoderOptions(fallbacks=False)) as decoder:
        for _ in range(camera.frames_per_visit * len(camera.cases)):
            gray, _ = camera.read()
            assert gray.shape == (480, 640)
            symbols = decoder.decode(gray)
            timeline.append(symbols[0].raw if symbols else None)
    payloads = {p for p in timeline if p is not None}
    labels = {case.label for case in camera.cases if case.payload in payloads}
    kinds = {
        "CCCD": any(label.startswith("CCCD") for label in labels),
        "PC-Covid (dark mode)": "PC-Covid personal QR, masked, dark mode" in labels,
        "BHYT (tilted)": "health-insurance card, tilted" in labels,
        "DCC": any("DCC" in label for label in labels),
        "location": "a premises (location) QR" in labels,
        "garbage": "a shop's Wi-Fi code" in labels,
    }
    assert all(kinds.values()), kinds
    assert len(labels) >= 12, f"only {len(labels)} of {len(camera.cases)} visitors were readable"
    # Between two visitors the scene is empty: a change of payload always passes through unreadable frames.
    for earlier, later in itertools.pairwise(timeline):
        if earlier is not None and later is not None:
            assert earlier == later, "a visitor must leave before the next one appears"
    assert timeline[: int(script.empty_s * config.fps)] == [None] * int(script.empty_s * config.fps)


def test_demo_scene_is_reproducible_from_its_seed(signer: DemoSigner) -> None:
    a = DemoCamera(CONFIG, signer=signer, now=NOW, seed=3, realtime=False)
    b = DemoCamera(CONFIG, signer=signer, now=NOW, seed=3, realtime=False)
    index = a.frames_per_visit + 12  # mid-visit
    frame_a, case_a = a.frame_at(index)
    frame_b, case_b = b.frame_at(index)
    assert np.array_equal(frame_a, frame_b) and case_a == case_b and case_a is not None


def test_demo_paces_in_real_time(signer: DemoSigner) -> None:
    fake = FakeTime()
    camera = DemoCamera(CONFIG, signer=signer, now=NOW, clock=fake.clock, sleep=fake.sleep)
    with camera:
        for _ in range(4):
            camera.read()
    assert fake.sleeps == pytest.approx([0.1] * 3)


# -- the shipped test double -----------------------------------------------------------------------------


def test_scripted_camera_plays_its_frames_in_order_and_make_camera_never_builds_it() -> None:
    frames = [np.full((H, W), level, np.uint8) for level in (10, 20, 30)]
    with ScriptedCamera(frames=frames, period_s=0.0) as camera:
        assert [int(camera.read()[0][0, 0]) for _ in range(4)] == [10, 20, 30, 10]
        camera.set_mode("raise")
        with pytest.raises(DeviceError, match="unplugged"):
            camera.read()
    assert camera.opens == 1 and camera.reads == 4
    with pytest.raises(DeviceError, match="is not a camera source"):
        make_camera(CameraConfig(source="scripted"))


def test_exposure_and_focus_are_read_by_the_config_parser_and_refused_as_device_errors() -> None:
    assert parse_manual_setting(" Auto ") is None and parse_manual_setting("") is None
    assert parse_manual_setting("0") == 0.0 and parse_manual_setting("1500") == 1500.0
    assert manual_value("auto", "focus") is None and manual_value("2.5", "focus") == 2.5
    for bad in ("bright", "-2", "inf", "nan"):
        with pytest.raises(ValueError, match="'auto', or a number of 0 or more"):
            parse_manual_setting(bad)
        # A config built in code skips validation: the camera says which key is wrong.
        with pytest.raises(DeviceError, match=r"^camera\.exposure: expected 'auto', or a number"):
            manual_value(bad, "exposure")


# -- make_camera ------------------------------------------------------------------------------------------


def test_make_camera_rejects_an_unknown_source_listing_the_allowed_ones() -> None:
    with pytest.raises(DeviceError, match=r"auto, picamera2, opencv\[:DEVICE\], replay:PATH, demo"):
        make_camera(CameraConfig(source="webcam"))
    with pytest.raises(DeviceError, match="is not a camera source"):
        make_camera(CameraConfig(source="replay:"))


def test_make_camera_replay_of_a_missing_path_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DeviceError, match=str(missing)):
        make_camera(CameraConfig(source=f"replay:{missing}"))


def test_make_camera_builds_replay_and_demo_when_asked(tmp_path: Path) -> None:
    write_images(tmp_path)
    with make_camera(CameraConfig(source=f"replay:{tmp_path}", width=W, height=H)) as camera:
        assert isinstance(camera, ReplayCamera)
        assert camera.read()[0].shape == (H, W)  # already open
    with make_camera(CameraConfig(source="demo", width=W, height=H)) as camera:
        assert isinstance(camera, DemoCamera)


def test_make_camera_explicit_opencv_on_a_missing_device_fails(tmp_path: Path) -> None:
    missing = tmp_path / "usb-Nothing-video-index0"
    with pytest.raises(DeviceError, match=str(missing)):
        make_camera(CameraConfig(source=f"opencv:{missing}"))
    if Path("/dev/video63").exists():
        pytest.skip("/dev/video63 exists on this machine")
    with pytest.raises(DeviceError, match="cannot open"):
        make_camera(CameraConfig(source="opencv:63"))


def test_make_camera_auto_without_any_camera_lists_what_it_tried(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import picamera2 → ImportError
    monkeypatch.setattr(factory_module, "default_device", lambda: str(tmp_path / "no-webcam"))
    with (
        caplog.at_level(logging.WARNING, logger="hardware.camera.factory"),
        pytest.raises(DeviceError) as error,
    ):
        make_camera(CameraConfig(source="auto"))
    message = str(error.value)
    assert "picamera2" in message and "opencv" in message and "no-webcam" in message
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "picamera2" in warnings[0].getMessage() and "trying the next" in warnings[0].getMessage()


def test_make_camera_auto_never_falls_back_to_a_fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write_images(tmp_path)
    monkeypatch.setitem(sys.modules, "picamera2", None)
    monkeypatch.setattr(factory_module, "default_device", lambda: str(tmp_path / "no-webcam"))
    monkeypatch.chdir(tmp_path)  # even with images right here, auto must not replay them
    with pytest.raises(DeviceError, match="no camera found"):
        make_camera(CameraConfig(source="auto"))


# -- picamera2, against a fake module ---------------------------------------------------------------------


class FakeRequest:
    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.released = False

    def make_array(self, name: str) -> np.ndarray:
        return self.arrays[name].copy()

    def release(self) -> None:
        self.released = True


class FakePicamera2:
    """Just enough of ``picamera2.Picamera2`` for the backend: two YUV420 streams, controls, jobs."""

    cameras: ClassVar[list[dict[str, Any]]] = [{"Model": "imx708"}]
    instances: ClassVar[list[FakePicamera2]] = []
    stall = False

    def __init__(self, camera_num: int = 0) -> None:
        self.camera_num = camera_num
        self.camera_controls: dict[str, Any] = {"AfMode": (0, 2, 0), "AfRange": (0, 2, 0), "FrameRate": ()}
        self.controls: dict[str, Any] = {}
        self.config: dict[str, Any] = {}
        self.started = self.closed = False
        self.requests: list[FakeRequest] = []
        FakePicamera2.instances.append(self)

    @staticmethod
    def global_camera_info() -> list[dict[str, Any]]:
        return FakePicamera2.cameras

    def create_video_configuration(self, **kwargs: Any) -> dict[str, Any]:
        return kwargs

    def configure(self, config: dict[str, Any]) -> None:
        self.config = config

    def set_controls(self, controls: dict[str, Any]) -> None:
        self.controls.update(controls)

    def start(self) -> None:
        self.started = True

    def capture_request(self, wait: bool | None = None) -> str:
        assert wait is False, "a blocking capture_request cannot time out"
        return "job"

    def wait(self, job: str, timeout: float | None = None) -> FakeRequest:
        assert timeout is not None
        if FakePicamera2.stall:
            raise TimeoutError
        arrays = {}
        for name in ("lores", "main"):
            w, h = self.config[name]["size"]
            yuv = np.full((h * 3 // 2, w), 128, np.uint8)
            yuv[:h] = 77  # the Y plane
            arrays[name] = yuv
        request = FakeRequest(arrays)
        self.requests.append(request)
        return request

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_picamera2(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakePicamera2]]:
    module = types.ModuleType("picamera2")
    module.Picamera2 = FakePicamera2  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picamera2", module)
    monkeypatch.setitem(sys.modules, "libcamera", None)  # use the numeric enum values
    FakePicamera2.instances = []
    FakePicamera2.stall = False
    FakePicamera2.cameras = [{"Model": "imx708"}]
    yield FakePicamera2


def test_picamera2_reads_the_lores_y_plane_and_the_main_stream(fake_picamera2: type[FakePicamera2]) -> None:
    with Picamera2Camera(CameraConfig(width=640, height=480, fps=30)) as camera:
        gray, full = camera.read()
        cam = fake_picamera2.instances[-1]
    assert gray.shape == (480, 640) and gray.dtype == np.uint8 and (gray == 77).all()
    assert full is not None and full.shape == (1080, 1440) and (full == 77).all()
    assert cam.config["lores"] == {"size": (640, 480), "format": "YUV420"}
    assert cam.config["main"]["size"] == main_size(640, 480) == (1440, 1080)
    assert cam.controls == {"AfMode": 2, "AfRange": 2}  # continuous, full range
    assert all(r.released for r in cam.requests)
    assert cam.closed and not cam.started


def test_picamera2_fixed_focus_module_gets_no_af_controls(fake_picamera2: type[FakePicamera2]) -> None:
    camera = Picamera2Camera(CONFIG)
    original = FakePicamera2.__init__

    def no_af(self: FakePicamera2, camera_num: int = 0) -> None:
        original(self, camera_num)
        self.camera_controls = {"FrameRate": ()}

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FakePicamera2, "__init__", no_af)
        with camera:
            camera.read()
    assert fake_picamera2.instances[-1].controls == {} and not camera.autofocus


def test_picamera2_timeout_and_missing_module_are_device_errors(fake_picamera2: type[FakePicamera2]) -> None:
    with Picamera2Camera(CONFIG) as camera:
        fake_picamera2.stall = True
        with pytest.raises(DeviceError, match="no frame"):
            camera.read()
    fake_picamera2.cameras = []
    with pytest.raises(DeviceError, match="no camera module"):
        Picamera2Camera(CONFIG).open()


def test_make_camera_auto_prefers_picamera2(fake_picamera2: type[FakePicamera2]) -> None:
    with make_camera(CameraConfig(source="auto", width=W, height=H)) as camera:
        assert isinstance(camera, Picamera2Camera)
        assert camera.read()[0].shape == (H, W)
    with make_camera(CameraConfig(source="picamera2", width=W, height=H)) as camera:
        assert isinstance(camera, Picamera2Camera)


def test_make_camera_explicit_picamera2_without_the_module_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)
    with pytest.raises(DeviceError, match="picamera2 is not installed"):
        make_camera(CameraConfig(source="picamera2"))
