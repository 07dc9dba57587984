"""Layer: core. The image transforms the fallback stages apply before reading again: a registry by name.

Each transform takes a grayscale ``uint8`` image and returns the transformed image; ``scale`` says how it
resizes (the stages map what they read back to frame coordinates with it, and the whole-frame pixel limit
counts it). A transform is registered once, under the name a stage name uses (:mod:`kiosk.decode.plan`), so
the list of valid names is written here and nowhere else. OpenCV is imported by the caller, lazily, and
passed in: importing this module loads neither OpenCV nor zxing-cpp.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from kiosk.model import Gray

#: ``fn(cv2, image) -> image``; ``cv2`` is the OpenCV module, imported lazily by the caller.
TransformFn = Callable[[Any, Gray], Gray]


@dataclass(frozen=True, slots=True)
class Transform:
    """One named image rescue: what it does (for the docs), how it resizes, and the function."""

    name: str
    summary: str
    scale: float
    fn: TransformFn

    def apply(self, cv2: Any, image: Gray) -> Gray:
        return self.fn(cv2, image)


#: Every transform a stage name may use, by name, in the order the docs list them.
TRANSFORMS: dict[str, Transform] = {}


def _register(name: str, summary: str, scale: float = 1.0) -> Callable[[TransformFn], TransformFn]:
    def add(fn: TransformFn) -> TransformFn:
        if name in TRANSFORMS:  # pragma: no cover - a programming error
            raise ValueError(f"transform {name!r} registered twice")
        TRANSFORMS[name] = Transform(name, summary, scale, fn)
        return fn

    return add


@_register("upscale2x", "2x cubic upscale", scale=2.0)
def _upscale2x(cv2: Any, img: Gray) -> Gray:
    # Small or finely printed codes: at vga a module can be under 2 px, below zxing-cpp's detector.
    out: Gray = cv2.resize(img, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    return out


@_register("downscale2x", "2x area downscale", scale=0.5)
def _downscale2x(cv2: Any, img: Gray) -> Gray:
    # Codes so close that zxing-cpp's finder-pattern scan overshoots; halving also averages noise.
    out: Gray = cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    return out


def _clahe(cv2: Any, img: Gray, clip: float, tiles: int) -> Gray:
    out: Gray = cv2.createCLAHE(clipLimit=clip, tileGridSize=(tiles, tiles)).apply(img)
    return out


@_register("local-contrast", "CLAHE, clip 2, 8x8 tiles")
def _local_contrast(cv2: Any, img: Gray) -> Gray:
    # Glare and bright spots: equalise contrast per tile so the code's dark modules separate again.
    return _clahe(cv2, img, 2.0, 8)


@_register("local-contrast-strong", "CLAHE, clip 4, 4x4 tiles")
def _local_contrast_strong(cv2: Any, img: Gray) -> Gray:
    return _clahe(cv2, img, 4.0, 4)


def _gamma(cv2: Any, img: Gray, g: float) -> Gray:
    lut = np.clip(255.0 * (np.arange(256) / 255.0) ** g + 0.5, 0, 255).astype(np.uint8)
    out: Gray = cv2.LUT(img, lut)
    return out


# Over- or under-exposed codes: stretch the end of the histogram the code sits in.
@_register("stretch-shadows", "gamma 0.5: spreads the dark grey levels of an under-exposed code")
def _stretch_shadows(cv2: Any, img: Gray) -> Gray:
    return _gamma(cv2, img, 0.5)


@_register("stretch-highlights-mild", "gamma 2")
def _stretch_highlights_mild(cv2: Any, img: Gray) -> Gray:
    return _gamma(cv2, img, 2.0)


@_register("stretch-highlights", "gamma 3: spreads the light grey levels of a washed-out code")
def _stretch_highlights(cv2: Any, img: Gray) -> Gray:
    return _gamma(cv2, img, 3.0)


def _unsharp(cv2: Any, img: Gray, sigma: float, amount: float) -> Gray:
    blur = cv2.GaussianBlur(img, (0, 0), sigma)
    out: Gray = cv2.addWeighted(img, 1.0 + amount, blur, -amount, 0)
    return out


@_register("sharpen-fine", "unsharp mask, sigma 1, amount 1.5")
def _sharpen_fine(cv2: Any, img: Gray) -> Gray:
    # Mild defocus at vga: a tight, strong unsharp mask restores module edges for the binarizer.
    return _unsharp(cv2, img, 1.0, 1.5)


@_register("sharpen-wide", "unsharp mask, sigma 2, amount 1")
def _sharpen_wide(cv2: Any, img: Gray) -> Gray:
    return _unsharp(cv2, img, 2.0, 1.0)


@_register("smooth", "Gaussian blur, sigma 1")
def _smooth(cv2: Any, img: Gray) -> Gray:
    # Moire and sensor noise: a light blur removes the beat pattern before binarisation.
    out: Gray = cv2.GaussianBlur(img, (0, 0), 1.0)
    return out


@_register("median", "3x3 median filter")
def _median(cv2: Any, img: Gray) -> Gray:
    # Salt-and-pepper damage and screen moire: a median keeps module edges while removing specks.
    out: Gray = cv2.medianBlur(img, 3)
    return out


@_register("grey-opening", "3x3 grey-level morphological opening")
def _grey_opening(cv2: Any, img: Gray) -> Gray:
    # Bright specks and glare halos narrower than a module, which break up dark modules, are removed.
    out: Gray = cv2.morphologyEx(img, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return out


@_register("mean-threshold", "binarise against a 41 px local mean")
def _mean_threshold(cv2: Any, img: Gray) -> Gray:
    # Uneven lighting across the code: an explicit local-mean threshold with a wide window.
    out: Gray = cv2.adaptiveThreshold(img, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 41, 5)
    return out


@_register("flatten-lighting", "divide by a blurred thumbnail of the background")
def _flatten_lighting(cv2: Any, img: Gray) -> Gray:
    # Glare gradients and shadows: divide by the background (a blur of a 1/16 thumbnail, so it costs about
    # a millisecond at vga) to flatten the lighting before the binarizer sees it.
    h, w = img.shape
    thumb = cv2.resize(img, (max(1, w // 16), max(1, h // 16)), interpolation=cv2.INTER_AREA)
    background = cv2.resize(cv2.GaussianBlur(thumb, (0, 0), 2.0), (w, h), interpolation=cv2.INTER_LINEAR)
    out: Gray = cv2.divide(img, background, scale=180)
    return out
