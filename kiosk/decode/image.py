"""Layer: core. Reading an image file into the grayscale array the decoder takes (OpenCV, lazily).

An image file is untrusted input: a 100 KB PNG can declare 20000×20000 pixels and make OpenCV allocate
gigabytes. So ``load_gray`` reads at most ``max_bytes`` of the file, reads the width and height from the
format's own header (:func:`read_header`) and refuses more than ``max_pixels`` *before* anything is
decoded. Only formats whose header we read are handed to OpenCV: PNG, JPEG, BMP, GIF, WebP, TIFF,
PBM/PGM/PPM/PAM and Sun raster; others (JPEG 2000, AVIF, HDR, PFM) are refused as not supported. A PNG's
chunks are checked whole first, so that libpng never prints its own complaint. (``kiosk decode`` and
``kiosk scan`` also set OpenCV's own ``OPENCV_IO_MAX_IMAGE_PIXELS`` ceiling before OpenCV is first
imported: a second line behind this one.)
"""

from __future__ import annotations

import importlib
import os
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kiosk.errors import DecodeError

#: Default pixel limit (``decoder.max_image_pixels``): a 12 MP phone photo loads, a 20000×20000 bomb does not.
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000
#: The largest pixel limit the configuration accepts, and OpenCV's own ceiling in the ``kiosk`` process.
MAX_IMAGE_PIXELS_CEILING = 250_000_000
#: Image files larger than this are refused before they are read (a 12 MP phone JPEG is 3-8 MB).
MAX_IMAGE_BYTES = 64 * 1024 * 1024
SUPPORTED_FORMATS = "PNG, JPEG, BMP, GIF, WebP, TIFF, PBM/PGM/PPM/PAM, Sun raster"


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """What an encoded image's header declares: its format and size in pixels."""

    format: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


class _HeaderError(Exception):
    """A recognised format whose header is inconsistent (the message says how)."""


def load_gray(
    path: str | os.PathLike[str],
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    *,
    max_bytes: int = MAX_IMAGE_BYTES,
) -> npt.NDArray[np.uint8]:
    """Read an image file as a 2-D ``uint8`` grayscale array.

    Raises ``DecodeError`` naming the file when it is missing, a directory, unreadable, larger than
    ``max_bytes``, not a supported image, damaged, or declares more than ``max_pixels`` pixels.
    """
    data = _read_bounded(path, max_bytes)
    try:
        header = read_header(data)
    except ValueError as exc:
        raise DecodeError(f"cannot read image {path}: damaged or truncated {exc}") from exc
    if header is None:
        raise DecodeError(f"cannot read image {path}: not a supported image file ({SUPPORTED_FORMATS})")
    if header.width <= 0 or header.height <= 0:
        raise DecodeError(f"cannot read image {path}: its {header.format} header declares no pixels")
    if header.pixels > max_pixels:
        raise DecodeError(
            f"refused image {path}: its {header.format} header declares {header.width}x{header.height} "
            f"= {header.pixels:,} pixels; at most {max_pixels:,} are accepted (decoder.max_image_pixels)"
        )
    if header.format == "PNG":
        _check_png_chunks(path, data)
    try:
        # Imported here, not at module level: the core must not pull OpenCV in at import time.
        cv2 = importlib.import_module("cv2")
    except ImportError as exc:
        raise DecodeError(f"cannot read {path}: OpenCV is not installed") from exc
    try:
        # imdecode of a byte buffer (not imread) so non-ASCII paths work and errors are not just a None.
        img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    except (cv2.error, MemoryError) as exc:
        raise DecodeError(
            f"cannot read image {path}: OpenCV could not decode it ({type(exc).__name__})"
        ) from exc
    if img is None or img.ndim != 2 or img.size == 0:
        raise DecodeError(f"cannot read image {path}: damaged or truncated {header.format} data")
    if img.size > max_pixels:  # the header lied: never hand on more than the limit
        raise DecodeError(f"refused image {path}: decoded to {img.shape[1]}x{img.shape[0]} pixels")
    gray: npt.NDArray[np.uint8] = np.ascontiguousarray(img, dtype=np.uint8)
    return gray


def _read_bounded(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The file's bytes, never more than ``max_bytes`` of them read (a FIFO or /dev/zero included)."""
    too_big = DecodeError(
        f"refused image {path}: larger than {_size(max_bytes)}, the most an image file may be"
    )
    try:
        with open(os.fspath(path), "rb") as fh:
            if os.fstat(fh.fileno()).st_size > max_bytes:
                raise too_big
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise DecodeError(f"cannot read image {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # a NUL byte in the path
        raise DecodeError(f"cannot read image {path!r}: {exc}") from exc
    if len(data) > max_bytes:
        raise too_big
    if not data:
        raise DecodeError(f"cannot read image {path}: the file is empty")
    return data


#: Chunks checked before libpng's turn (a 64 MiB PNG in 8 KiB IDAT chunks has 8192).
_PNG_MAX_CHUNKS = 100_000


def _check_png_chunks(path: str | os.PathLike[str], data: bytes) -> None:
    """A PNG cut short or with a damaged critical chunk is refused here: libpng would say so on standard
    error itself (bypassing our one line per image) before OpenCV returns nothing."""
    at, view = 8, memoryview(data)
    for _ in range(_PNG_MAX_CHUNKS):
        if at + 12 > len(data):
            break
        length, kind = struct.unpack_from(">I4s", data, at)
        end = at + 12 + length
        if end > len(data):
            break
        critical = kind[:1].isupper()
        if critical and zlib.crc32(view[at + 4 : end - 4]) != struct.unpack_from(">I", data, end - 4)[0]:
            raise DecodeError(
                f"cannot read image {path}: damaged PNG data (bad checksum in {kind.decode('latin-1')} chunk)"
            )
        if kind == b"IEND":
            return
        at = end
    else:
        return  # so many chunks is odd but not wrong: libpng checks the rest
    raise DecodeError(f"cannot read image {path}: damaged or truncated PNG data (it ends before IEND)")


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"


# -- headers ------------------------------------------------------------------------------------------
# Each reader takes the whole file (already capped at max_bytes) and returns the declared size without
# decompressing anything; a recognised signature with a damaged header raises _HeaderError.


def read_header(data: bytes) -> ImageHeader | None:
    """The format and declared size of an encoded image; ``None`` for a format not read here.

    Raises ``ValueError`` (the message names the format) for a known signature with a damaged header."""
    for signature, name, reader in _READERS:
        if data.startswith(signature):
            try:
                return reader(data)
            except _HeaderError as exc:
                raise ValueError(f"{name} header ({exc})") from exc
            except (struct.error, IndexError, ValueError) as exc:
                raise ValueError(f"{name} header") from exc
    return None


def _png(data: bytes) -> ImageHeader:
    if data[12:16] != b"IHDR":
        raise _HeaderError("no IHDR chunk first")
    width, height = struct.unpack_from(">II", data, 16)
    return ImageHeader("PNG", width, height)


# SOF0-SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x00, 0x01, *range(0xD0, 0xD8)})
#: Segments (APPn, tables, comments) before the frame header; a real photo has a few dozen.
_JPEG_MAX_SEGMENTS = 10_000
#: Fill bytes (0xFF) before one marker; an encoder writes none or a few.
_JPEG_MAX_FILL = 256


def _jpeg(data: bytes) -> ImageHeader:
    i = 2
    for _ in range(_JPEG_MAX_SEGMENTS):
        i = data.index(0xFF, i)  # like libjpeg, skip stray bytes before a marker
        window = data[i : i + _JPEG_MAX_FILL]
        fill = len(window) - len(window.lstrip(b"\xff"))
        if fill == _JPEG_MAX_FILL:
            raise _HeaderError("a run of fill bytes")
        marker = data[i + fill]  # IndexError at the end of the data: truncated
        i += fill + 1
        if marker in _STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # end of image, or start of scan, before any frame header
            break
        (length,) = struct.unpack_from(">H", data, i)
        if marker in _SOF:
            height, width = struct.unpack_from(">HH", data, i + 3)
            return ImageHeader("JPEG", width, height)
        if length < 2:
            raise _HeaderError("bad segment length")
        i += length
    raise _HeaderError("no frame header before the image data")


def _bmp(data: bytes) -> ImageHeader:
    (dib_size,) = struct.unpack_from("<I", data, 14)
    if dib_size == 12:  # OS/2 BITMAPCOREHEADER: unsigned 16-bit sizes
        width, height = struct.unpack_from("<HH", data, 18)
    else:
        width, height = struct.unpack_from("<ii", data, 18)
    return ImageHeader("BMP", width, abs(height))  # a negative height means top-down rows


#: Extensions (comments, XMP) before the first frame are walked this far at most.
_GIF_WALK_BYTES = 1024 * 1024


def _gif(data: bytes) -> ImageHeader:
    width, height = struct.unpack_from("<HH", data, 6)
    # The first frame may declare a larger rectangle than the screen: walk to its image descriptor.
    flags = data[10]
    i = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    in_extension = False
    while i < _GIF_WALK_BYTES:
        if in_extension:  # sub-blocks: a length byte, then that many bytes, up to an empty one
            in_extension = data[i] != 0
            i += data[i] + 1
        elif data[i] == 0x2C:  # image descriptor: left, top, width, height
            left, top, w, h = struct.unpack_from("<HHHH", data, i + 1)
            return ImageHeader("GIF", max(width, left + w), max(height, top + h))
        elif data[i] == 0x21:  # extension: introducer, label, then its sub-blocks
            in_extension, i = True, i + 2
        else:
            break
    raise _HeaderError("no image descriptor near the start")


def _webp(data: bytes) -> ImageHeader | None:
    if data[8:12] != b"WEBP":
        return None  # another RIFF file (a sound, a video): not an image
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise _HeaderError("no VP8 start code")
        width, height = struct.unpack_from("<HH", data, 26)
        return ImageHeader("WebP", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L":
        if data[20] != 0x2F:
            raise _HeaderError("no VP8L signature")
        (bits,) = struct.unpack_from("<I", data, 21)
        return ImageHeader("WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        if len(data) < 30:
            raise _HeaderError("VP8X chunk cut short")
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return ImageHeader("WebP", width, height)
    raise _HeaderError(f"unknown chunk {chunk!r}")


_TIFF_TYPES = {3: "H", 4: "I", 16: "Q"}  # SHORT, LONG, LONG8 (BigTIFF)
_TIFF_WIDTH, _TIFF_HEIGHT, _TIFF_TILE_WIDTH, _TIFF_TILE_HEIGHT = 256, 257, 322, 323


def _tiff(data: bytes) -> ImageHeader:
    order = "<" if data[:2] == b"II" else ">"
    big = struct.unpack_from(order + "H", data, 2)[0] == 43
    if big:
        (offset,) = struct.unpack_from(order + "Q", data, 8)
        (count,) = struct.unpack_from(order + "Q", data, offset)
        start, entry, value_at = offset + 8, 20, 12
    else:
        (offset,) = struct.unpack_from(order + "I", data, 4)
        (count,) = struct.unpack_from(order + "H", data, offset)
        start, entry, value_at = offset + 2, 12, 8
    tags: dict[int, int] = {}
    for n in range(min(count, 4096)):
        at = start + n * entry
        tag, kind = struct.unpack_from(order + "HH", data, at)
        if tag in (_TIFF_WIDTH, _TIFF_HEIGHT, _TIFF_TILE_WIDTH, _TIFF_TILE_HEIGHT) and kind in _TIFF_TYPES:
            (tags[tag],) = struct.unpack_from(order + _TIFF_TYPES[kind], data, at + value_at)
    if _TIFF_WIDTH not in tags or _TIFF_HEIGHT not in tags:
        raise _HeaderError("no image width or length")
    width, height = tags[_TIFF_WIDTH], tags[_TIFF_HEIGHT]
    # Tiles are decoded whole: a tile larger than the image is memory too. Report the larger of the two.
    tile_w, tile_h = tags.get(_TIFF_TILE_WIDTH, 0), tags.get(_TIFF_TILE_HEIGHT, 0)
    if tile_w * tile_h > width * height:
        width, height = tile_w, tile_h
    return ImageHeader("TIFF", width, height)


# Whitespace and comment lines between the fields; each written so that a match has one way only.
_PNM_GAP = rb"(?:\s|#[^\r\n]*[\r\n])+"
_PNM_SIZE = re.compile(rb"P[1-6]" + _PNM_GAP + rb"(\d+)" + _PNM_GAP + rb"(\d+)")
_PAM_FIELD = re.compile(rb"^(WIDTH|HEIGHT)[ \t]+(\d+)", re.MULTILINE)


def _pnm(data: bytes) -> ImageHeader:
    head = data[:65536]
    if head[1:2] == b"7":
        end = head.find(b"ENDHDR")
        fields = {k.decode(): int(v) for k, v in _PAM_FIELD.findall(head[: max(end, 0)])}
        if end < 0 or len(fields) < 2:
            raise _HeaderError("no WIDTH, HEIGHT and ENDHDR")
        return ImageHeader("PAM", fields["WIDTH"], fields["HEIGHT"])
    match = _PNM_SIZE.match(head)
    if match is None:
        raise _HeaderError("no width and height")
    return ImageHeader("PNM", int(match[1]), int(match[2]))


def _sun_raster(data: bytes) -> ImageHeader:
    width, height = struct.unpack_from(">II", data, 4)
    return ImageHeader("Sun raster", width, height)


#: OpenCV picks its decoder by the same signatures, so what is checked here is what it decodes.
_READERS: tuple[tuple[bytes, str, Callable[[bytes], ImageHeader | None]], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG", _png),
    (b"\xff\xd8\xff", "JPEG", _jpeg),
    (b"BM", "BMP", _bmp),
    (b"GIF87a", "GIF", _gif),
    (b"GIF89a", "GIF", _gif),
    (b"RIFF", "WebP", _webp),
    (b"II*\x00", "TIFF", _tiff),
    (b"MM\x00*", "TIFF", _tiff),
    (b"II+\x00", "TIFF", _tiff),
    (b"MM\x00+", "TIFF", _tiff),
    *((b"P" + bytes([c]), "PNM", _pnm) for c in b"1234567"),
    (b"\x59\xa6\x6a\x95", "Sun raster", _sun_raster),
)
