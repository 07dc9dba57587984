"""The scan loop with real decoding, parsing, policy and storage, and a scripted frame source."""

from __future__ import annotations

import threading
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from kiosk.clock import FakeClock
from kiosk.config import PolicyConfig
from kiosk.decode import Decoder
from kiosk.demo import CCCD_AN, CCCD_BINH, render_code
from kiosk.device import CameraState, CameraStatus, Frame, NullGate
from kiosk.hints import Hint, aiming_hint
from kiosk.identity import DEMO_KEYRING
from kiosk.model import Direction, Outcome, Reason
from kiosk.pipeline import ScanPipeline
from kiosk.scanloop import LoopVerdict, PresenceFilter, ScanLoop
from kiosk.store import Store

EMPTY = np.full((480, 640), 120, np.uint8)


class ScriptedFrames:
    """A FrameSource that hands over the frames it is given, one per ``latest`` call, stamped by the clock."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self._pending: deque[tuple[np.ndarray, float]] = deque()
        self._seq = 0

    def push(self, *frames: np.ndarray) -> None:
        """Frames arrive now (their capture time is the clock's current monotonic time)."""
        self._pending.extend((f, self._clock.monotonic_s) for f in frames)

    def latest(self, after_seq: int, timeout_s: float) -> Frame | None:
        if not self._pending:
            return None
        self._seq += 1
        gray, captured_s = self._pending.popleft()
        return Frame(gray, self._seq, captured_s)

    def status(self) -> CameraStatus:
        return CameraStatus(CameraState.RUNNING, 30.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(
        tmp_path / "kiosk.db", device_id="gate-1", location_code="HUE-1", privacy_notice_version="1"
    ) as s:
        yield s


def make_loop(store: Store, clock: FakeClock, frames: ScriptedFrames, gate=None, **kwargs):
    published: list[LoopVerdict] = []
    hints: list[Hint] = []
    decoder = Decoder()
    pipeline = ScanPipeline(
        store=store,
        policy=PolicyConfig(),
        direction=Direction.IN,
        keyring=DEMO_KEYRING,
        decode=decoder.decode,
    )
    loop = ScanLoop(
        frames=frames,
        decoder=decoder,
        pipeline=pipeline,
        gate=gate or NullGate(),
        clock=clock,
        on_verdict=published.append,
        on_hint=hints.append,
        monotonic=lambda: clock.monotonic_s,
        **kwargs,
    )
    return loop, published, hints


def run_frames(loop: ScanLoop, frames: ScriptedFrames, clock: FakeClock, images, dt: float = 1 / 30):
    out = []
    for image in images:
        frames.push(image)
        out.extend(loop.step(wait_s=0))
        clock.advance(dt)
    return out


def test_a_code_held_in_view_is_one_visit_and_counts_again_after_leaving(store, clock) -> None:
    frames = ScriptedFrames(clock)
    loop, published, _ = make_loop(store, clock, frames)
    code = render_code(CCCD_AN.encode(), "paper")
    first = run_frames(loop, frames, clock, [code] * 15)  # held for half a second
    assert [v.verdict.outcome for v in first] == [Outcome.GRANTED]
    assert first[0].source == "camera"
    assert first[0].verdict.visit is not None
    run_frames(loop, frames, clock, [EMPTY] * 60)  # two seconds away: it left the view
    again = run_frames(loop, frames, clock, [code] * 5)
    # Shown again it is answered again; within the policy's repeat window it is not a second visit.
    assert len(again) == 1
    assert again[0].verdict.not_recorded is Reason.REPEAT
    assert len(store.visits()) == 1
    assert published == first + again


def test_a_code_that_flickers_out_for_a_few_frames_is_still_one_presentation(store, clock) -> None:
    frames = ScriptedFrames(clock)
    loop, published, _ = make_loop(store, clock, frames)
    code = render_code(CCCD_AN.encode(), "paper")
    run_frames(loop, frames, clock, [code] * 5 + [EMPTY] * 10 + [code] * 5)  # 1/3 s unreadable
    assert len(published) == 1


def test_two_visitors_one_after_the_other(store, clock) -> None:
    frames = ScriptedFrames(clock)
    loop, published, _ = make_loop(store, clock, frames)
    an = render_code(CCCD_AN.encode(), "paper")
    binh = render_code(CCCD_BINH.encode(), "phone")
    run_frames(loop, frames, clock, [an] * 10 + [binh] * 10)
    assert [v.verdict.visit.seq for v in published if v.verdict.visit] == [1, 2]


def test_scanner_payloads_enter_the_same_pipeline(store, clock) -> None:
    frames = ScriptedFrames(clock)
    gate = NullGate()
    loop, published, _ = make_loop(store, clock, frames, gate=gate)
    loop.submit_payload(CCCD_BINH.encode())
    loop.submit_payload(b"https://qr.tokhaiyte.vn/place/1")
    results = loop.step(wait_s=0)
    assert [(v.source, v.verdict.outcome) for v in results] == [
        ("scanner", Outcome.GRANTED),
        ("scanner", Outcome.REFUSED),
    ]
    assert list(gate.signals) == [Outcome.GRANTED, Outcome.REFUSED]
    assert published == results


def test_a_bad_frame_never_stops_the_loop(store, clock) -> None:
    frames = ScriptedFrames(clock)
    loop, published, _ = make_loop(store, clock, frames)
    frames.push(np.zeros((480, 640), np.float32))  # not a grayscale uint8 frame: the decoder refuses it
    assert loop.step(wait_s=0) == []
    assert loop.errors == 1
    run_frames(loop, frames, clock, [render_code(CCCD_AN.encode(), "paper")])
    assert len(published) == 1


class BrokenGate(NullGate):
    def signal(self, outcome: Outcome) -> None:
        raise OSError("relay driver gone")


def test_a_failing_gate_does_not_lose_the_verdict(store, clock) -> None:
    frames = ScriptedFrames(clock)
    loop, published, _ = make_loop(store, clock, frames, gate=BrokenGate())
    run_frames(loop, frames, clock, [render_code(CCCD_AN.encode(), "paper")])
    assert len(published) == 1
    assert published[0].verdict.visit is not None
    assert loop.errors == 1


def test_latency_is_measured_from_frame_arrival_to_publication(store, clock) -> None:
    frames = ScriptedFrames(clock)
    loop, published, _ = make_loop(store, clock, frames)
    frames.push(render_code(CCCD_AN.encode(), "paper"))
    clock.advance(0.040)  # the frame waited 40 ms before the loop took it
    loop.step(wait_s=0)
    assert published[0].latency_ms == pytest.approx(40.0)


def test_hints_are_published_when_they_change(store, clock) -> None:
    frames = ScriptedFrames(clock)
    loop, _, hints = make_loop(store, clock, frames)
    dark = np.full((480, 640), 10, np.uint8)
    run_frames(loop, frames, clock, [dark] * 3 + [EMPTY] * 2 + [render_code(CCCD_AN.encode(), "paper")])
    assert hints == [Hint.TOO_DARK, Hint.NONE]


def test_aiming_hints() -> None:
    assert aiming_hint(np.full((480, 640), 10, np.uint8), []) is Hint.TOO_DARK
    glare = np.full((480, 640), 120, np.uint8)
    glare[100:300, 100:300] = 255
    assert aiming_hint(glare, []) is Hint.GLARE
    washed = glare.copy()  # a located code under a bright spot: its dark modules are washed out
    near = ((100.0, 100.0), (300.0, 100.0), (300.0, 300.0), (100.0, 300.0))
    assert aiming_hint(washed, [near]) is Hint.GLARE
    assert aiming_hint(EMPTY, []) is Hint.NONE
    far = ((300.0, 200.0), (340.0, 200.0), (340.0, 240.0), (300.0, 240.0))
    assert aiming_hint(EMPTY, [far]) is Hint.TOO_FAR
    near = ((200.0, 100.0), (400.0, 100.0), (400.0, 300.0), (200.0, 300.0))
    assert aiming_hint(EMPTY, [near]) is Hint.BLURRY  # a flat grey "code": no sharp module edges
    sharp = EMPTY.copy()
    sharp[100:300, 200:400] = np.kron(np.indices((20, 20)).sum(axis=0) % 2 * 255, np.ones((10, 10)))
    assert aiming_hint(sharp, [near]) is Hint.HOLD_STILL  # crisp, with saturated white modules: not glare


def test_presence_filter() -> None:
    presence = PresenceFilter(release_s=1.0)
    assert presence.arrivals([b"a", b"a", b"b"], 0.0) == [b"a", b"b"]
    assert presence.arrivals([b"a"], 0.5) == []
    assert presence.arrivals([b"b"], 1.6) == [b"b"]  # b was away 1.6 s; a was seen at 0.5
    assert presence.arrivals([b"a"], 1.7) == [b"a"]


def test_the_loop_runs_on_its_own_thread_and_stops(store, clock) -> None:
    frames = ScriptedFrames(clock)
    got = threading.Event()
    decoder = Decoder()
    pipeline = ScanPipeline(store=store, policy=PolicyConfig(), direction=Direction.IN, keyring=DEMO_KEYRING)
    loop = ScanLoop(
        frames=frames,
        decoder=decoder,
        pipeline=pipeline,
        gate=NullGate(),
        clock=clock,
        on_verdict=lambda v: got.set(),
    )
    frames.push(render_code(CCCD_AN.encode(), "paper"))
    with loop:
        loop.start()
        assert got.wait(10)
        assert loop.healthy()
    assert not any(t.name == "scan-loop" for t in threading.enumerate())


def test_blind_fallbacks_are_rationed_on_a_busy_empty_scene(store, clock) -> None:
    frames = ScriptedFrames(clock)
    loop, published, _ = make_loop(store, clock, frames, blind_fallback_ms_per_s=1.0)
    decoder = loop._decoder
    busy = np.random.default_rng(3).integers(0, 256, (480, 640), dtype=np.uint8)  # edges everywhere, no code
    frames.push(busy)
    loop.step(wait_s=0)
    assert len(decoder.last_stages) > 1  # the first frame gets the blind stages
    frames.push(busy)
    loop.step(wait_s=0)
    assert decoder.last_stages == ("zxing",)  # the ration is spent: fast path only
    clock.advance(3600)  # an hour later the ration has refilled
    frames.push(busy)
    loop.step(wait_s=0)
    assert len(decoder.last_stages) > 1
    assert published == []
