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
import numpy.typing as npt
import zxingcpp

from kiosk.decode.text import text_of
from kiosk.model import Quad, Symbol

if TYPE_CHECKING:
    from kiosk.decode.decoder import DecoderOptions

log = logging.getLogger(__name__)

Gray = npt.NDArray[np.uint8]
ZxingPass = Callable[..., tuple[list[Symbol], list[Quad]]]


@dataclass(slots=True)
class Context:
    """One frame's state shared by the stages (transformed images are computed once)."""

    gray: Gray
    failed: tuple[Quad, ...]
    options: DecoderOptions
    cache: dict[str, Any] = field(default_factory=dict)


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


def _crops(ctx: Context) -> list[tuple[Gray, float, float, float]]:
    """Crops around each located-but-failed symbol, upscaled: (image, x0, y0, scale)."""
    cached = ctx.cache.get("crops")
    if cached is not None:
        return list(cached)
    cv2 = _cv2()
    crops: list[tuple[Gray, float, float, float]] = []
    if cv2 is None:
        return crops
    h, w = ctx.gray.shape
    for quad in ctx.failed:
        xs = [p[0] for p in quad]
        ys = [p[1] for p in quad]
        size = max(max(xs) - min(xs), max(ys) - min(ys), 8.0)
        m = size * ctx.options.crop_margin
        x0, x1 = max(0, int(min(xs) - m)), min(w, int(max(xs) + m) + 1)
        y0, y1 = max(0, int(min(ys) - m)), min(h, int(max(ys) + m) + 1)
        if x1 - x0 < 8 or y1 - y0 < 8:
            continue
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


def _transform(cv2: Any, img: Gray, name: str) -> tuple[Gray, float]:
    """Apply one named image rescue; returns the image and the scale it was resized by."""
    if name in ("none", "gh"):
        return img, 1.0
    if name == "up2":
        # Small or finely printed codes: at vga a module can be under 2 px, below zxing-cpp's detector.
        return cv2.resize(img, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC), 2.0
    if name in ("clahe", "clahe4"):
        # Glare and bright spots: equalise contrast per tile so the code's dark modules separate again.
        return (_clahe(cv2, img) if name == "clahe" else _clahe(cv2, img, 4.0, 4)), 1.0
    if name in ("gamma05", "gamma2"):
        # Over- or under-exposed codes: stretch the end of the histogram the code sits in.
        g = 0.5 if name == "gamma05" else 2.0
        lut = np.clip(255.0 * (np.arange(256) / 255.0) ** g + 0.5, 0, 255).astype(np.uint8)
        out: Gray = cv2.LUT(img, lut)
        return out, 1.0
    if name == "sharpen":
        # Defocus blur: unsharp masking restores module edges enough for the binarizer.
        blur = cv2.GaussianBlur(img, (0, 0), 2.0)
        sharp: Gray = cv2.addWeighted(img, 2.0, blur, -1.0, 0)
        return sharp, 1.0
    if name == "smooth":
        # Moire and sensor noise: a light blur removes the beat pattern before binarisation.
        smooth: Gray = cv2.GaussianBlur(img, (0, 0), 1.0)
        return smooth, 1.0
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
        pixels = ctx.gray.size * (4 if self._transform == "up2" else 1)
        return pixels <= ctx.options.max_fallback_pixels

    def run(self, ctx: Context) -> list[Symbol]:
        cv2 = _cv2()
        if cv2 is None:
            return []
        img, scale = _transform(cv2, ctx.gray, self._transform)
        symbols, _ = self._zxing(img, self.name, binarizer=_binarizer(self._transform))
        return _shift(symbols, 0.0, 0.0, scale, self.name)


def _binarizer(transform: str) -> Any:
    # A global threshold reads codes whose local-average binarisation breaks up (large bright spots).
    return zxingcpp.Binarizer.GlobalHistogram if transform == "gh" else None


class PyzbarStage(_Base):
    """ZBar via pyzbar (QR only), on the frame; absent library → the stage never applies."""

    name = "pyzbar"

    def __init__(self) -> None:
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
        return ctx.gray.size <= ctx.options.max_fallback_pixels and self._load() is not None

    def run(self, ctx: Context) -> list[Symbol]:
        mod = self._load()
        assert mod is not None
        out = []
        for r in mod.decode(ctx.gray, symbols=[mod.ZBarSymbol.QRCODE]):
            raw = bytes(r.data)
            pts = [(float(p.x), float(p.y)) for p in r.polygon]
            if len(pts) != 4:
                x, y, w, h = r.rect
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


_WHOLE = ("up2", "clahe", "clahe4", "gamma05", "gamma2", "sharpen", "smooth", "gh")


def build_stages(options: DecoderOptions, names: str, zxing: ZxingPass) -> list[Stage]:
    """The fallback stages named in ``names`` (comma-separated), in the order they run."""
    stages: list[Stage] = []
    for raw_name in names.split(","):
        name = raw_name.strip()
        if not name:
            continue
        if name.startswith("crop"):
            transform = name.partition("_")[2] or "none"
            stages.append(CropStage(zxing, name, transform))
        elif name in _WHOLE:
            stages.append(WholeStage(zxing, name, name))
        elif name == "pyzbar":
            if options.try_pyzbar:
                stages.append(PyzbarStage())
        else:
            raise ValueError(f"unknown decoder stage {name!r}")
    return stages
