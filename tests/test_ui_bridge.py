"""The bridge between the scan worker and the screens (issue 8, item 1): decoding never on the GUI thread,
verdicts arriving on the GUI thread as signals, the preview scaled on its own thread and dropped (never
queued) while the screen has not painted, the backlog read off the GUI thread; and the demo run offscreen."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from hardware.camera import FrameGrabber, ScriptedCamera
from kiosk.clock import FakeClock
from kiosk.config import PolicyConfig
from kiosk.decode.options import DecoderOptions
from kiosk.demo import demo_now, render_code
from kiosk.device import NullGate
from kiosk.identity import DEMO_KEYRING
from kiosk.model import Direction, Outcome
from kiosk.pipeline import ScanPipeline
from kiosk.scanloop import ScanLoop
from kiosk.store import Store
from tests.ui_support import ui_context
from ui.bridge import PreviewPump, ScanBridge, StatusPoller, to_qimage
from ui.language import LanguageSwitcher
from ui.main_window import MainWindow
from ui.viewmodel import VerdictView

ROOT = Path(__file__).resolve().parents[1]
CCCD = "046090000321|191234567|Nguyễn Văn An|15031990|Nam|12 Lê Lợi, Huế|20042021"


class ThreadRecordingDecoder:
    """The real decoder, noting which thread each decode ran on."""

    def __init__(self, decoder: Any) -> None:
        self._decoder = decoder
        self.threads: set[threading.Thread] = set()

    def decode(self, *args: Any, **kwargs: Any) -> Any:
        self.threads.add(threading.current_thread())
        return self._decoder.decode(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._decoder, name)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(
        tmp_path / "kiosk.db", device_id="kiosk-test", location_code="DEMO-0001", privacy_notice_version="t"
    ) as opened:
        yield opened


def test_a_camera_code_reaches_the_result_screen_and_decoding_stays_off_the_gui_thread(
    qtbot: QtBot, qapp: Any, store: Store
) -> None:
    from kiosk.decode import Decoder

    languages = LanguageSwitcher(qapp)
    languages.set_language("vi")
    frame = render_code(CCCD.encode(), "paper")
    camera = ScriptedCamera(frames=[frame], period_s=0.02)
    context = ui_context(result_s=0.5)
    bridge = context.bridge
    window = MainWindow(context, languages)
    qtbot.addWidget(window)
    window.show()
    slot_threads: list[threading.Thread] = []
    bridge.decided.connect(lambda view: slot_threads.append(threading.current_thread()))
    clock = FakeClock(demo_now())
    with Decoder(DecoderOptions()) as real_decoder:
        decoder = ThreadRecordingDecoder(real_decoder)
        pipeline = ScanPipeline(
            store=store,
            policy=PolicyConfig(),
            direction=Direction.IN,
            keyring=DEMO_KEYRING,
            decode=decoder.decode,
        )
        with FrameGrabber(camera, lost_after_s=2.0, reopen_max_s=1.0) as grabber:
            loop = ScanLoop(
                frames=grabber,
                decoder=decoder,  # type: ignore[arg-type]
                pipeline=pipeline,
                gate=NullGate(),
                clock=clock,
                on_verdict=bridge.publish_verdict,
                on_hint=bridge.publish_hint,
            )
            with qtbot.waitSignal(window.verdict_shown, timeout=5000) as shown, loop:
                loop.start()
            view = shown.args[0]
    assert isinstance(view, VerdictView) and view.outcome is Outcome.GRANTED
    assert view.name == "Nguyễn V. A" and view.id_tail == "••••0321"
    assert window.result.word.text() == "HỢP LỆ"
    assert decoder.threads and threading.main_thread() not in decoder.threads
    assert slot_threads == [threading.main_thread()]  # the widgets hear it on the GUI thread
    qtbot.waitUntil(lambda: window.current is window.scan, timeout=3000)
    window.allow_close()
    languages.close()


class FakeFrames:
    """A frame source that hands out a new frame on every call."""

    def __init__(self) -> None:
        self.seq = 0
        self.threads: set[threading.Thread] = set()

    def latest(self, after_seq: int, timeout_s: float) -> Any:
        from kiosk.device import Frame

        self.threads.add(threading.current_thread())
        threading.Event().wait(0.002)  # a camera at ~500 frames/s
        self.seq += 1
        return Frame(gray=np.full((480, 640), self.seq % 256, np.uint8), seq=self.seq, captured_s=0.0)

    def status(self) -> Any:  # pragma: no cover - not used
        raise NotImplementedError


def test_preview_frames_are_scaled_on_the_worker_and_dropped_until_painted(qtbot: QtBot) -> None:
    bridge = ScanBridge()
    frames = FakeFrames()
    received: list[QImage] = []
    bridge.frame_ready.connect(received.append)
    pump = PreviewPump(frames, bridge, max_fps=1000)
    pump.set_target_size(320, 320)
    with pump:
        pump.start()
        qtbot.waitUntil(lambda: len(received) == 1, timeout=2000)
        qtbot.waitUntil(lambda: pump.dropped >= 20, timeout=2000)  # the screen has not painted: dropped
        assert len(received) == 1 and pump.sent == 1
        pump.frame_shown()
        qtbot.waitUntil(lambda: len(received) == 2, timeout=2000)
    assert (received[0].width(), received[0].height()) == (320, 240)  # aspect kept, fitted to the widget
    assert threading.main_thread() not in frames.threads


def test_to_qimage_owns_its_pixels() -> None:
    gray = np.arange(64 * 48, dtype=np.uint32).reshape(48, 64).astype(np.uint8)
    image = to_qimage(gray, 64, 48)
    del gray
    assert (image.width(), image.height()) == (64, 48)
    assert image.pixelColor(5, 0).red() == 5


def test_backlog_is_read_off_the_gui_thread_and_published_when_it_changes(qtbot: QtBot) -> None:
    bridge = ScanBridge()
    values = iter([3, 3, 4])
    threads: list[threading.Thread] = []
    seen: list[int] = []
    bridge.backlog_changed.connect(seen.append)

    def backlog() -> int:
        threads.append(threading.current_thread())
        return next(values, 4)

    with StatusPoller(backlog, bridge, period_s=0.01) as poller:
        poller.start()
        qtbot.waitUntil(lambda: seen == [3, 4], timeout=2000)
    assert threading.main_thread() not in threads


@pytest.mark.skipif(sys.platform != "linux", reason="the offscreen demo run is checked on Linux")
def test_kiosk_run_without_a_display_runs_the_demo_offscreen_and_writes_screenshots(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["KIOSK_CONFIG"] = str(tmp_path / "none.toml")
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    shots = tmp_path / "shots"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "run",
            "--camera",
            "demo",
            "--duration",
            "6",
            "--screenshots",
            str(shots),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "running offscreen" in result.stderr
    assert '"outcome": "granted"' in result.stdout  # one JSON line per verdict
    names = {p.name for p in shots.iterdir()}
    assert "live-scan-vi.png" in names and "live-result-granted-vi.png" in names


def test_emitting_signals_many_times_does_not_crash_the_interpreter() -> None:
    """PySide6 6.12.0 on Python 3.11 dropped a reference to True on every Signal.emit: the interpreter
    aborted (bool_dealloc) after about 1,500 emits, a minute of preview frames. Guard the pinned version."""
    import subprocess
    import sys

    code = (
        "from PySide6.QtCore import QCoreApplication, QObject, Signal\n"
        "app = QCoreApplication([])\n"
        "class O(QObject):\n"
        "    s = Signal(object)\n"
        "o = O()\n"
        "o.s.connect(lambda *a: None)\n"
        "for i in range(20000):\n"
        "    o.s.emit(i)\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-500:]


def test_sync_status_and_health_run_off_the_gui_thread(qtbot: QtBot) -> None:
    bridge = ScanBridge()
    states = iter([False, True, True])
    threads: list[threading.Thread] = []
    seen: list[bool] = []
    health_writes: list[threading.Thread] = []
    bridge.online_changed.connect(seen.append)

    def online() -> bool:
        threads.append(threading.current_thread())
        return next(states, True)

    with StatusPoller(
        lambda: 0,
        bridge,
        period_s=0.01,
        online=online,
        health=lambda: health_writes.append(threading.current_thread()),
        health_every_s=0.01,
    ) as poller:
        poller.start()
        qtbot.waitUntil(lambda: seen == [False, True] and len(health_writes) >= 2, timeout=2000)
    assert threading.main_thread() not in threads + health_writes


def test_a_failing_sync_status_reads_as_offline(qtbot: QtBot) -> None:
    bridge = ScanBridge()
    seen: list[bool] = []
    bridge.online_changed.connect(seen.append)

    def broken() -> bool:
        raise OSError("status file unreadable")

    poller = StatusPoller(lambda: 0, bridge, online=broken)
    poller.poll()
    qtbot.waitUntil(lambda: seen == [False], timeout=2000)
