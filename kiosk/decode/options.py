"""Layer: core. ``DecoderOptions``: how hard the decoder tries, as the ``[decoder]`` config section.

Kept apart from the decoder so that reading the configuration loads neither zxing-cpp nor OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kiosk.decode.image import DEFAULT_MAX_IMAGE_PIXELS


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
    """Whole-frame fallback stages skip images (after any upscaling) larger than this many pixels. A frame
    larger than 640×480 with no main stream runs them on its 640×480 preview (see ``Decoder.decode``)."""
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    """An image file whose header declares more pixels than this is refused before it is decoded
    (``load_gray``; at most ``MAX_IMAGE_PIXELS_CEILING``). 12 MP phone photos fit the default."""
    micro_qr: bool = False
    """Also accept Micro QR codes (no ID card or certificate uses them; off saves time)."""
    crop_margin: float = 0.5
    """Margin around a located-but-failed symbol, as a fraction of its size, for the crop stages."""
    crop_target_px: int = 600
    """A crop is upscaled (never beyond 4×) so the symbol is about this many pixels wide."""
    stages: str = (
        "main-stream-crop,crop,global-threshold,stretch-highlights,sharpen-fine,upscale2x,"
        "crop+local-contrast-strong,upscale2x+global-threshold,upscale2x+zbar"
    )
    """Fallback stages, in order, for a frame where zxing-cpp located a symbol it could not decode
    (names: :mod:`kiosk.decode.plan`)."""
    blind_stages: str = (
        "main-stream-2x,stretch-shadows,downscale2x,stretch-highlights,upscale2x,median,grey-opening,zbar,"
        "local-contrast-strong,upscale2x+global-threshold,upscale2x+mean-threshold"
    )
    """Fallback stages for a frame where nothing was located but the edge signal says a code may be."""
    edge_fraction_min: float = 0.025
    """Edge density (see ``stage.edge_fraction``) above which an unlocated frame gets the blind
    stages; measured so that most idle frames stay below it. 1.0 disables the blind stages."""
