"""Touchscreen-app benchmark: start-up, GUI-thread stalls, verdict → result painted, preview rate, memory.

Runs the real app the way ``kiosk run --camera demo --window 800x480`` builds it (``app.gui.run_gui``: the
demo camera at 30 frames/s through the frame grabber, the scan loop, a throw-away database, the preview
pump, the status poller, the main window), offscreen (``QT_QPA_PLATFORM=offscreen``) at 800×480, and
measures from outside the product code: the benchmark swaps in subclasses of ``MainWindow`` and
``ResultScreen`` and listens to the bridge's ``decided`` signal with a direct connection (called on the
scan thread at the moment of emission). Nothing in ``ui/`` or ``app/`` is changed for it.

1. Start-up: from the process's start (``/proc/self/stat``) and from the call to ``run_gui`` to the first
   preview frame painted (what systemd's READY=1 waits for). Target ≤ 3 s.
2. GUI-thread stall: a 5 ms precise ``QTimer`` on the GUI thread; each tick's lateness is its gap beyond
   the interval. The longest, over ``--seconds`` of scanning from the first frame. Target ≤ 50 ms.
3. Verdict published → result screen painted: the ``decided`` emission (scan thread) to the end of the
   ``ResultScreen.paintEvent`` that first shows that verdict. Target p95 ≤ 50 ms.
4. Preview frames painted per second, while the scan screen is on screen (the result screen hides the
   preview) and over the whole run. Target ≥ 25.
5. Resident memory: ``VmHWM`` (peak) and ``VmRSS`` (at the end) from ``/proc/self/status``. Target ≤ 300 MB.

    .venv/bin/python bench/ui.py [--seconds 60] [--result-s S] [--markdown docs/benchmarks.md]

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

from report import header, print_json, write_section

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the app, ui, kiosk and hardware packages

#: The GUI-stall probe's timer interval.
TICK_MS = 5
#: How long the app may take to show its first frame before the run is given up.
STARTUP_LIMIT_S = 60.0
WINDOW = "800x480"
TARGETS = {
    "startup_s": 3.0,
    "max_stall_ms": 50.0,
    "verdict_to_paint_p95_ms": 50.0,
    "preview_fps": 25.0,
    "rss_mb": 300.0,
}


def process_start_monotonic() -> float:
    """When this process started, on ``time.monotonic()``'s scale (``/proc/self/stat`` field 22: clock
    ticks after boot, 10 ms resolution)."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    started_s = int(fields[19]) / os.sysconf("SC_CLK_TCK")
    age_s = time.clock_gettime(time.CLOCK_BOOTTIME) - started_s
    return time.monotonic() - age_s


PROCESS_START = process_start_monotonic()


def memory_mb() -> dict[str, float]:
    """Peak (VmHWM) and current (VmRSS) resident memory of this process, in MB (MiB)."""
    out: dict[str, float] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


class Probe:
    """What the instrumented app reports, from the GUI thread and (``on_decided``) the scan thread."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.build_start = 0.0
        self.first_frame: float | None = None
        self.end: float | None = None
        self.window: Any = None
        self.pump: Any = None
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[object, float]] = {}
        self.published = 0
        self.verdict_ms: list[float] = []
        self.preview_painted = 0
        self.ticks: list[float] = []
        self.lateness_ms: list[float] = []
        self._last_tick = 0.0
        self.scan_visible_s = 0.0
        self._scan_since: float | None = None
        self.memory: dict[str, float] = {}
        self.cpu_s = 0.0
        self._timer: Any = None
        self._end_timer: Any = None
        self.gc_full_ms: list[float] = []
        self._gc_started = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        """Python's full (generation 2) collections hold the GIL, so every thread waits: the usual cause
        of the longest stall. Runs on whichever thread triggered the collection."""
        if info["generation"] != 2:
            return
        if phase == "start":
            self._gc_started = time.monotonic()
        elif self.measuring(self._gc_started):
            self.gc_full_ms.append((time.monotonic() - self._gc_started) * 1000)

    def measuring(self, now: float) -> bool:
        return self.first_frame is not None and self.end is None and now >= self.first_frame

    # -- scan thread ----------------------------------------------------------------------------------

    def on_decided(self, view: object) -> None:
        """Direct connection to ``ScanBridge.decided``: runs on the scan thread, at the emission."""
        now = time.monotonic()
        with self._lock:
            if self.measuring(now):
                self.published += 1
                self._pending[id(view)] = (view, now)

    def unpainted(self) -> list[float]:
        """Publication times of verdicts whose result screen was never painted (the run ended first, or
        the next verdict replaced it before a paint)."""
        with self._lock:
            return [t for _, t in self._pending.values()]

    # -- GUI thread -----------------------------------------------------------------------------------

    def on_result_painted(self, view: object) -> None:
        now = time.monotonic()
        with self._lock:
            entry = self._pending.pop(id(view), None)
        if entry is not None and entry[0] is view and self.end is None:
            self.verdict_ms.append((now - entry[1]) * 1000)

    def on_preview_painted(self) -> None:
        now = time.monotonic()
        if self.first_frame is None:
            self._start(now)
        elif self.measuring(now):
            self.preview_painted += 1

    def on_screen_changed(self) -> None:
        now = time.monotonic()
        if not self.measuring(now):
            return
        if self._scan_since is not None:
            self.scan_visible_s += now - self._scan_since
            self._scan_since = None
        if self.window.current is self.window.scan:
            self._scan_since = now

    def _start(self, now: float) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.first_frame = now
        self.cpu_s = sum(os.times()[:2])
        self._scan_since = now if self.window.current is self.window.scan else None
        self._last_tick = now
        self._timer = QTimer(self.window)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._end_timer = QTimer(self.window)
        self._end_timer.setSingleShot(True)
        self._end_timer.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse timer may fire 5% late
        self._end_timer.setInterval(round(self.seconds * 1000))
        self._end_timer.timeout.connect(self._finish)
        self._end_timer.start()

    def _tick(self) -> None:
        now = time.monotonic()
        self.lateness_ms.append(max(0.0, (now - self._last_tick) * 1000 - TICK_MS))
        self._last_tick = now

    def _finish(self) -> None:
        from PySide6.QtWidgets import QApplication

        now = time.monotonic()
        self._timer.stop()
        if self._scan_since is not None:
            self.scan_visible_s += now - self._scan_since
            self._scan_since = None
        self.end = now
        self.cpu_s = sum(os.times()[:2]) - self.cpu_s
        self.memory = memory_mb()
        QApplication.instance().exit(0)  # type: ignore[union-attr]


def instrument(probe: Probe) -> None:
    """Swap measuring subclasses into the modules that build the window (this process only)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPaintEvent

    import ui.app
    import ui.main_window
    from ui.bridge import PreviewPump
    from ui.main_window import MainWindow
    from ui.result_screen import ResultScreen

    class BenchResultScreen(ResultScreen):
        def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
            super().paintEvent(event)
            if self.view is not None:
                probe.on_result_painted(self.view)

    class BenchMainWindow(MainWindow):
        def __init__(self, context: Any, *args: Any, **kwargs: Any) -> None:
            # Connected before the window's own (queued) slot, so the timestamp is taken before the GUI
            # thread is told: Qt calls a signal's slots in the order they were connected.
            context.bridge.decided.connect(probe.on_decided, Qt.ConnectionType.DirectConnection)
            super().__init__(context, *args, **kwargs)
            probe.window = self
            self.scan.preview.painted.connect(probe.on_preview_painted)
            self.stack.currentChanged.connect(probe.on_screen_changed)

    class BenchPreviewPump(PreviewPump):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            probe.pump = self

    ui.main_window.ResultScreen = BenchResultScreen  # type: ignore[attr-defined]
    ui.app.MainWindow = BenchMainWindow  # type: ignore[attr-defined]
    ui.app.PreviewPump = BenchPreviewPump  # type: ignore[attr-defined]


def run(seconds: float, result_s: float | None) -> dict[str, Any]:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    imports_start = time.monotonic()
    from app.cli import build_parser
    from app.gui import run_gui

    argv = ["run", "--camera", "demo", "--window", WINDOW, "--duration", str(STARTUP_LIMIT_S + seconds)]
    if result_s is not None:
        argv += ["--set", f"ui.result_s={result_s}"]
    args = build_parser().parse_args(argv)
    probe = Probe(seconds)
    instrument(probe)
    probe.build_start = time.monotonic()
    status = run_gui(args)
    if probe.first_frame is None or probe.end is None:
        raise SystemExit(
            f"bench/ui.py: no preview frame painted within {STARTUP_LIMIT_S:g} s (status {status})"
        )

    import PySide6
    from PySide6.QtCore import qVersion

    wall_s = probe.end - probe.first_frame
    lateness = probe.lateness_ms
    verdicts = probe.verdict_ms
    pump = probe.pump
    return {
        "pyside6": PySide6.__version__,
        "qt": qVersion(),
        "seconds": round(wall_s, 1),
        "window": WINDOW,
        "result_s": result_s if result_s is not None else probe.window.context.config.ui.result_s,
        "startup": {
            "from_process_start_s": round(probe.first_frame - PROCESS_START, 3),
            "from_build_s": round(probe.first_frame - probe.build_start, 3),
            "imports_before_build_s": round(probe.build_start - imports_start, 3),
        },
        "stall": {
            "tick_ms": TICK_MS,
            "ticks": len(lateness),
            "max_ms": round(max(lateness), 1) if lateness else None,
            "p99_ms": round(percentile(lateness, 99) or 0.0, 1),
            "over_16ms": sum(1 for x in lateness if x > 16),
            "over_50ms": sum(1 for x in lateness if x > 50),
            "full_gc": len(probe.gc_full_ms),
            "full_gc_longest_ms": round(max(probe.gc_full_ms), 1) if probe.gc_full_ms else None,
        },
        "verdict_to_paint": {
            "published": probe.published,
            "painted": len(verdicts),
            # a verdict published in the run's last 0.2 s may simply not have been painted yet
            "never_painted": sum(1 for t in probe.unpainted() if t < probe.end - 0.2),
            "p50_ms": round(statistics.median(verdicts), 1) if verdicts else None,
            "p95_ms": round(percentile(verdicts, 95) or 0.0, 1) if verdicts else None,
            "max_ms": round(max(verdicts), 1) if verdicts else None,
        },
        "preview": {
            "painted": probe.preview_painted,
            "scan_screen_s": round(probe.scan_visible_s, 1),
            "fps_while_shown": round(probe.preview_painted / probe.scan_visible_s, 1)
            if probe.scan_visible_s >= 1
            else None,
            "fps_whole_run": round(probe.preview_painted / wall_s, 1),
            "pump_sent": pump.sent if pump is not None else None,
            "pump_dropped": pump.dropped if pump is not None else None,
        },
        "memory_mb": {"peak": probe.memory.get("VmHWM"), "end": probe.memory.get("VmRSS")},
        "process_cpu_pct": round(100 * probe.cpu_s / wall_s, 1),
    }


def verdicts_on_targets(figures: dict[str, Any]) -> dict[str, bool | None]:
    def at_most(value: float | None, limit: float) -> bool | None:
        return None if value is None else value <= limit

    fps = figures["preview"]["fps_while_shown"]
    return {
        "startup": at_most(figures["startup"]["from_process_start_s"], TARGETS["startup_s"]),
        "stall": at_most(figures["stall"]["max_ms"], TARGETS["max_stall_ms"]),
        "verdict_to_paint": at_most(
            figures["verdict_to_paint"]["p95_ms"], TARGETS["verdict_to_paint_p95_ms"]
        ),
        "preview_fps": None if fps is None else fps >= TARGETS["preview_fps"],
        "memory": at_most(figures["memory_mb"]["peak"], TARGETS["rss_mb"]),
    }


def markdown(report: dict[str, Any], command: str) -> str:
    s, st, v, p, m = (
        report["startup"],
        report["stall"],
        report["verdict_to_paint"],
        report["preview"],
        report["memory_mb"],
    )
    met = report["targets_met"]
    gc_longest = f", longest {st['full_gc_longest_ms']} ms" if st["full_gc"] else ""

    def mark(key: str) -> str:
        return {True: "met", False: "**not met**", None: "not measured"}[met[key]]

    return "\n".join(
        [
            f"Command: `{command}`  ",
            f"Date: {report['date']} · machine: {report['machine']} · Python {report['python']} · "
            f"PySide6 {report['pyside6']} (Qt {report['qt']}) offscreen, window {report['window']}, demo camera at 30 frames/s, "
            f"{report['seconds']:g} s of scanning, result screen {report['result_s']:g} s",
            "",
            "| measure | measured | target | |",
            "|---|---|---|---|",
            f"| start-up: process start → first preview frame painted (from building the app: "
            f"{s['from_build_s']} s) | **{s['from_process_start_s']} s** | ≤ 3 s | {mark('startup')} |",
            f"| longest GUI-thread stall ({st['tick_ms']} ms timer, lateness of {st['ticks']} ticks; "
            f"p99 {st['p99_ms']} ms, {st['over_16ms']} over 16 ms, {st['over_50ms']} over 50 ms; "
            f"{st['full_gc']} full garbage collections{gc_longest}) | **{st['max_ms']} ms** | ≤ 50 ms | "
            f"{mark('stall')} |",
            f"| verdict published → result screen painted: p50 / p95 / max ({v['painted']} of "
            f"{v['published']} verdicts painted, {v['never_painted']} never) | {v['p50_ms']} / **{v['p95_ms']}** / {v['max_ms']} ms | p95 ≤ 50 ms | "
            f"{mark('verdict_to_paint')} |",
            f"| preview frames painted per second while the scan screen shows ({p['scan_screen_s']:g} s of "
            f"{report['seconds']:g}; {p['fps_whole_run']}/s over the whole run) | **{p['fps_while_shown']}** | "
            f"≥ 25 | {mark('preview_fps')} |",
            f"| resident memory: peak (VmHWM) / at the end (VmRSS) | **{m['peak']}** / {m['end']} MB | ≤ 300 MB "
            f"| {mark('memory')} |",
            f"| whole process CPU while scanning (camera, decoder, preview, painting) | "
            f"{report['process_cpu_pct']}% of one core | – | |",
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="how long to scan after the first frame")
    ap.add_argument("--result-s", type=float, help="ui.result_s for the run (default: the app's own setting)")
    ap.add_argument("--markdown", type=Path, help="replace the ui-bench section of this file")
    args = ap.parse_args()
    figures = run(args.seconds, args.result_s)
    report: dict[str, Any] = {**header("ui"), **figures}
    report["targets"] = TARGETS
    report["targets_met"] = verdicts_on_targets(figures)
    command = f"python bench/ui.py {' '.join(sys.argv[1:])}".strip()
    body = markdown(report, command)
    print(body)
    if args.markdown:
        write_section(args.markdown, "ui-bench", body, heading="## Touchscreen app (`bench/ui.py`)")
    print_json(report)


if __name__ == "__main__":
    main()
