"""Decoder tests on QR images generated at test time with segno; shared photo data only when present."""

from __future__ import annotations

import json

import numpy as np
import pytest
import segno
import zxingcpp

from kiosk.decode import Decoder, DecoderOptions, load_gray
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


def test_on_shared_photos_at_least_zxing_alone_and_no_idle_reads() -> None:
    base = shared_dir()
    qr = base / "data" / "qr" if base else None
    if qr is None or not (qr / "manifest.json").exists():
        pytest.skip("shared QR data not present (set KIOSK_SHARED_DIR)")
    manifest = json.loads((qr / "manifest.json").read_text(encoding="utf-8"))
    synthetic = [e for e in manifest if e["source"] == "synthetic"][::6][:30]
    idle = [e for e in manifest if e["source"] == "idle"]
    ours = theirs = 0
    with Decoder() as d:
        for e in synthetic:
            gray = load_gray(qr / e["image"])
            ours += any(s.text == e["expected_text"] for s in d.decode(gray))
            theirs += e["expected_text"] in zxing_alone(gray)
        assert ours >= theirs
        for e in idle:
            assert d.decode(load_gray(qr / e["image"])) == [], e["image"]


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
    options = DecoderOptions(stages="full_crop,crop,up2", blind_stages="full2x,gamma05,up2")
    decoder = Decoder(options, clock=lambda: 0.0)
    assert decoder.decode(vga) == []  # too few pixels per module in the preview
    assert "full2x" not in decoder.last_stages  # no main stream, no main-stream stage
    symbols = decoder.decode(vga, full)
    assert [s.raw for s in symbols] == [payload]
    assert decoder.last_stats.read_by in ("full_crop", "full2x")
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
