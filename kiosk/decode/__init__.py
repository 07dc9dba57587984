"""Layer: core. QR decoding: ``Decoder(options).decode(gray) -> list[Symbol]`` and ``load_gray(path)``.

``Decoder`` and ``DecodeStats`` load on first use (they need zxing-cpp): reading the configuration, which
needs only ``DecoderOptions`` and the stage-name grammar, loads no decoder.

Modules: ``options`` (``DecoderOptions``), ``plan`` (the stage-name grammar), ``transform`` (the image
transforms, by name), ``stage`` (the fallback stages), ``decoder`` (``Decoder``), ``image`` (``load_gray``),
``text`` (payload bytes to text).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kiosk.decode.image import load_gray
from kiosk.decode.options import DecoderOptions

if TYPE_CHECKING:
    from kiosk.decode.decoder import Decoder, DecodeStats

__all__ = ["DecodeStats", "Decoder", "DecoderOptions", "load_gray"]


def __getattr__(name: str) -> Any:
    if name in ("Decoder", "DecodeStats"):
        from kiosk.decode import decoder  # noqa: PLC0415 - zxing-cpp only when a decoder is wanted

        return getattr(decoder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
