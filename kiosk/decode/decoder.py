"""Layer: core. ``Decoder``: a grayscale ``uint8`` array in, a list of ``Symbol`` out.

The fast path is one zxing-cpp call (QR only, ``TextMode.Plain``, raw bytes kept). zxing-cpp is asked to
return symbols it *located* but could not decode as well; only when such a symbol shows a code is present,
and nothing was read, do the fallback stages of :mod:`kiosk.decode.fallback` run, inside a per-frame time
budget. An empty frame therefore costs one zxing-cpp call and nothing more.

Called from the scan worker thread; a ``Decoder`` is not shared between threads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import zxingcpp

from kiosk.decode import fallback
from kiosk.decode.image import DEFAULT_MAX_IMAGE_PIXELS
from kiosk.decode.text import text_of
from kiosk.errors import DecodeError
from kiosk.model import Gray, Quad, Symbol

log = logging.getLogger(__name__)


_FAST_STAGE = "zxing"


@dataclass(frozen=True, slots=True)
class DecoderOptions:
    """How hard the decoder tries. Embedded in the kiosk configuration: simple typed fields only."""

    fallbacks: bool = True
    """Run the fallback stages when a code seems present and the fast path read nothing."""
    try_pyzbar: bool = True
    """Use ZBar (pyzbar) as one fallback stage when it is installed; absent → skipped silently."""
    wechat_model_dir: Path | None = None
    """Folder holding the four WeChat QR model files; needs ``cv2.wechat_qrcode`` (opencv-contrib 4.x)."""
    max_fallback_ms: float = 60.0
    """Per-frame budget for the fallback stages, so one hard frame cannot stall the gate."""
    max_fallback_pixels: int = 2_000_000
    """Whole-frame fallback stages skip images (after any upscaling) larger than this many pixels."""
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    """An image file whose header declares more pixels than this is refused before it is decoded
    (``load_gray``; at most ``MAX_IMAGE_PIXELS_CEILING``). 12 MP phone photos fit the default."""
    micro_qr: bool = False
    """Also accept Micro QR codes (no ID card or certificate uses them; off saves time)."""
    crop_margin: float = 0.5
    """Margin around a located-but-failed symbol, as a fraction of its size, for the crop stages."""
    crop_target_px: int = 600
    """A crop is upscaled (never beyond 4×) so the symbol is about this many pixels wide."""
    stages: str = "full_crop,crop,gh,gamma3,sharpen1,up2,crop_clahe4,up2gh,pyzbar_up2"
    """Fallback stages, in order, for a frame where zxing-cpp located a symbol it could not decode."""
    blind_stages: str = "full2x,gamma05,down2,gamma3,up2,median3,open,pyzbar,clahe4,up2gh,up2adapt"
    """Fallback stages for a frame where nothing was located but the edge signal says a code may be."""
    edge_fraction_min: float = 0.025
    """Edge density (see ``fallback.edge_fraction``) above which an unlocated frame gets the blind
    stages; measured so that most idle frames stay below it. 1.0 disables the blind stages."""


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
        used only by the ``full_crop``/``full2x`` fallbacks when the preview-size frame could not be read.
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
        stages = [_FAST_STAGE]
        read_by = _FAST_STAGE if symbols else None
        exhausted = False
        stages_to_run = self._fallback_plan(gray, failed, blind) if not symbols else []
        if stages_to_run:
            deadline = start + self.options.max_fallback_ms / 1000.0
            ctx = fallback.Context(gray=gray, failed=tuple(failed), options=self.options, full=full)
            for stage in stages_to_run:
                if self._clock() >= deadline:
                    exhausted = True
                    break
                if not stage.applies(ctx):
                    continue
                stages.append(stage.name)
                try:
                    symbols = stage.run(ctx)
                except Exception:
                    # A broken optional stage must not lose the frame; the fast path already ran.
                    log.debug("decode stage %s failed", stage.name, exc_info=True)
                    continue
                if symbols:
                    read_by = stage.name
                    break
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
