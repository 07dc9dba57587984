"""Layer: core. The stage-name grammar: ``decoder.stages`` / ``decoder.blind_stages`` parsed once.

A fallback stage is named by what it does, as steps joined by ``+`` and applied left to right::

    stage   = [source "+"] {transform "+"} [reader]      (at least one step)
    source  = "crop" | "main-stream-crop" | "main-stream-2x"          (default: the whole frame)
    reader  = "global-threshold" | "zbar"                 (default: zxing-cpp's local-average binarizer)
    transform = one of kiosk.decode.transform.TRANSFORMS  (upscale2x, stretch-highlights, ...)

``crop`` is an upscaled crop around each symbol zxing-cpp located but could not decode;
``main-stream-crop`` the same region cut from the camera's full-resolution main stream, and
``main-stream-2x`` that main stream area-reduced to twice the frame's size. ``global-threshold`` is
zxing-cpp with its GlobalHistogram binarizer, ``zbar`` is ZBar (pyzbar). Examples: ``crop``,
``stretch-highlights``, ``upscale2x+global-threshold``, ``crop+local-contrast-strong``, ``upscale2x+zbar``.

The short names of earlier releases (``gh``, ``gamma3``, ``up2gh``, ``crop_clahe4``, ``full2x``,
``pyzbar_up2``, ...) are still accepted as aliases and mean exactly what they meant.

Parsing needs neither OpenCV nor zxing-cpp: the configuration validates stage names with this module
without loading the decoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk.decode.transform import TRANSFORMS


class Source(StrEnum):
    """Where a stage's pixels come from."""

    FRAME = "frame"  # the whole frame (implicit: never written in a stage name)
    CROP = "crop"
    MAIN_STREAM_CROP = "main-stream-crop"
    MAIN_STREAM_2X = "main-stream-2x"


class Reader(StrEnum):
    """What reads the transformed image."""

    ZXING = "zxing"  # zxing-cpp as on the fast path (implicit: never written in a stage name)
    GLOBAL_THRESHOLD = "global-threshold"
    ZBAR = "zbar"


@dataclass(frozen=True, slots=True)
class StageSpec:
    """One parsed stage name."""

    source: Source = Source.FRAME
    transforms: tuple[str, ...] = ()
    reader: Reader = Reader.ZXING

    @property
    def name(self) -> str:
        """The descriptive name (what ``DecodeStats.stages`` and ``Symbol.decoder`` report)."""
        steps = [] if self.source is Source.FRAME else [self.source.value]
        steps += self.transforms
        if self.reader is not Reader.ZXING:
            steps.append(self.reader.value)
        return "+".join(steps)

    @property
    def scale(self) -> float:
        """How much the transforms resize the source image (2.0 after ``upscale2x``)."""
        scale = 1.0
        for name in self.transforms:
            scale *= TRANSFORMS[name].scale
        return scale

    @property
    def needs_located(self) -> bool:
        """Whether the stage works around symbols zxing-cpp located (and so only on such frames)."""
        return self.source in (Source.CROP, Source.MAIN_STREAM_CROP)

    @property
    def needs_main_stream(self) -> bool:
        return self.source in (Source.MAIN_STREAM_CROP, Source.MAIN_STREAM_2X)


# -- aliases: the short names of earlier releases -----------------------------------------------------

_LEGACY_TRANSFORM = {
    "up2": "upscale2x",
    "down2": "downscale2x",
    "clahe": "local-contrast",
    "clahe4": "local-contrast-strong",
    "gamma05": "stretch-shadows",
    "gamma2": "stretch-highlights-mild",
    "gamma3": "stretch-highlights",
    "sharpen": "sharpen-wide",
    "sharpen1": "sharpen-fine",
    "smooth": "smooth",
    "median3": "median",
    "open": "grey-opening",
    "adapt": "mean-threshold",
    "flat": "flatten-lighting",
    "gh": Reader.GLOBAL_THRESHOLD.value,
}
_LEGACY_STAGE = {
    "full_crop": Source.MAIN_STREAM_CROP.value,
    "full2x": Source.MAIN_STREAM_2X.value,
    "pyzbar": Reader.ZBAR.value,
    "pyzbar_up2": "upscale2x+zbar",
}


def legacy_alias(name: str) -> str | None:
    """The descriptive name an earlier release's short stage name stands for, or None."""
    if name in _LEGACY_STAGE:
        return _LEGACY_STAGE[name]
    if name == "crop":
        return None  # the same in both grammars
    if name.startswith("crop_") and name[5:] in _LEGACY_TRANSFORM:
        return "crop+" + _LEGACY_TRANSFORM[name[5:]]
    if name in _LEGACY_TRANSFORM:
        return _LEGACY_TRANSFORM[name]
    if name.startswith("up2") and name[3:] in _LEGACY_TRANSFORM:
        return "upscale2x+" + _LEGACY_TRANSFORM[name[3:]]
    return None


# -- parsing ------------------------------------------------------------------------------------------

_SOURCES = {s.value: s for s in Source if s is not Source.FRAME}
_READERS = {r.value: r for r in Reader if r is not Reader.ZXING}


def parse_stage(name: str) -> StageSpec:
    """Parse one stage name (descriptive or an alias); raises ``ValueError`` saying what is wrong."""
    text = name.strip()
    steps = (legacy_alias(text) or text).split("+")
    source = Source.FRAME
    transforms: list[str] = []
    reader = Reader.ZXING
    for i, raw_step in enumerate(steps):
        step = raw_step.strip()
        if reader is not Reader.ZXING:
            raise ValueError(f"stage {text!r}: nothing may follow the reader {reader.value!r}")
        if step in _SOURCES:
            if i:
                raise ValueError(f"stage {text!r}: the source {step!r} must come first")
            source = _SOURCES[step]
        elif step in TRANSFORMS:
            transforms.append(step)
        elif step in _READERS:
            reader = _READERS[step]
        else:
            raise ValueError(f"stage {text!r}: unknown step {step!r}")
    spec = StageSpec(source, tuple(transforms), reader)
    if not spec.name:
        raise ValueError(f"stage {text!r} does nothing the fast path has not done")
    return spec


def parse_plan(names: str) -> tuple[StageSpec, ...]:
    """The stages of a comma-separated list, in order (empty entries are ignored)."""
    return tuple(parse_stage(n) for n in names.split(",") if n.strip())


def is_stage_name(name: str) -> bool:
    """Whether ``name`` is a stage name ``parse_stage`` accepts (for config validation)."""
    try:
        parse_stage(name)
    except ValueError:
        return False
    return True


def describe_steps() -> str:
    """Every step a stage name may use, for an error message or a help text."""
    return ", ".join([*_SOURCES, *TRANSFORMS, *_READERS])
