"""Layer: core. QR decoding: ``Decoder(options).decode(gray) -> list[Symbol]`` and ``load_gray(path)``."""

from kiosk.decode.decoder import Decoder, DecoderOptions, DecodeStats
from kiosk.decode.image import load_gray

__all__ = ["DecodeStats", "Decoder", "DecoderOptions", "load_gray"]
