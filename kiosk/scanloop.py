"""Layer: core. The real-time scan loop: newest frame → decode → presence filter → parse → decide → record →
actuate → publish. Used by the touchscreen app's worker thread and by ``kiosk run --headless``.

One iteration takes the newest camera frame (stale frames were already dropped by the grabber) and any
payloads a 2D scanner delivered. A code held in view is one presentation (``PresenceFilter``); shown again
after it left the view, it counts again (the policy's repeat window then decides whether it is a new visit).
Nothing a frame or a payload does can stop the loop: every error is logged, counted and skipped.
The loop runs on its own thread; ``on_verdict`` and ``on_hint`` are called on that thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from kiosk.clock import Clock
from kiosk.device import Frame, FrameSource, GateOutputs
from kiosk.hints import Hint, aiming_hint
from kiosk.model import Symbol

if TYPE_CHECKING:
    from kiosk.decode import Decoder
    from kiosk.pipeline import ScanPipeline, Verdict

log = logging.getLogger(__name__)

#: A code not seen for this long has left the view; showing it again is a new presentation. Long enough to
#: bridge frames where a held code is momentarily unreadable (motion, glare), short enough that a visitor
#: who lowers the phone and shows it again is answered again.
RELEASE_S = 1.5
SCANNER_QUEUE = 32
#: CPU the loop may spend per second on "blind" fallbacks (frames where no code was located but the scene is
#: busy). Without a ration, a cluttered empty scene would pay for them on every frame; with it, a hard code
#: still gets a thorough attempt every few frames while the idle gate stays under ~10% of a core.
BLIND_FALLBACK_MS_PER_S = 30.0


@dataclass(frozen=True, slots=True)
class LoopVerdict:
    """A published verdict: where the code came from and how long from frame (or scan) to published."""

    verdict: Verdict
    source: str  # "camera" or "scanner"
    latency_ms: float


class PresenceFilter:
    """Tells new arrivals from codes still held in view."""

    def __init__(self, release_s: float = RELEASE_S) -> None:
        self.release_s = release_s
        self._last_seen: dict[bytes, float] = {}

    def arrivals(self, payloads: Iterable[bytes], now_s: float) -> list[bytes]:
        """The payloads in this frame that were not in view a moment ago (in order, without repeats)."""
        for payload in [p for p, t in self._last_seen.items() if now_s - t > self.release_s]:
            del self._last_seen[payload]
        fresh: list[bytes] = []
        for payload in payloads:
            if payload not in self._last_seen and payload not in fresh:
                fresh.append(payload)
            self._last_seen[payload] = now_s
        return fresh


class ScanLoop:
    """The scan worker. ``start()`` runs it on a thread; ``step()`` runs one iteration (tests, benchmarks)."""

    def __init__(
        self,
        *,
        frames: FrameSource,
        decoder: Decoder,
        pipeline: ScanPipeline,
        gate: GateOutputs,
        clock: Clock,
        on_verdict: Callable[[LoopVerdict], None],
        on_hint: Callable[[Hint], None] | None = None,
        release_s: float = RELEASE_S,
        blind_fallback_ms_per_s: float = BLIND_FALLBACK_MS_PER_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._frames = frames
        self._decoder = decoder
        self._pipeline = pipeline
        self._gate = gate
        self._clock = clock
        self._on_verdict = on_verdict
        self._on_hint = on_hint
        self._monotonic = monotonic
        self._presence = PresenceFilter(release_s)
        self._blind_rate = blind_fallback_ms_per_s
        self._blind_tokens = blind_fallback_ms_per_s  # a token bucket of milliseconds, refilled per second
        self._blind_refilled_s = monotonic()
        self._scanned: queue.Queue[tuple[bytes, float]] = queue.Queue(SCANNER_QUEUE)
        self._last_seq = -1
        self._hint = Hint.NONE
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.heartbeat_s = monotonic()
        self.frames_processed = 0
        self.errors = 0

    # -- inputs -------------------------------------------------------------------------------------

    def submit_payload(self, raw: bytes) -> None:
        """A payload from a 2D scanner. Thread-safe; called from the scanner's reader thread."""
        try:
            self._scanned.put_nowait((raw, self._monotonic()))
        except queue.Full:
            # Someone is holding the trigger down: keep the loop responsive, drop the excess.
            log.warning("scanner payloads arrive faster than they are handled; one dropped")

    # -- one iteration ------------------------------------------------------------------------------

    def step(self, wait_s: float = 0.1) -> list[LoopVerdict]:
        """Handle waiting scanner payloads and the newest frame; wait up to ``wait_s`` for a frame."""
        results: list[LoopVerdict] = []
        while True:
            try:
                raw, arrived_s = self._scanned.get_nowait()
            except queue.Empty:
                break
            published = self._handle(raw, arrived_s, "scanner", None)
            if published is not None:
                results.append(published)
        try:
            frame = self._frames.latest(self._last_seq, 0.0 if results else wait_s)
        except Exception:
            log.exception("reading a frame failed")
            self.errors += 1
            frame = None
        if frame is not None:
            self._last_seq = frame.seq
            results.extend(self._process(frame))
        self.heartbeat_s = self._monotonic()
        return results

    def _process(self, frame: Frame) -> list[LoopVerdict]:
        self.frames_processed += 1
        now_s = self._monotonic()
        self._blind_tokens = min(
            self._blind_rate, self._blind_tokens + (now_s - self._blind_refilled_s) * self._blind_rate
        )
        self._blind_refilled_s = now_s
        try:
            symbols = self._decoder.decode(frame.gray, frame.full, blind=self._blind_tokens > 0)
            stats = self._decoder.last_stats
            if stats.located == 0 and len(stats.stages) > 1:
                self._blind_tokens -= stats.elapsed_ms
        except Exception:
            # One bad frame (a driver handing over garbage, a decoder bug) never stops the gate.
            log.exception("decoding frame %d failed", frame.seq)
            self.errors += 1
            return []
        arrivals = self._presence.arrivals((s.raw for s in symbols), self._monotonic())
        self._publish_hint(frame, symbols)
        results: list[LoopVerdict] = []
        for symbol in symbols:
            if symbol.raw in arrivals:
                arrivals.remove(symbol.raw)
                published = self._handle(symbol.raw, frame.captured_s, "camera", symbol)
                if published is not None:
                    results.append(published)
        return results

    def _handle(self, raw: bytes, since_s: float, source: str, symbol: Symbol | None) -> LoopVerdict | None:
        try:
            verdict = self._pipeline.handle_payload(raw, self._clock.now(), symbol=symbol)
        except Exception:
            log.exception("handling a %s payload failed", source)
            self.errors += 1
            return None
        try:
            self._gate.signal(verdict.outcome)
        except Exception:
            # The gate outputs failing must not lose the verdict: it is recorded and still shown.
            log.exception("gate outputs failed")
            self.errors += 1
        published = LoopVerdict(verdict, source, (self._monotonic() - since_s) * 1000.0)
        try:
            self._on_verdict(published)
        except Exception:
            log.exception("publishing a verdict failed")
            self.errors += 1
        return published

    def _publish_hint(self, frame: Frame, symbols: list[Symbol]) -> None:
        if self._on_hint is None:
            return
        try:
            hint = Hint.NONE if symbols else aiming_hint(frame.gray, self._decoder.last_stats.failed_quads)
        except Exception:
            log.exception("aiming hint failed")
            return
        if hint is not self._hint:
            self._hint = hint
            try:
                self._on_hint(hint)
            except Exception:
                log.exception("publishing an aiming hint failed")

    # -- thread -------------------------------------------------------------------------------------

    @property
    def last_decode_ms(self) -> float:
        """How long the last frame took to decode (the admin's camera test). Safe from any thread."""
        return self._decoder.last_stats.elapsed_ms

    def healthy(self, max_age_s: float = 2.0) -> bool:
        """Whether the loop completed an iteration recently (the watchdog's health check)."""
        return self._monotonic() - self.heartbeat_s <= max_age_s

    def run(self) -> None:
        """Iterate until ``stop()``. Runs on the scan worker thread."""
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # step() already guards each part; this is the last line before a dead gate
                log.exception("scan loop iteration failed")
                self.errors += 1

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="scan-loop", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the worker and wait for it. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    close = stop

    def __enter__(self) -> ScanLoop:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
