"""Layer: core. Fallback stages of the decoder: image rescues tried only when the fast path failed.

Each stage is a small object with ``applies(ctx)`` and ``run(ctx)``; the decoder runs them in order until
one reads something or the time budget is spent. They re-use zxing-cpp (whose Reed-Solomon check keeps
false reads out) on a transformed image, or ask another decoder (ZBar, WeChat). OpenCV, pyzbar and the
WeChat module are imported lazily, on the first frame that needs them, so the core imports none of them.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import zxingcpp

from kiosk.decode.text import text_of
from kiosk.model import Gray, Quad, Symbol

if TYPE_CHECKING:
    from kiosk.decode.decoder import DecoderOptions

log = logging.getLogger(__name__)

ZxingPass = Callable[..., tuple[list[Symbol], list[Quad]]]


@dataclass(slots=True)
class Context:
    """One frame's state shared by the stages (transformed images are computed once)."""

    gray: Gray
    failed: tuple[Quad, ...]
    options: DecoderOptions
    #: the same scene at a higher resolution (a camera's main stream), or None
    full: Gray | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def full_ratio(self) -> float:
        """How many ``full`` pixels one ``gray`` pixel spans (1.0 without a full frame)."""
        return 1.0 if self.full is None else self.full.shape[1] / self.gray.shape[1]


class Stage(Protocol):
    name: str

    def applies(self, ctx: Context) -> bool: ...

    def run(self, ctx: Context) -> list[Symbol]: ...

    def close(self) -> None: ...


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


# -- helpers ----------------------------------------------------------------------------------------


def preload(options: DecoderOptions) -> None:
    """Import the optional modules the configured stages may use (see ``Decoder.warm_up``)."""
    _cv2()
    if options.try_pyzbar:
        try:
            importlib.import_module("pyzbar.pyzbar")
        except ImportError:
            log.debug("pyzbar/libzbar not available: ZBar fallback skipped")


def _cv2() -> Any | None:
    try:
        return importlib.import_module("cv2")
    except ImportError:
        log.debug("OpenCV not installed: image fallbacks disabled")
        return None


def _shift(symbols: list[Symbol], x0: float, y0: float, scale: float, stage: str) -> list[Symbol]:
    """Map symbols read in a crop scaled by ``scale`` at (x0, y0) back to frame coordinates."""
    out = []
    for s in symbols:
        tl, tr, br, bl = ((x0 + x / scale, y0 + y / scale) for x, y in s.quad)
        out.append(Symbol(text=s.text, raw=s.raw, quad=(tl, tr, br, bl), decoder=stage))
    return out


def _relabel(symbols: list[Symbol], stage: str) -> list[Symbol]:
    return _shift(symbols, 0.0, 0.0, 1.0, stage)


def _clahe(cv2: Any, img: Gray, clip: float = 2.0, tiles: int = 8) -> Gray:
    out: Gray = cv2.createCLAHE(clipLimit=clip, tileGridSize=(tiles, tiles)).apply(img)
    return out


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


def _crops(ctx: Context) -> list[tuple[Gray, float, float, float]]:
    """Crops around each located-but-failed symbol, upscaled: (image, x0, y0, scale)."""
    cached = ctx.cache.get("crops")
    if cached is not None:
        return list(cached)
    cv2 = _cv2()
    crops: list[tuple[Gray, float, float, float]] = []
    if cv2 is None:
        return crops
    for quad in ctx.failed:
        box = _crop_box(quad, 1.0, ctx.gray.shape, ctx.options.crop_margin)
        if box is None:
            continue
        x0, y0, x1, y1, size = box
        scale = min(4.0, max(1.0, ctx.options.crop_target_px / size))
        crop = ctx.gray[y0:y1, x0:x1]
        if scale > 1.0:
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        crops.append((np.ascontiguousarray(crop), float(x0), float(y0), scale))
    ctx.cache["crops"] = crops
    return crops


# -- stages -----------------------------------------------------------------------------------------


class _Base:
    name = "base"

    def applies(self, ctx: Context) -> bool:
        return True

    def close(self) -> None:
        return None


def _gamma(cv2: Any, img: Gray, g: float) -> Gray:
    lut = np.clip(255.0 * (np.arange(256) / 255.0) ** g + 0.5, 0, 255).astype(np.uint8)
    out: Gray = cv2.LUT(img, lut)
    return out


def _unsharp(cv2: Any, img: Gray, sigma: float, amount: float) -> Gray:
    blur = cv2.GaussianBlur(img, (0, 0), sigma)
    out: Gray = cv2.addWeighted(img, 1.0 + amount, blur, -amount, 0)
    return out


def _transform(cv2: Any, img: Gray, name: str) -> tuple[Gray, float]:
    """Apply one named image rescue; returns the image and the scale it was resized by.

    ``up2<rest>`` means: upscale 2× first, then apply ``<rest>`` (e.g. ``up2gh``, ``up2adapt``).
    """
    if name.startswith("up2") and name != "up2":
        up, scale = _transform(cv2, img, "up2")
        out, extra = _transform(cv2, up, name[3:])
        return out, scale * extra
    if name in ("none", "gh"):
        return img, 1.0
    if name == "up2":
        # Small or finely printed codes: at vga a module can be under 2 px, below zxing-cpp's detector.
        return cv2.resize(img, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC), 2.0
    if name == "down2":
        # Codes so close that zxing-cpp's finder-pattern scan overshoots; halving also averages noise.
        return cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA), 0.5
    if name in ("clahe", "clahe4"):
        # Glare and bright spots: equalise contrast per tile so the code's dark modules separate again.
        return (_clahe(cv2, img) if name == "clahe" else _clahe(cv2, img, 4.0, 4)), 1.0
    if name in ("gamma05", "gamma2", "gamma3"):
        # Over- or under-exposed codes: stretch the end of the histogram the code sits in.
        return _gamma(cv2, img, {"gamma05": 0.5, "gamma2": 2.0, "gamma3": 3.0}[name]), 1.0
    if name == "sharpen":
        # Defocus blur: unsharp masking restores module edges enough for the binarizer.
        return _unsharp(cv2, img, 2.0, 1.0), 1.0
    if name == "sharpen1":
        # Milder blur at vga: a tighter, stronger unsharp mask.
        return _unsharp(cv2, img, 1.0, 1.5), 1.0
    if name == "smooth":
        # Moire and sensor noise: a light blur removes the beat pattern before binarisation.
        smooth: Gray = cv2.GaussianBlur(img, (0, 0), 1.0)
        return smooth, 1.0
    if name == "median3":
        # Salt-and-pepper damage and screen moire: a median keeps module edges while removing specks.
        median: Gray = cv2.medianBlur(img, 3)
        return median, 1.0
    if name == "open":
        # Light modules eaten into by ink bleed or glare halos: a grey-level opening restores them.
        opened: Gray = cv2.morphologyEx(img, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        return opened, 1.0
    if name == "flat":
        # Glare gradients and shadows: divide by the background (a blur of a 1/16 thumbnail, so it costs
        # about a millisecond at vga) to flatten the lighting before the binarizer sees it.
        h, w = img.shape
        thumb = cv2.resize(img, (max(1, w // 16), max(1, h // 16)), interpolation=cv2.INTER_AREA)
        background = cv2.resize(cv2.GaussianBlur(thumb, (0, 0), 2.0), (w, h), interpolation=cv2.INTER_LINEAR)
        flat: Gray = cv2.divide(img, background, scale=180)
        return flat, 1.0
    if name == "adapt":
        # Uneven lighting across the code: an explicit local-mean threshold with a wide window.
        binary: Gray = cv2.adaptiveThreshold(img, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 41, 5)
        return binary, 1.0
    raise ValueError(f"unknown image transform {name!r}")


class CropStage(_Base):
    """zxing-cpp again on an upscaled crop around each symbol it located but failed to decode."""

    def __init__(self, zxing: ZxingPass, name: str, transform: str = "none") -> None:
        self._zxing = zxing
        self.name = name
        self._transform = transform

    def applies(self, ctx: Context) -> bool:
        return bool(ctx.failed)

    def run(self, ctx: Context) -> list[Symbol]:
        cv2 = _cv2()
        if cv2 is None:
            return []
        out: list[Symbol] = []
        for crop, x0, y0, scale in _crops(ctx):
            img, extra = _transform(cv2, crop, self._transform)
            symbols, _ = self._zxing(img, self.name, binarizer=_binarizer(self._transform))
            out.extend(_shift(symbols, x0, y0, scale * extra, self.name))
        return out


class WholeStage(_Base):
    """zxing-cpp again on a whole-frame transform (upscale, contrast, gamma, sharpening, binarizer)."""

    def __init__(self, zxing: ZxingPass, name: str, transform: str) -> None:
        self._zxing = zxing
        self.name = name
        self._transform = transform

    def applies(self, ctx: Context) -> bool:
        # A whole-frame pass on a multi-megapixel photo would blow the budget in one call; large
        # frames get the crop stages only (their modules are rarely too small anyway).
        pixels = ctx.gray.size * (4 if self._transform.startswith("up2") else 1)
        return pixels <= ctx.options.max_fallback_pixels

    def run(self, ctx: Context) -> list[Symbol]:
        cv2 = _cv2()
        if cv2 is None:
            return []
        img, scale = _transform(cv2, ctx.gray, self._transform)
        symbols, _ = self._zxing(img, self.name, binarizer=_binarizer(self._transform))
        return _shift(symbols, 0.0, 0.0, scale, self.name)


class FullCropStage(_Base):
    """zxing-cpp on a crop of the full-resolution frame around each symbol located but not read.

    A camera's preview stream (vga) is what every frame is decoded from; when a code is there but its
    modules are too small to read, the main stream holds the detail. Cropping only the symbol keeps the
    cost near a vga decode even from a 12 Mpx frame.
    """

    name = "full_crop"

    def __init__(self, zxing: ZxingPass) -> None:
        self._zxing = zxing

    def applies(self, ctx: Context) -> bool:
        return bool(ctx.failed) and ctx.full is not None and ctx.full_ratio > 1.2

    def run(self, ctx: Context) -> list[Symbol]:
        cv2 = _cv2()
        if cv2 is None or ctx.full is None:
            return []
        k = ctx.full_ratio
        out: list[Symbol] = []
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
            symbols, _ = self._zxing(np.ascontiguousarray(crop), self.name)
            # crop pixel → full pixel (/scale, +offset) → gray pixel (/k)
            out.extend(_shift(symbols, x0 / k, y0 / k, scale * k, self.name))
        return out


class FullFrameStage(_Base):
    """zxing-cpp on the full-resolution frame area-reduced to 2× the preview size (real detail, not an
    interpolated upscale), for frames where nothing was located at preview size."""

    name = "full2x"

    def __init__(self, zxing: ZxingPass) -> None:
        self._zxing = zxing

    def applies(self, ctx: Context) -> bool:
        return ctx.full is not None and ctx.full_ratio > 1.2

    def run(self, ctx: Context) -> list[Symbol]:
        cv2 = _cv2()
        if cv2 is None or ctx.full is None:
            return []
        k = ctx.full_ratio
        target = min(2.0, k)
        h, w = ctx.gray.shape
        img = ctx.full
        if k > target + 0.05:
            size = (round(w * target), round(h * target))
            img = cv2.resize(ctx.full, size, interpolation=cv2.INTER_AREA)
        else:
            target = k
        symbols, _ = self._zxing(np.ascontiguousarray(img), self.name)
        return _shift(symbols, 0.0, 0.0, target, self.name)


def _binarizer(transform: str) -> Any:
    # A global threshold reads codes whose local-average binarisation breaks up (large bright spots).
    return zxingcpp.Binarizer.GlobalHistogram if transform.endswith("gh") else None


class PyzbarStage(_Base):
    """ZBar via pyzbar (QR only), on the frame; absent library → the stage never applies."""

    def __init__(self, upscale: int = 1) -> None:
        # ``pyzbar_up2``: ZBar on a 2× upscale reads small, blurred codes it misses at vga (~4× the cost).
        self.name = "pyzbar" if upscale == 1 else f"pyzbar_up{upscale}"
        self._upscale = upscale
        self._mod: Any | None = None
        self._loaded = False

    def _load(self) -> Any | None:
        if not self._loaded:
            self._loaded = True
            try:
                self._mod = importlib.import_module("pyzbar.pyzbar")
            except ImportError:
                # ImportError also covers a missing libzbar shared library.
                log.debug("pyzbar/libzbar not available: ZBar fallback skipped")
        return self._mod

    def applies(self, ctx: Context) -> bool:
        # ZBar takes about a second on a 12 Mpx photo: large frames skip it, as the whole-frame stages do.
        pixels = ctx.gray.size * self._upscale**2
        return pixels <= ctx.options.max_fallback_pixels and self._load() is not None

    def run(self, ctx: Context) -> list[Symbol]:
        mod = self._load()
        assert mod is not None
        img = ctx.gray
        if self._upscale > 1:
            cv2 = _cv2()
            if cv2 is None:
                return []
            img = cv2.resize(img, None, fx=self._upscale, fy=self._upscale, interpolation=cv2.INTER_CUBIC)
        k = float(self._upscale)
        out = []
        for r in mod.decode(img, symbols=[mod.ZBarSymbol.QRCODE]):
            raw = bytes(r.data)
            pts = [(float(p.x) / k, float(p.y) / k) for p in r.polygon]
            if len(pts) != 4:
                x, y, w, h = (v / k for v in r.rect)
                pts = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
            quad: Quad = (pts[0], pts[1], pts[2], pts[3])
            out.append(Symbol(text=text_of(raw), raw=raw, quad=quad, decoder=self.name))
        return out


class WeChatStage(_Base):
    """OpenCV's WeChat QR detector (CNN models); only with opencv-contrib that can load the models."""

    name = "wechat"

    def __init__(self, model_dir: Any) -> None:
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


_WHOLE = (
    "up2",
    "down2",
    "clahe",
    "clahe4",
    "gamma05",
    "gamma2",
    "gamma3",
    "sharpen",
    "sharpen1",
    "smooth",
    "median3",
    "open",
    "adapt",
    "flat",
    "gh",
)


def is_stage_name(name: str) -> bool:
    """Whether ``name`` is a fallback stage ``build_stages`` knows (for config validation)."""
    if name.startswith("crop"):
        transform = name.partition("_")[2] or "none"
        return transform == "none" or transform in _WHOLE
    return (
        name in _WHOLE
        or (name.startswith("up2") and name[3:] in _WHOLE)
        or name in ("pyzbar", "pyzbar_up2", "full_crop", "full2x")
    )


def build_stages(options: DecoderOptions, names: str, zxing: ZxingPass) -> list[Stage]:
    """The fallback stages named in ``names`` (comma-separated), in the order they run."""
    stages: list[Stage] = []
    for raw_name in names.split(","):
        name = raw_name.strip()
        if not name:
            continue
        if name == "full_crop":
            stages.append(FullCropStage(zxing))
        elif name == "full2x":
            stages.append(FullFrameStage(zxing))
        elif name.startswith("crop"):
            transform = name.partition("_")[2] or "none"
            stages.append(CropStage(zxing, name, transform))
        elif name in _WHOLE or (name.startswith("up2") and name[3:] in _WHOLE):
            stages.append(WholeStage(zxing, name, name))
        elif name in ("pyzbar", "pyzbar_up2"):
            if options.try_pyzbar:
                stages.append(PyzbarStage(1 if name == "pyzbar" else 2))
        else:
            raise ValueError(f"unknown decoder stage {name!r}")
    return stages
