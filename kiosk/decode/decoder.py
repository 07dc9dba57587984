"""Layer: core. ``Decoder``: a grayscale ``uint8`` array in, a list of ``Symbol`` out.

The fast path is one zxing-cpp call (QR only, ``TextMode.Plain``, raw bytes kept). zxing-cpp is asked to
return symbols it *located* but could not decode as well; only when such a symbol shows a code is present,
and nothing was read, do the fallback stages of :mod:`kiosk.decode.stage` run, inside a per-frame time
budget. An empty frame therefore costs one zxing-cpp call and nothing more.

A frame larger than a camera preview (640×480) given without a main stream, such as a phone photo, is
read as a camera's pair of streams: when the fast path on the whole frame reads nothing, its area-reduced
preview is decoded the usual way with the frame itself as the main stream. So a large photo is never read
worse than its own downscale, and the whole-frame stages never run on megapixels.

Called from the scan worker thread; a ``Decoder`` is not shared between threads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np
import zxingcpp

from kiosk.decode import stage as fallback
from kiosk.decode.options import DecoderOptions
from kiosk.decode.text import text_of
from kiosk.errors import DecodeError
from kiosk.model import Gray, Quad, Symbol

log = logging.getLogger(__name__)


_FAST_STAGE = "zxing"

__all__ = ["DecodeStats", "Decoder", "DecoderOptions", "dedupe"]


@dataclass(frozen=True, slots=True)
class DecodeStats:
    """What the last ``decode`` call did: stages that ran (in order), which read, time spent."""

    stages: tuple[str, ...] = ()
    read_by: str | None = None
    located: int = 0
    elapsed_ms: float = 0.0
    budget_exhausted: bool = False
    #: where zxing-cpp located symbols it could not decode (frame coordinates): aiming hints use them
    failed_quads: tuple[Quad, ...] = ()


class Decoder:
    """Decode QR codes from grayscale frames with zxing-cpp and targeted fallbacks.

    ``clock`` returns seconds from a monotonic source; tests pass a fake to exercise the time budget.
    """

    def __init__(
        self,
        options: DecoderOptions | None = None,
        *,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.options = options or DecoderOptions()
        self._clock = clock
        # In zxing-cpp 3.x ``QRCode`` is the whole family (Model 1, Micro, rMQR); ask only for what we use.
        formats: Any = zxingcpp.BarcodeFormat.QRCodeModel2
        if self.options.micro_qr:
            formats = formats | zxingcpp.BarcodeFormat.MicroQRCode
        self._formats = formats
        on = self.options.fallbacks
        self._stages: list[fallback.Stage] = (
            fallback.build_stages(self.options, self.options.stages, self._zxing) if on else []
        )
        self._blind: list[fallback.Stage] = (
            fallback.build_stages(self.options, self.options.blind_stages, self._zxing) if on else []
        )
        if on and self.options.wechat_model_dir is not None:
            # One detector (its CNN models take memory) shared by both plans, always tried last.
            wechat = fallback.WeChatStage(self.options.wechat_model_dir)
            self._stages.append(wechat)
            self._blind.append(wechat)
        self.last_stats = DecodeStats()
        self._closed = False

    # -- public API ---------------------------------------------------------------------------------

    @property
    def last_stages(self) -> tuple[str, ...]:
        """Names of the stages the last ``decode`` call ran (``("zxing",)`` on an idle frame)."""
        return self.last_stats.stages

    def decode(self, gray: Gray, full: Gray | None = None, *, blind: bool = True) -> list[Symbol]:
        """Decode every QR code in ``gray`` (2-D ``uint8``). Quads are in ``gray``'s pixel coordinates.

        ``full`` is the same scene at a higher resolution (a camera's main stream, same aspect ratio),
        used only by the ``main-stream-*`` fallbacks when the preview-size frame could not be read. A
        ``gray`` larger than 640×480 given without ``full`` is read through its own preview (module doc).
        ``blind=False`` skips the stages for frames where nothing was located (the live loop rations them:
        an empty but busy scene would otherwise pay for them on every frame).
        """
        if self._closed:
            raise DecodeError("decoder is closed")
        _check_gray(gray)
        if full is not None:
            _check_gray(full)
            gh, gw = gray.shape
            fh, fw = full.shape
            if fw < gw or abs(fh / fw - gh / gw) > 0.02:
                raise DecodeError(f"full frame {fw}x{fh} is not a larger view of the {gw}x{gh} frame")
        start = self._clock()
        symbols, failed = self._zxing(gray, _FAST_STAGE)
        # The budget bounds the fallbacks, so it starts when the fast path is done: on a 12 Mpx photo
        # zxing-cpp's own pass can take longer than the whole budget (at 640×480 it takes under 1 ms).
        deadline = (start if symbols else self._clock()) + self.options.max_fallback_ms / 1000.0
        stages = [_FAST_STAGE]
        read_by = _FAST_STAGE if symbols else None
        exhausted = False
        # What the fallbacks work on: the frame and its main stream; k maps their coordinates to gray's.
        frame, main, k = gray, full, 1.0
        preview = None
        if not symbols and full is None and self.options.fallbacks:
            preview = fallback.preview_of(gray)
        if preview is not None:
            frame, main, k = preview, gray, gray.shape[1] / preview.shape[1]
            stages.append(fallback.PREVIEW_STAGE)
            symbols, seen = self._zxing(preview, fallback.PREVIEW_STAGE)
            read_by = fallback.PREVIEW_STAGE if symbols else None
            failed = _merge_located(seen, [fallback.scaled_quad(q, 1.0 / k) for q in failed])
        stages_to_run = self._fallback_plan(frame, failed, blind) if not symbols else []
        if stages_to_run:
            ctx = fallback.Context(gray=frame, failed=tuple(failed), options=self.options, full=main)
            for stage in stages_to_run:
                if self._clock() >= deadline:
                    exhausted = True
                    break
                if not stage.applies(ctx):
                    continue
                stages.append(stage.name)
                try:
                    symbols = dedupe(stage.run(ctx))  # one code in two crops is read twice
                except Exception:
                    # A broken optional stage must not lose the frame; the fast path already ran.
                    log.debug("decode stage %s failed", stage.name, exc_info=True)
                    continue
                if symbols:
                    read_by = stage.name
                    break
        if k != 1.0:
            symbols = fallback.scaled(symbols, k)
            failed = [fallback.scaled_quad(q, k) for q in failed]
        self.last_stats = DecodeStats(
            stages=tuple(stages),
            read_by=read_by,
            located=len(failed),
            elapsed_ms=(self._clock() - start) * 1000.0,
            budget_exhausted=exhausted,
            failed_quads=tuple(failed) if not symbols else (),
        )
        return symbols

    def _fallback_plan(self, gray: Gray, failed: list[Quad], blind: bool) -> list[fallback.Stage]:
        """Which fallback stages this frame deserves: none unless a code seems present."""
        if failed:
            return self._stages
        if blind and self._blind and fallback.edge_fraction(gray) >= self.options.edge_fraction_min:
            return self._blind
        return []

    def warm_up(self) -> None:
        """Load the optional libraries the fallbacks use (OpenCV, ZBar) now rather than on the first hard
        frame, where an import of several hundred milliseconds would delay a visitor's answer. The live
        loop calls this once at start-up; nothing is loaded at import time."""
        fallback.preload(self.options)

    def close(self) -> None:
        """Release optional detectors. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for stage in (*self._stages, *self._blind):
            stage.close()
        self._stages = []
        self._blind = []

    def __enter__(self) -> Decoder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- zxing-cpp ----------------------------------------------------------------------------------

    def _zxing(self, gray: Gray, stage: str, binarizer: Any = None) -> tuple[list[Symbol], list[Quad]]:
        """One zxing-cpp pass: (valid symbols, quads of located symbols that failed to decode)."""
        kwargs: dict[str, Any] = {}
        if binarizer is not None:
            kwargs["binarizer"] = binarizer
        results = zxingcpp.read_barcodes(
            gray,
            formats=self._formats,
            text_mode=zxingcpp.TextMode.Plain,
            return_errors=True,
            **kwargs,
        )
        symbols: list[Symbol] = []
        failed: list[Quad] = []
        for result in results:
            quad = _quad(result.position)
            if result.valid:
                raw = bytes(result.bytes)
                text = text_of(raw, fallback=result.text)
                symbols.append(Symbol(text=text, raw=raw, quad=quad, decoder=stage))
            else:
                failed.append(quad)
        return dedupe(symbols), failed


def dedupe(symbols: list[Symbol]) -> list[Symbol]:
    """Drop repeats of the same payload at the same place (a stage can see one code twice)."""
    out: list[Symbol] = []
    for sym in symbols:
        cx, cy = _centre(sym.quad)
        if not any(o.raw == sym.raw and _inside_or_near(o.quad, cx, cy) for o in out):
            out.append(sym)
    return out


def _merge_located(first: list[Quad], more: list[Quad]) -> list[Quad]:
    """``first``, then the quads of ``more`` whose centre is not inside one of them (one code, one crop)."""
    out = list(first)
    for quad in more:
        cx, cy = _centre(quad)
        if not any(_inside_or_near(o, cx, cy) for o in out):
            out.append(quad)
    return out


def _centre(quad: Quad) -> tuple[float, float]:
    return (sum(p[0] for p in quad) / 4.0, sum(p[1] for p in quad) / 4.0)


def _inside_or_near(quad: Quad, x: float, y: float) -> bool:
    xs = [p[0] for p in quad]
    ys = [p[1] for p in quad]
    return min(xs) <= x <= max(xs) and min(ys) <= y <= max(ys)


def _quad(position: Any) -> Quad:
    # zxing-cpp orders corners top-left, top-right, bottom-right, bottom-left in symbol orientation.
    corners = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
    tl, tr, br, bl = ((float(p.x), float(p.y)) for p in corners)
    return (tl, tr, br, bl)


def _check_gray(gray: object) -> None:
    if not isinstance(gray, np.ndarray):
        raise DecodeError(f"expected a numpy array, got {type(gray).__name__}")
    if gray.dtype != np.uint8:
        raise DecodeError(f"expected a uint8 grayscale array, got dtype {gray.dtype}")
    if gray.ndim != 2:
        raise DecodeError(f"expected a 2-D grayscale array, got shape {gray.shape}")
    if gray.shape[0] < 1 or gray.shape[1] < 1:
        raise DecodeError(f"empty image of shape {gray.shape}")
