"""Decoder tests on QR images generated at test time with segno; shared photo data only when present."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest
import segno
import zxingcpp

from kiosk.decode import Decoder, DecoderOptions, load_gray
from kiosk.decode.image import MAX_IMAGE_BYTES, read_header
from kiosk.errors import DecodeError
from tests.shared import shared_dir


def render(content: str | bytes, scale: int = 6, border: int = 4, **kw: object) -> np.ndarray:
    """A QR code (never Micro QR) as a uint8 grayscale array, dark modules 0, light 255."""
    qr = segno.make_qr(content, **kw)
    matrix = np.array(
        [[0 if v else 255 for v in row] for row in qr.matrix_iter(scale=scale, border=border)],
        dtype=np.uint8,
    )
    return matrix


def on_canvas(code: np.ndarray, shape: tuple[int, int] = (480, 640), at: tuple[int, int] = (100, 150)):
    canvas = np.full(shape, 200, dtype=np.uint8)
    y, x = at
    canvas[y : y + code.shape[0], x : x + code.shape[1]] = code
    return canvas


def zxing_alone(gray: np.ndarray) -> list[str]:
    results = zxingcpp.read_barcodes(
        gray, formats=zxingcpp.BarcodeFormat.QRCodeModel2, text_mode=zxingcpp.TextMode.Plain
    )
    return [r.text for r in results]


@pytest.fixture
def decoder():
    with Decoder() as d:
        yield d


def test_clean_read_text_bytes_and_quad(decoder: Decoder) -> None:
    code = render("https://example.org/gate?id=42", scale=6)
    frame = on_canvas(code, at=(100, 150))
    [sym] = decoder.decode(frame)
    assert sym.text == "https://example.org/gate?id=42"
    assert sym.raw == b"https://example.org/gate?id=42"
    assert sym.decoder == "zxing"
    # The quad lies on the symbol (inside the canvas region where it was pasted, quiet zone excluded).
    xs = [p[0] for p in sym.quad]
    ys = [p[1] for p in sym.quad]
    border = 4 * 6
    assert 150 + border - 2 <= min(xs) and max(xs) <= 150 + code.shape[1] - border + 2
    assert 100 + border - 2 <= min(ys) and max(ys) <= 100 + code.shape[0] - border + 2
    assert max(xs) - min(xs) > code.shape[1] * 0.6
    assert decoder.last_stages == ("zxing",)


def test_vietnamese_utf8_round_trips(decoder: Decoder) -> None:
    text = "057000095046|978152988|Nguyễn Văn A|22121955|Nam|Thôn Phước Yên, Tỉnh Thừa Thiên Huế"
    [sym] = decoder.decode(on_canvas(render(text, scale=4, encoding="utf-8")))
    assert sym.text == text
    assert sym.raw == text.encode("utf-8")


def test_non_utf8_bytes_are_kept_in_raw(decoder: Decoder) -> None:
    payload = bytes([0x41, 0xFF, 0xFE, 0x80, 0x42, 0x00, 0x9C])
    [sym] = decoder.decode(on_canvas(render(payload, scale=6)))
    assert sym.raw == payload
    with pytest.raises(UnicodeDecodeError):
        sym.raw.decode("utf-8")
    assert sym.text.startswith("A") and sym.text.endswith("\x9c")  # readable, nothing dropped


def test_inverted_dark_mode_code_is_read(decoder: Decoder) -> None:
    code = 255 - render("DARK MODE 123", scale=6)
    frame = np.full((480, 640), 30, dtype=np.uint8)
    frame[100 : 100 + code.shape[0], 150 : 150 + code.shape[1]] = code
    assert [s.text for s in decoder.decode(frame)] == ["DARK MODE 123"]


def glare_frame() -> np.ndarray:
    """A small code under a broad bright spot: the modules in the flare keep only a faint contrast."""
    code = render("GLARE-TEST-0042", scale=4, border=4).astype(np.float64)
    frame = np.full((480, 640), 150.0)
    y0, x0 = 180, 260
    frame[y0 : y0 + code.shape[0], x0 : x0 + code.shape[1]] = 60 + code * (150 - 60) / 255
    yy, xx = np.mgrid[0:480, 0:640]
    cy, cx = y0 + code.shape[0] * 0.45, x0 + code.shape[1] * 0.55
    flare = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 45.0**2))
    frame = frame * (1 - 0.8 * flare) + 255 * 0.8 * flare
    return np.clip(frame + 0.5, 0, 255).astype(np.uint8)


def test_glare_is_read_by_a_fallback_that_zxing_alone_misses(decoder: Decoder) -> None:
    frame = glare_frame()
    assert zxing_alone(frame) == []
    symbols = decoder.decode(frame)
    assert [s.text for s in symbols] == ["GLARE-TEST-0042"]
    assert symbols[0].decoder != "zxing"
    assert decoder.last_stats.read_by == symbols[0].decoder


def test_fallbacks_can_be_switched_off() -> None:
    with Decoder(DecoderOptions(fallbacks=False)) as d:
        assert d.decode(glare_frame()) == []
        assert d.last_stages == ("zxing",)


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((480, 640), np.uint8),
        np.full((480, 640), 255, np.uint8),
        np.random.default_rng(7).integers(0, 256, (480, 640), dtype=np.uint8),
    ],
    ids=["black", "white", "noise"],
)
def test_empty_and_noise_frames_give_nothing(decoder: Decoder, frame: np.ndarray) -> None:
    assert decoder.decode(frame) == []


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((480, 640), np.uint8),
        np.full((480, 640), 128, np.uint8),
        np.tile(np.linspace(0, 255, 640).astype(np.uint8), (480, 1)),
    ],
    ids=["black", "grey", "gradient"],
)
def test_fallbacks_do_not_run_on_an_idle_frame(decoder: Decoder, frame: np.ndarray) -> None:
    assert decoder.decode(frame) == []
    assert decoder.last_stages == ("zxing",)
    assert decoder.last_stats.located == 0


def test_time_budget_stops_the_fallbacks() -> None:
    ticks = iter(np.arange(0.0, 100.0, 0.05))  # every clock reading is 50 ms after the previous one
    with Decoder(DecoderOptions(max_fallback_ms=10.0), clock=lambda: float(next(ticks))) as d:
        assert d.decode(glare_frame()) == []  # readable, but the budget ran out before any fallback
        assert d.last_stats.budget_exhausted
        assert d.last_stages == ("zxing",)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((48, 64), np.float32),
        np.zeros((48, 64, 3), np.uint8),
        np.zeros((0, 64), np.uint8),
        [[0, 1], [1, 0]],
    ],
    ids=["float", "colour", "empty", "list"],
)
def test_wrong_dtype_or_shape_is_a_decode_error(decoder: Decoder, bad: object) -> None:
    with pytest.raises(DecodeError, match=r"expected|empty"):
        decoder.decode(bad)  # type: ignore[arg-type]


def test_closed_decoder_refuses_and_close_is_idempotent() -> None:
    d = Decoder()
    d.close()
    d.close()
    with pytest.raises(DecodeError, match="closed"):
        d.decode(np.zeros((10, 10), np.uint8))


def test_load_gray_reads_a_png(tmp_path) -> None:
    path = tmp_path / "code.png"
    segno.make_qr("FILE 1").save(str(path), scale=5)
    gray = load_gray(path)
    assert gray.dtype == np.uint8 and gray.ndim == 2
    with Decoder() as d:
        assert [s.text for s in d.decode(gray)] == ["FILE 1"]


def test_load_gray_missing_or_garbage_file_names_it(tmp_path) -> None:
    missing = tmp_path / "nope.png"
    with pytest.raises(DecodeError, match=r"nope\.png"):
        load_gray(missing)
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"\x00not an image at all" * 10)
    with pytest.raises(DecodeError, match=r"garbage\.jpg"):
        load_gray(garbage)


# Floors for our decoder's read rate per category of the generated (synthetic) set: today's rate on all
# 180 frames (18 per category, clock frozen) minus one frame, so losing two frames of one category fails.
# Measured when set (zxing-cpp alone in brackets): blur 14/18 (12), clean 17 (17), combined 12 (8),
# glare 18 (17), inverted 18 (17), low_contrast 16 (16), moire 12 (5), motion_blur 9 (9),
# perspective 18 (18), small 18 (16). Raise a floor when the decoder improves; never lower one silently.
SYNTHETIC_FLOORS = {
    "blur": 13 / 18,
    "clean": 16 / 18,
    "combined": 11 / 18,
    "glare": 17 / 18,
    "inverted": 17 / 18,
    "low_contrast": 15 / 18,
    "moire": 11 / 18,
    "motion_blur": 8 / 18,
    "perspective": 17 / 18,
    "small": 17 / 18,
}


def test_on_shared_photos_every_category_keeps_its_floor_and_no_idle_reads() -> None:
    base = shared_dir()
    qr = base / "data" / "qr" if base else None
    if qr is None or not (qr / "manifest.json").exists():
        pytest.skip("shared QR data not present (set KIOSK_SHARED_DIR)")
    manifest = json.loads((qr / "manifest.json").read_text(encoding="utf-8"))
    synthetic = [e for e in manifest if e["source"] == "synthetic"]
    idle = [e for e in manifest if e["source"] == "idle"]
    # A new category needs a floor, a vanished one must not pass silently.
    assert {e["category"] for e in synthetic} == set(SYNTHETIC_FLOORS)
    read: dict[str, list[bool]] = {category: [] for category in SYNTHETIC_FLOORS}
    # A clock that never moves: no fallback stage is skipped for time, so the rates do not depend on load.
    with Decoder(clock=lambda: 0.0) as d:
        for e in synthetic:
            symbols = d.decode(load_gray(qr / e["image"]))
            read[e["category"]].append(any(s.text == e["expected_text"] for s in symbols))
        for e in idle:
            assert d.decode(load_gray(qr / e["image"])) == [], e["image"]
    rates = {category: sum(hits) / len(hits) for category, hits in read.items()}
    below = {
        category: f"{sum(read[category])}/{len(read[category])} < floor {floor:.2f}"
        for category, floor in SYNTHETIC_FLOORS.items()
        if rates[category] < floor
    }
    assert not below, f"read rate fell below its floor in {below}"


def _small_dense_code_scene(seed: int) -> tuple[np.ndarray, np.ndarray, bytes]:
    """A version-11 code 90 px wide in a noisy vga preview, and the same scene at 3× (the main stream)."""
    import cv2

    rng = np.random.default_rng(seed)
    payload = b"x" * 300
    qr = segno.make_qr(payload, error="l")
    modules = np.array([[0 if bit else 255 for bit in row] for row in qr.matrix], np.uint8)
    modules = np.pad(modules, 4, constant_values=255)
    full = np.full((1440, 1920), 200, np.uint8)
    full[300:570, 600:870] = cv2.resize(modules, (270, 270), interpolation=cv2.INTER_NEAREST)
    full = np.clip(full + rng.normal(0, 12, full.shape), 0, 255).astype(np.uint8)
    vga = cv2.resize(full, (640, 480), interpolation=cv2.INTER_AREA)
    vga = np.clip(vga + rng.normal(0, 12, vga.shape), 0, 255).astype(np.uint8)
    return vga, full, payload


def test_the_main_stream_reads_what_the_preview_cannot() -> None:
    vga, full, payload = _small_dense_code_scene(seed=2)
    # A clock that never moves: no stage is skipped for time, so the outcome does not depend on load.
    options = DecoderOptions(
        stages="main-stream-crop,crop,upscale2x", blind_stages="main-stream-2x,stretch-shadows,upscale2x"
    )
    decoder = Decoder(options, clock=lambda: 0.0)
    assert decoder.decode(vga) == []  # too few pixels per module in the preview
    assert "main-stream-2x" not in decoder.last_stages  # no main stream, no main-stream stage
    symbols = decoder.decode(vga, full)
    assert [s.raw for s in symbols] == [payload]
    assert decoder.last_stats.read_by in ("main-stream-crop", "main-stream-2x")
    # the quad is reported in preview coordinates, around the code (preview x 200-290, y 100-190)
    xs = [p[0] for p in symbols[0].quad]
    ys = [p[1] for p in symbols[0].quad]
    assert 195 <= min(xs) < max(xs) <= 295
    assert 95 <= min(ys) < max(ys) <= 195


def test_a_full_frame_that_is_not_the_same_scene_is_refused(decoder: Decoder) -> None:
    vga = np.zeros((480, 640), np.uint8)
    with pytest.raises(DecodeError, match="not a larger view"):
        decoder.decode(vga, np.zeros((1080, 1080), np.uint8))
    with pytest.raises(DecodeError, match="not a larger view"):
        decoder.decode(vga, np.zeros((240, 320), np.uint8))


# -- load_gray: untrusted image files, refused from their header before anything is decoded -----------


def _huge_headers(side: int = 30_000) -> dict[str, bytes]:
    """Minimal files of every format ``load_gray`` reads, each declaring ``side``×``side`` pixels."""

    def png_chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    def tiff(big: bool) -> bytes:
        if big:
            entries = b"".join(struct.pack("<HHQQ", tag, 4, 1, side) for tag in (256, 257))
            return b"II+\x00" + struct.pack("<HHQ", 8, 0, 16) + struct.pack("<Q", 2) + entries
        entries = b"".join(struct.pack("<HHII", tag, 4, 1, side) for tag in (256, 257))
        return b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 2) + entries + b"\0\0\0\0"

    vp8x = struct.pack("<I", 0) + (side - 1).to_bytes(3, "little") + (side - 1).to_bytes(3, "little")
    return {
        "png": b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
        + png_chunk(b"IEND", b""),
        # APP0 (JFIF), a COM segment and fill bytes before a progressive frame header (SOF2)
        "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\xff\xfe\x00\x05hi!\xff\xff\xc2\x00\x0b\x08"
        + struct.pack(">HH", side, side)
        + b"\x01\x01\x11\x00\xff\xd9",
        # a bottom-up bitmap has a positive height, a top-down one a negative height
        "bmp": b"BM" + bytes(12) + struct.pack("<Iii", 40, side, -side) + bytes(28),
        # a small screen, but a first frame that declares a huge rectangle
        "gif": b"GIF89a"
        + struct.pack("<HHBBB", 10, 10, 0, 0, 0)
        + b"\x21\xfe\x02hi\x00"
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, side, side, 0)
        + b"\x02\x02\x44\x01\x00\x3b",
        "webp": b"RIFF" + struct.pack("<I", 22) + b"WEBPVP8X" + struct.pack("<I", 10) + vp8x,
        "tiff": tiff(big=False),
        "bigtiff": tiff(big=True),
        "pgm": b"P5\n# made by hand\n%d %d\n255\n" % (side, side),
        "pam": b"P7\nWIDTH %d\nHEIGHT %d\nDEPTH 1\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n" % (side, side),
        "ras": b"\x59\xa6\x6a\x95" + struct.pack(">7I", side, side, 8, 0, 1, 0, 0),
    }


@pytest.mark.parametrize("fmt", sorted(_huge_headers()))
def test_a_header_declaring_too_many_pixels_is_refused_before_decoding(tmp_path, fmt: str) -> None:
    path = tmp_path / f"bomb.{fmt}"
    path.write_bytes(_huge_headers()[fmt])

    assert read_header(path.read_bytes()) is not None
    with pytest.raises(
        DecodeError, match=r"bomb\.\w+: its [\w ]+ header declares 30000x30000 = 900,000,000 pixels"
    ):
        load_gray(path)


@pytest.mark.parametrize(
    ("ext", "channels"),
    [
        (".png", 1),
        (".png", 3),
        (".jpg", 1),
        (".jpg", 3),
        (".bmp", 1),
        (".bmp", 3),
        (".webp", 3),
        (".tif", 1),
        (".tif", 3),
        (".gif", 3),
        (".pgm", 1),
        (".ppm", 3),
        (".pbm", 1),
        (".pam", 1),
        (".ras", 3),
    ],
)
def test_the_header_size_is_the_size_opencv_decodes(tmp_path, ext: str, channels: int) -> None:
    import cv2

    shape = (37, 53) if channels == 1 else (37, 53, 3)
    image = np.random.default_rng(7).integers(0, 256, shape, dtype=np.uint8)
    ok, encoded = cv2.imencode(ext, image)
    assert ok
    path = tmp_path / f"small{ext}"
    path.write_bytes(encoded.tobytes())

    header = read_header(path.read_bytes())
    assert header is not None
    assert (header.width, header.height) == (53, 37)
    assert load_gray(path, max_pixels=53 * 37).shape == (37, 53)
    with pytest.raises(DecodeError, match="at most 1,960 are accepted"):
        load_gray(path, max_pixels=53 * 37 - 1)


def test_a_12_megapixel_photo_still_loads_under_the_default_limit(tmp_path) -> None:
    import cv2

    path = tmp_path / "phone.jpg"
    assert cv2.imwrite(str(path), np.full((3000, 4000), 128, np.uint8))

    assert load_gray(path).shape == (3000, 4000)
    assert DecoderOptions().max_image_pixels >= 12_000_000


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "Is a directory"),
        (b"", "the file is empty"),
        (b"hello, not an image", "not a supported image file (PNG, JPEG"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "damaged or truncated PNG header"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "damaged or truncated JPEG header"),
        (b"\xff\xd8\xff\xda\x00\x08", "JPEG header (no frame header"),
        (b"\xff\xd8" + b"\xff" * 100_000, "JPEG header (a run of fill bytes)"),
        (b"GIF89a" + bytes(7) + b"\x21\xfe" + b"\x01\x00" * 600_000, "GIF header (no image descriptor near"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "not a supported image file"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\x00" * 17, "its PNG header declares no pixels"),
    ],
)
def test_load_gray_names_the_file_and_says_what_is_wrong(
    tmp_path, content: bytes | None, fragment: str
) -> None:
    path = tmp_path / "input.img"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)

    with pytest.raises(DecodeError) as err:
        load_gray(path)
    assert str(path) in str(err.value)
    assert fragment in str(err.value)


def test_a_truncated_image_is_a_decode_error(tmp_path) -> None:
    path = tmp_path / "half.png"
    segno.make_qr("HALF").save(str(path), scale=5)
    path.write_bytes(path.read_bytes()[:-40])

    with pytest.raises(DecodeError, match=r"half\.png: damaged or truncated PNG data"):
        load_gray(path)


def test_a_file_over_the_byte_cap_is_refused_unread(tmp_path) -> None:
    path = tmp_path / "big.png"
    segno.make_qr("BIG").save(str(path), scale=5)
    with path.open("r+b") as fh:  # sparse: the size is what is checked, nothing is read
        fh.truncate(MAX_IMAGE_BYTES + 1)

    with pytest.raises(DecodeError, match=r"big\.png: larger than 64 MiB"):
        load_gray(path)
    with pytest.raises(DecodeError, match="larger than 100 bytes"):
        load_gray(path, max_bytes=100)
