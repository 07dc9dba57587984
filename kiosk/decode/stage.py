"""Layer: core. The decoder's fallback stages: image rescues tried only when the fast path failed.

A stage is built from a parsed stage name (:class:`kiosk.decode.plan.StageSpec`): it takes the pixels its
*source* names (the whole frame, crops around symbols zxing-cpp located but could not decode, or the
camera's main stream), applies its *transforms* (:mod:`kiosk.decode.transform`) and reads the result with
its *reader* (zxing-cpp, whose Reed-Solomon check keeps false reads out, or ZBar); what it reads is mapped
back to frame coordinates. The decoder runs the stages in order until one reads something or the time
budget is spent. OpenCV, pyzbar and the WeChat module are imported lazily, on the first frame that needs
them, so importing the core loads none of them.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import zxingcpp

from kiosk.decode.options import DecoderOptions
from kiosk.decode.plan import Reader, Source, StageSpec, parse_plan
from kiosk.decode.text import text_of
from kiosk.decode.transform import TRANSFORMS
from kiosk.model import Gray, Quad, Symbol

log = logging.getLogger(__name__)

#: ``zxing(image, stage_name, binarizer=None) -> (symbols, quads located but not decoded)``
ZxingPass = Callable[..., tuple[list[Symbol], list[Quad]]]

#: The size of a camera's preview stream. A frame larger than this, given without a main stream, is decoded
#: through a preview of this size (area-reduced, aspect kept) with the frame itself as the main stream, so
#: a large photo is never read worse than its own downscale (see ``Decoder.decode``).
PREVIEW_SIZE = (640, 480)
#: Name reported for the zxing-cpp pass over that preview.
PREVIEW_STAGE = "preview"


@dataclass(slots=True)
class Context:
    """One frame's state shared by the stages (crops and reduced images are computed once)."""

    gray: Gray
    failed: tuple[Quad, ...]
    options: DecoderOptions
    #: the same scene at a higher resolution (a camera's main stream), or None
    full: Gray | None = None
    cache: dict[Source, list[View]] = field(default_factory=dict)

    @property
    def full_ratio(self) -> float:
        """How many ``full`` pixels one ``gray`` pixel spans (1.0 without a full frame)."""
        return 1.0 if self.full is None else self.full.shape[1] / self.gray.shape[1]


class Stage(Protocol):
    name: str

    def applies(self, ctx: Context) -> bool: ...

    def run(self, ctx: Context) -> list[Symbol]: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class View:
    """Pixels a stage reads, and where they sit in the frame: frame = (x0, y0) + image / scale."""

    image: Gray
    x0: float
    y0: float
    scale: float


def edge_fraction(gray: Gray, row_step: int = 16, step_min: int = 20) -> float:
    """Share of horizontal neighbour steps above ``step_min`` grey levels, on every ``row_step``-th row.

    A QR code is a dense field of sharp dark/light transitions; a bare wall, a dark frame or a blurred
    background has few. Sampling rows keeps this at a few tens of microseconds on a vga frame (uint8
    max-min avoids the int16 copy that would triple the cost).
    """
    rows = gray[::row_step]
    a, b = rows[:, 1:], rows[:, :-1]
    steps = np.maximum(a, b) - np.minimum(a, b)
    return float(np.count_nonzero(steps > step_min)) / max(1, steps.size)


def preview_of(gray: Gray) -> Gray | None:
    """``gray`` area-reduced to fit ``PREVIEW_SIZE`` (aspect kept), or None when it already fits."""
    h, w = gray.shape
    scale = min(PREVIEW_SIZE[0] / w, PREVIEW_SIZE[1] / h)
    cv2 = _cv2() if scale < 1.0 else None
    if cv2 is None:
        return None
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    preview: Gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return preview


def scaled(symbols: Iterable[Symbol], k: float) -> list[Symbol]:
    """Symbols with their quads multiplied by ``k`` (preview → frame coordinates)."""
    return [Symbol(text=s.text, raw=s.raw, quad=scaled_quad(s.quad, k), decoder=s.decoder) for s in symbols]


def scaled_quad(quad: Quad, k: float) -> Quad:
    tl, tr, br, bl = ((x * k, y * k) for x, y in quad)
    return (tl, tr, br, bl)


def preload(options: DecoderOptions) -> None:
    """Import the optional modules the configured stages may use (see ``Decoder.warm_up``)."""
    _cv2()
    if options.try_pyzbar:
        _ZBAR.load()


def _cv2() -> Any | None:
    try:
        return importlib.import_module("cv2")
    except ImportError:
        log.debug("OpenCV not installed: image fallbacks disabled")
        return None


def _to_frame(symbols: list[Symbol], view: View, extra: float, stage: str) -> list[Symbol]:
    """Map symbols read in ``view``'s image, resized by ``extra`` afterwards, back to frame coordinates."""
    k = view.scale * extra
    out = []
    for s in symbols:
        tl, tr, br, bl = ((view.x0 + x / k, view.y0 + y / k) for x, y in s.quad)
        out.append(Symbol(text=s.text, raw=s.raw, quad=(tl, tr, br, bl), decoder=stage))
    return out


# -- sources ------------------------------------------------------------------------------------------


def _crop_box(
    quad: Quad, k: float, shape: tuple[int, ...], margin: float
) -> tuple[int, int, int, int, float] | None:
    """The box (x0, y0, x1, y1) around ``quad`` scaled by ``k``, with a margin of ``margin`` × its size,
    clipped to an image of ``shape``; and the symbol's size. None when too small to be worth a pass."""
    h, w = shape[0], shape[1]
    xs = [p[0] * k for p in quad]
    ys = [p[1] * k for p in quad]
    size = max(max(xs) - min(xs), max(ys) - min(ys), 8.0)
    m = size * margin
    x0, x1 = max(0, int(min(xs) - m)), min(w, int(max(xs) + m) + 1)
    y0, y1 = max(0, int(min(ys) - m)), min(h, int(max(ys) + m) + 1)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return x0, y0, x1, y1, size


def _symbol_crops(cv2: Any, ctx: Context) -> list[View]:
    """Crops of the frame around each located-but-failed symbol, upscaled towards ``crop_target_px``."""
    views = []
    for quad in ctx.failed:
        box = _crop_box(quad, 1.0, ctx.gray.shape, ctx.options.crop_margin)
        if box is None:
            continue
        x0, y0, x1, y1, size = box
        scale = min(4.0, max(1.0, ctx.options.crop_target_px / size))
        crop = ctx.gray[y0:y1, x0:x1]
        if scale > 1.0:
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        views.append(View(np.ascontiguousarray(crop), float(x0), float(y0), scale))
    return views


def _main_stream_crops(cv2: Any, ctx: Context) -> list[View]:
    """Crops of the main stream around each located-but-failed symbol, resized towards ``crop_target_px``.

    A camera's preview stream (vga) is what every frame is decoded from; when a code is there but its
    modules are too small to read, the main stream holds the detail. Cropping only the symbol keeps the
    cost near a vga decode even from a 12 Mpx frame.
    """
    assert ctx.full is not None
    k = ctx.full_ratio
    views = []
    for quad in ctx.failed:
        box = _crop_box(quad, k, ctx.full.shape, ctx.options.crop_margin)
        if box is None:
            continue
        x0, y0, x1, y1, size = box
        scale = min(4.0, ctx.options.crop_target_px / size)
        crop = ctx.full[y0:y1, x0:x1]
        if abs(scale - 1.0) > 0.05:
            interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=interpolation)
        else:
            scale = 1.0
        # crop pixel → full pixel (/scale, +offset) → frame pixel (/k)
        views.append(View(np.ascontiguousarray(crop), x0 / k, y0 / k, scale * k))
    return views


def _main_stream_2x(cv2: Any, ctx: Context) -> list[View]:
    """The main stream area-reduced to twice the frame's size: real detail, not an interpolated upscale."""
    assert ctx.full is not None
    k = ctx.full_ratio
    target = min(2.0, k)
    h, w = ctx.gray.shape
    img = ctx.full
    if k > target + 0.05:
        img = cv2.resize(ctx.full, (round(w * target), round(h * target)), interpolation=cv2.INTER_AREA)
    else:
        target = k
    return [View(np.ascontiguousarray(img), 0.0, 0.0, target)]


def _views(cv2: Any, ctx: Context, source: Source) -> list[View]:
    cached = ctx.cache.get(source)
    if cached is None:
        if source is Source.FRAME:
            cached = [View(ctx.gray, 0.0, 0.0, 1.0)]
        elif source is Source.CROP:
            cached = _symbol_crops(cv2, ctx)
        elif source is Source.MAIN_STREAM_CROP:
            cached = _main_stream_crops(cv2, ctx)
        else:
            cached = _main_stream_2x(cv2, ctx)
        ctx.cache[source] = cached
    return cached


# -- readers ------------------------------------------------------------------------------------------


class _ZBar:
    """ZBar via pyzbar (QR only), loaded on first use; absent library → the stages using it never apply."""

    def __init__(self) -> None:
        self._mod: Any | None = None
        self._loaded = False

    def load(self) -> Any | None:
        if not self._loaded:
            self._loaded = True
            try:
                self._mod = importlib.import_module("pyzbar.pyzbar")
            except ImportError:
                # ImportError also covers a missing libzbar shared library.
                log.debug("pyzbar/libzbar not available: ZBar fallback skipped")
        return self._mod

    def read(self, image: Gray) -> list[Symbol]:
        mod = self.load()
        assert mod is not None
        out = []
        for r in mod.decode(image, symbols=[mod.ZBarSymbol.QRCODE]):
            raw = bytes(r.data)
            pts = [(float(p.x), float(p.y)) for p in r.polygon]
            if len(pts) != 4:
                x, y, w, h = (float(v) for v in r.rect)
                pts = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
            quad: Quad = (pts[0], pts[1], pts[2], pts[3])
            out.append(Symbol(text=text_of(raw), raw=raw, quad=quad, decoder="zbar"))
        return out


_ZBAR = _ZBar()  # one loader per process: the import is attempted once


# -- stages -------------------------------------------------------------------------------------------


def peak_scale(spec: StageSpec) -> float:
    """The largest size, relative to the source, any image of this stage's transform chain reaches."""
    scale = peak = 1.0
    for name in spec.transforms:
        scale *= TRANSFORMS[name].scale
        peak = max(peak, scale)
    return peak


class PlanStage:
    """One stage as its name says: source → transforms → reader, mapped back to frame coordinates."""

    def __init__(self, spec: StageSpec, zxing: ZxingPass) -> None:
        self.spec = spec
        self.name = spec.name
        self._zxing = zxing
        self._scale = spec.scale
        self._peak = peak_scale(spec)
        self._binarizer = (
            zxingcpp.Binarizer.GlobalHistogram if spec.reader is Reader.GLOBAL_THRESHOLD else None
        )

    def applies(self, ctx: Context) -> bool:
        spec = self.spec
        if spec.needs_located and not ctx.failed:
            return False
        if spec.needs_main_stream and (ctx.full is None or ctx.full_ratio <= 1.2):
            return False
        # A whole-frame pass on a multi-megapixel image would blow the budget in one call (ZBar takes
        # about a second on 12 Mpx). Crops stay small whatever the frame size.
        if spec.source is Source.FRAME and ctx.gray.size * self._peak**2 > ctx.options.max_fallback_pixels:
            return False
        return spec.reader is not Reader.ZBAR or _ZBAR.load() is not None

    def run(self, ctx: Context) -> list[Symbol]:
        cv2 = _cv2()
        if cv2 is None:
            return []
        out: list[Symbol] = []
        for view in _views(cv2, ctx, self.spec.source):
            image = view.image
            for name in self.spec.transforms:
                image = TRANSFORMS[name].apply(cv2, image)
            image = np.ascontiguousarray(image)
            if self.spec.reader is Reader.ZBAR:
                symbols = _ZBAR.read(image)
            else:
                symbols, _ = self._zxing(image, self.name, binarizer=self._binarizer)
            out.extend(_to_frame(symbols, view, self._scale, self.name))
        return out

    def close(self) -> None:
        return None


class WeChatStage:
    """OpenCV's WeChat QR detector (CNN models); only with opencv-contrib that can load the models."""

    name = "wechat"

    def __init__(self, model_dir: Path) -> None:
        self._detector: Any | None = None
        cv2 = _cv2()
        if cv2 is None or not hasattr(cv2, "wechat_qrcode_WeChatQRCode"):
            log.debug("cv2.wechat_qrcode not available: WeChat fallback skipped")
            return
        files = [
            str(model_dir / n)
            for n in ("detect.prototxt", "detect.caffemodel", "sr.prototxt", "sr.caffemodel")
        ]
        try:
            self._detector = cv2.wechat_qrcode_WeChatQRCode(*files)
        except Exception:
            log.warning("WeChat QR models in %s could not be loaded", model_dir, exc_info=True)

    def applies(self, ctx: Context) -> bool:
        return self._detector is not None

    def run(self, ctx: Context) -> list[Symbol]:
        assert self._detector is not None
        texts, points = self._detector.detectAndDecode(ctx.gray)
        out = []
        for text, pts in zip(texts, points, strict=False):
            if not text:
                continue
            # WeChat returns str; it was decoded from the payload as UTF-8 (bytes are not available).
            raw = str(text).encode("utf-8")
            p = [(float(x), float(y)) for x, y in np.asarray(pts).reshape(-1, 2)[:4]]
            quad: Quad = (p[0], p[1], p[2], p[3])
            out.append(Symbol(text=text_of(raw), raw=raw, quad=quad, decoder=self.name))
        return out

    def close(self) -> None:
        self._detector = None


def build_stages(options: DecoderOptions, names: str, zxing: ZxingPass) -> list[Stage]:
    """The fallback stages named in ``names`` (comma-separated), in the order they run. ZBar stages are
    left out when ``options.try_pyzbar`` is off. Raises ``ValueError`` for a name ``parse_stage`` refuses."""
    return [
        PlanStage(spec, zxing)
        for spec in parse_plan(names)
        if options.try_pyzbar or spec.reader is not Reader.ZBAR
    ]
