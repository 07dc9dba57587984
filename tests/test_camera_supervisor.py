"""FrameGrabber: newest-frame hand-over, measured rate, and supervision of a camera that fails or stalls.

The camera here is ``hardware.camera.ScriptedCamera``, the shipped fake: it produces frames, raises, or
blocks in ``read`` until closed (what a USB camera does when it is pulled out mid-read). Waiting uses the
grabber's status callback and conditions with timeouts; nothing sleeps to let time pass.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from hardware.camera import FrameGrabber, ReplayCamera, ScriptedCamera
from kiosk.config import CameraConfig
from kiosk.device import CameraState, CameraStatus, Frame
from tests.waiting import wait_for


class StatusLog:
    """Collects the grabber's status reports; tests wait on it with a timeout."""

    def __init__(self) -> None:
        self.events: list[tuple[float, CameraStatus]] = []
        self._cond = threading.Condition()

    def __call__(self, status: CameraStatus) -> None:
        with self._cond:
            self.events.append((time.monotonic(), status))
            self._cond.notify_all()

    def mark(self) -> int:
        with self._cond:
            return len(self.events)

    def wait_for(
        self, since: int, predicate: Callable[[CameraStatus], bool], timeout_s: float
    ) -> tuple[float, CameraStatus]:
        """The first report after index ``since`` that satisfies ``predicate``; fails after the timeout."""

        def first() -> tuple[float, CameraStatus] | None:
            return next(((when, s) for when, s in self.events[since:] if predicate(s)), None)

        def seen() -> str:
            return f"a matching camera status (saw {[s.state.value for _, s in self.events[since:]]})"

        return wait_for(first, timeout_s, condition=self._cond, what=seen)


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def next_frame(grabber: FrameGrabber, after_seq: int, timeout_s: float = 5.0) -> Frame:
    frame = grabber.latest(after_seq, timeout_s)
    assert frame is not None, f"no frame after seq {after_seq} within {timeout_s} s"
    return frame


def test_newest_frame_only_a_slow_consumer_sees_gaps_never_a_queue() -> None:
    camera = ScriptedCamera(period_s=0.001)
    with FrameGrabber(camera, lost_after_s=2.0, reopen_max_s=1.0) as grabber:
        seqs = []
        seq = 0
        for _ in range(15):
            frame = next_frame(grabber, seq)
            seqs.append(frame.seq)
            seq = frame.seq
            # The consumer's "work": long enough for the producer to overwrite the frame several times.
            time.sleep(0.02)
            newest = next_frame(grabber, 0)
            assert newest.seq >= seq
        later = next_frame(grabber, seq)
    assert all(b > a for a, b in itertools.pairwise(seqs))
    gaps = [b - a for a, b in itertools.pairwise(seqs)]
    assert max(gaps) > 1, "a slow consumer must skip stale frames"
    # After a pause the consumer gets the newest frame, not the one right after what it last saw.
    assert later.seq > seq + 1


def test_latest_returns_none_after_the_timeout_and_frames_carry_monotonic_capture_times() -> None:
    camera = ScriptedCamera(period_s=0.002)
    with FrameGrabber(camera, lost_after_s=2.0, reopen_max_s=1.0) as grabber:
        first = next_frame(grabber, 0)
        camera.set_mode("stall")
        camera.wait_until_blocked()
        stalled = next_frame(grabber, 0)  # the newest frame before the stall
        assert grabber.latest(stalled.seq, 0.05) is None
        assert first.captured_s <= stalled.captured_s <= time.monotonic()
        assert first.gray.dtype == np.uint8 and first.gray.ndim == 2


def test_fps_is_measured_roughly_right() -> None:
    camera = ScriptedCamera(period_s=0.02)  # at most 50 frames per second
    with FrameGrabber(camera, lost_after_s=2.0, reopen_max_s=1.0) as grabber:
        first = next_frame(grabber, 0)
        frame = first
        while frame.captured_s - first.captured_s < 1.2:
            frame = next_frame(grabber, frame.seq)
        status = grabber.status()
    assert status.state is CameraState.RUNNING
    # The wait timeouts of the fake add a little to each interval on a loaded machine; never above 50.
    assert 25.0 <= status.fps <= 52.0, status.fps


def test_status_goes_starting_running_stopped_and_stop_is_idempotent() -> None:
    log = StatusLog()
    camera = ScriptedCamera()
    grabber = FrameGrabber(camera, lost_after_s=1.0, reopen_max_s=1.0, on_status=log)
    assert grabber.status().state is CameraState.STOPPED
    grabber.start()
    grabber.start()
    log.wait_for(0, lambda s: s.state is CameraState.RUNNING, 5.0)
    grabber.stop()
    grabber.close()
    states = [s.state for _, s in log.events]
    assert states == [CameraState.STARTING, CameraState.RUNNING, CameraState.STOPPED]
    assert grabber.latest(10**9, 0.01) is None


def test_a_camera_that_cannot_open_is_lost_with_the_reason_and_retried_with_capped_back_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hardware.camera.grabber")
    log = StatusLog()
    camera = ScriptedCamera()
    camera.set_mode("raise")
    with FrameGrabber(camera, lost_after_s=0.3, reopen_max_s=0.1, reopen_min_s=0.02, on_status=log):
        _, lost = log.wait_for(0, lambda s: s.state is CameraState.LOST, 3.0)
        assert "unplugged" in lost.detail
        when_3, _ = log.wait_for(0, lambda s: s.reopen_attempts >= 3, 3.0)
        when_6, _ = log.wait_for(0, lambda s: s.reopen_attempts >= 6, 3.0)
        # Back-off 0.02, 0.04, 0.08, then capped at 0.1: three attempts at the cap take about 0.3 s, not more.
        assert when_6 - when_3 < 1.5
        mark = log.mark()
        camera.set_mode("ok")
        _, running = log.wait_for(mark, lambda s: s.state is CameraState.RUNNING, 5.0)
    assert running.reopen_attempts == 0 and running.detail == ""
    # One log line per transition, however many reopen attempts: a lost camera must not flood the journal.
    transitions = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert [m.split(": ")[1].split(" ")[0] for m in transitions] == ["starting", "lost", "running", "stopped"]


def test_a_listener_that_raises_does_not_stop_supervision() -> None:
    calls: list[CameraStatus] = []

    def broken(status: CameraStatus) -> None:
        calls.append(status)
        raise RuntimeError("listener bug")

    camera = ScriptedCamera()
    with FrameGrabber(camera, lost_after_s=0.3, reopen_max_s=0.1, on_status=broken) as grabber:
        seq = next_frame(grabber, 0).seq
        camera.set_mode("raise")
        camera.set_mode("ok")
        next_frame(grabber, seq)
    assert calls


def test_a_read_hung_in_the_driver_keeps_the_camera_lost_until_it_returns() -> None:
    log = StatusLog()
    camera = ScriptedCamera()
    with FrameGrabber(camera, lost_after_s=0.2, reopen_max_s=0.1, on_status=log) as grabber:
        seq = next_frame(grabber, 0).seq
        mark = log.mark()
        camera.set_mode("hang")
        log.wait_for(mark, lambda s: "hung" in s.detail, 3.0)
        opens = camera.opens
        mark = log.mark()
        camera.set_mode("ok")  # the driver finally returns
        log.wait_for(mark, lambda s: s.state is CameraState.RUNNING, 5.0)
        next_frame(grabber, seq)
    assert camera.opens == opens + 1, "the camera must not be reopened while a read is still inside it"


def test_unplug_50_cycles_lost_within_3s_frames_within_5s_no_leaks() -> None:
    """The camera raises (odd cycles) or stalls (even cycles) for a while, then comes back, 50 times."""
    threads_before = threading.active_count()
    fds_before = fd_count()
    log = StatusLog()
    camera = ScriptedCamera(period_s=0.005)
    lost_s: list[float] = []
    back_s: list[float] = []
    grabber = FrameGrabber(camera, lost_after_s=0.25, reopen_max_s=0.2, reopen_min_s=0.02, on_status=log)
    with grabber:
        seq = next_frame(grabber, 0).seq
        for cycle in range(50):
            mode = "raise" if cycle % 2 == 0 else "stall"
            mark = log.mark()
            failed_at = time.monotonic()
            camera.set_mode(mode)
            when, lost = log.wait_for(mark, lambda s: s.state is CameraState.LOST, 3.0)
            lost_s.append(when - failed_at)
            assert lost.detail, "the screen needs a reason"
            # Stay failed through at least one more reopen attempt, so the back-off path runs every cycle.
            log.wait_for(mark, lambda s: s.reopen_attempts >= 2, 3.0)
            assert grabber.status().state is CameraState.LOST
            mark = log.mark()
            recovered_at = time.monotonic()
            camera.set_mode("ok")
            log.wait_for(mark, lambda s: s.state is CameraState.RUNNING, 5.0)
            frame = next_frame(grabber, seq, timeout_s=5.0)
            back_s.append(time.monotonic() - recovered_at)
            assert frame.seq > seq and frame.captured_s >= recovered_at
            seq = frame.seq
        status = grabber.status()
    assert status.state is CameraState.RUNNING
    assert max(lost_s) < 3.0 and max(back_s) < 5.0
    assert grabber.status().state is CameraState.STOPPED
    # The grabber joins its threads on close; the fake holds no descriptors, so any growth is a leak.
    assert threading.active_count() == threads_before
    assert fd_count() <= fds_before
    logging.getLogger(__name__).info(  # shown with -o log_cli=true --log-cli-level=INFO
        f"unplug: 50 cycles, worst lost {max(lost_s):.3f} s, worst frames-again {max(back_s):.3f} s, "
        f"threads {threads_before}->{threading.active_count()}, fds {fds_before}->{fd_count()}"
    )


def test_grabber_over_a_real_replay_camera_paced_in_real_time(tmp_path: Path) -> None:
    import cv2

    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((48, 64), 50 * i, np.uint8))
    config = CameraConfig(width=64, height=48, fps=50.0)
    threads_before = threading.active_count()
    camera = ReplayCamera(tmp_path, config, realtime=True)
    with FrameGrabber(camera, lost_after_s=1.0, reopen_max_s=1.0) as grabber:
        frame = next_frame(grabber, 0)
        while frame.seq < 30:
            frame = next_frame(grabber, frame.seq)
        status = grabber.status()
    assert status.state is CameraState.RUNNING and 35.0 <= status.fps <= 55.0, status
    assert frame.gray.shape == (48, 64)
    assert threading.active_count() == threads_before
