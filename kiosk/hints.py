"""Layer: core. Aiming hints: cheap looks at a frame in which nothing could be read, so the screen can help.

Computed only on frames where decoding read nothing, from a subsampled view (tens of microseconds at vga),
and from where the decoder located a code it could not read. The screen turns each hint into one plain
sentence ("Move the code closer", "Tilt the phone to avoid glare", ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import numpy as np

from kiosk.model import Gray, Quad

TOO_DARK_MEAN = 45  # mean grey level of the frame below which a phone screen or card cannot be read
GLARE_LEVEL = 250  # saturated pixels
GLARE_FRACTION = 0.02  # share of saturated pixels (over the code when one is located) that means glare
DARK_LEVEL = 90  # grey level below which a pixel counts as a dark module
DARK_FRACTION_MIN = 0.25  # a code region with fewer dark pixels than this has had its modules washed out
TOO_FAR_PX = 70  # a located code narrower than this (vga pixels) has modules too small to read
BLUR_MIN_SHARPNESS = 60.0  # mean absolute Laplacian-like response over a located code below this = blurry


class Hint(StrEnum):
    NONE = "none"  # nothing to say (empty scene)
    TOO_DARK = "too_dark"
    GLARE = "glare"
    TOO_FAR = "too_far"
    BLURRY = "blurry"  # also "hold still": motion and focus blur look alike
    HOLD_STILL = "hold_still"  # a code is there, nothing wrong that we can see: keep it steady


def aiming_hint(gray: Gray, located: Sequence[Quad]) -> Hint:
    """The most useful hint for a frame in which nothing was read (``located``: codes seen but unread)."""
    sample = gray[::4, ::4]
    if float(sample.mean()) < TOO_DARK_MEAN:
        return Hint.TOO_DARK
    if not located:
        # Glare without a located code is still worth saying: a phone screen turned into a mirror.
        if np.count_nonzero(sample >= GLARE_LEVEL) > GLARE_FRACTION * 4 * sample.size:
            return Hint.GLARE
        return Hint.NONE
    quad = max(located, key=_width)
    if _width(quad) < TOO_FAR_PX:
        return Hint.TOO_FAR
    region = _region(gray, quad)
    # Saturated white modules are normal on a bright screen; glare is saturation that has also washed
    # out the dark modules (a readable code is roughly half dark).
    if (
        region.size
        and np.count_nonzero(region >= GLARE_LEVEL) > GLARE_FRACTION * region.size
        and np.count_nonzero(region < DARK_LEVEL) < DARK_FRACTION_MIN * region.size
    ):
        return Hint.GLARE
    if region.size and _sharpness(region) < BLUR_MIN_SHARPNESS:
        return Hint.BLURRY
    return Hint.HOLD_STILL


def _width(quad: Quad) -> float:
    xs = [p[0] for p in quad]
    ys = [p[1] for p in quad]
    return max(max(xs) - min(xs), max(ys) - min(ys))


def _region(gray: Gray, quad: Quad) -> Gray:
    h, w = gray.shape
    xs = [p[0] for p in quad]
    ys = [p[1] for p in quad]
    x0, x1 = max(0, int(min(xs))), min(w, int(max(xs)) + 1)
    y0, y1 = max(0, int(min(ys))), min(h, int(max(ys)) + 1)
    return gray[y0:y1, x0:x1]


def _sharpness(region: Gray) -> float:
    """Mean absolute second difference along rows and columns: high on crisp module edges."""
    r = region.astype(np.int16)
    dx = np.abs(r[:, 2:] - 2 * r[:, 1:-1] + r[:, :-2])
    dy = np.abs(r[2:, :] - 2 * r[1:-1, :] + r[:-2, :])
    if not dx.size or not dy.size:
        return 0.0
    # Only the strongest responses matter: a code is half flat modules, half edges.
    return float(np.percentile(np.concatenate([dx.ravel(), dy.ravel()]), 90))
