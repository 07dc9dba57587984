"""The decoder's stage names, the light import of its options, and large frames read through their preview."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from kiosk.config import load_config
from kiosk.decode import Decoder, DecoderOptions
from kiosk.decode.plan import Reader, Source, StageSpec, is_stage_name, parse_plan, parse_stage
from kiosk.errors import ConfigError
from tests.test_decode import render, zxing_alone

# -- reading the configuration loads no decoder ---------------------------------------------------------


def test_reading_the_config_loads_neither_the_decoder_nor_its_libraries() -> None:
    code = (
        "import sys, kiosk.config\n"
        "kiosk.config.load_config(environ={}, overrides={'decoder.stages': 'gh,crop+median'})\n"
        "print(sorted(m for m in sys.modules if m in ('kiosk.decode.decoder', 'kiosk.decode.stage',"
        " 'zxingcpp', 'cv2')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- stage names ----------------------------------------------------------------------------------------

OLD_DEFAULT_STAGES = "full_crop,crop,gh,gamma3,sharpen1,up2,crop_clahe4,up2gh,pyzbar_up2"
OLD_DEFAULT_BLIND = "full2x,gamma05,down2,gamma3,up2,median3,open,pyzbar,clahe4,up2gh,up2adapt"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("gh", "global-threshold"),
        ("up2gh", "upscale2x+global-threshold"),
        ("crop_clahe4", "crop+local-contrast-strong"),
        ("crop_gh", "crop+global-threshold"),
        ("full_crop", "main-stream-crop"),
        ("full2x", "main-stream-2x"),
        ("pyzbar", "zbar"),
        ("pyzbar_up2", "upscale2x+zbar"),
        ("gamma05", "stretch-shadows"),
        ("gamma3", "stretch-highlights"),
        ("sharpen", "sharpen-wide"),
        ("sharpen1", "sharpen-fine"),
        ("median3", "median"),
        ("open", "grey-opening"),
        ("up2adapt", "upscale2x+mean-threshold"),
        ("flat", "flatten-lighting"),
        ("crop", "crop"),
    ],
)
def test_the_short_names_of_earlier_releases_are_aliases(old: str, new: str) -> None:
    assert parse_stage(old) == parse_stage(new)
    assert parse_stage(old).name == new


def test_the_default_plans_mean_what_the_short_names_meant() -> None:
    options = DecoderOptions()
    assert parse_plan(options.stages) == parse_plan(OLD_DEFAULT_STAGES)
    assert parse_plan(options.blind_stages) == parse_plan(OLD_DEFAULT_BLIND)
    # the defaults are written in the descriptive names
    assert [s.name for s in parse_plan(options.stages)] == options.stages.split(",")


def test_a_stage_name_is_parsed_into_source_transforms_and_reader() -> None:
    spec = parse_stage("crop+upscale2x+local-contrast-strong+zbar")
    assert spec == StageSpec(Source.CROP, ("upscale2x", "local-contrast-strong"), Reader.ZBAR)
    assert spec.scale == 2.0
    assert parse_stage(" upscale2x + global-threshold ").name == "upscale2x+global-threshold"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("magic", "unknown step 'magic'"),
        ("upscale2x+crop", "the source 'crop' must come first"),
        ("zbar+upscale2x", "nothing may follow the reader 'zbar'"),
        ("crop+", "unknown step ''"),
        ("gh2", "unknown step 'gh2'"),
    ],
)
def test_a_bad_stage_name_says_what_is_wrong(name: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_stage(name)
    assert not is_stage_name(name)


def test_the_config_keys_take_descriptive_and_short_names() -> None:
    config = load_config(
        environ={},
        overrides={"decoder.stages": "crop, gh, crop+median", "decoder.blind_stages": "up2gh,zbar"},
    )
    assert config.decoder.stages == "crop, gh, crop+median"
    with pytest.raises(ConfigError, match="unknown stage 'crop_magic'"):
        load_config(environ={}, overrides={"decoder.blind_stages": "gamma05,crop_magic"})


def test_the_decoder_reports_descriptive_stage_names_for_short_ones() -> None:
    frame, _ = _small_code_photo()
    with Decoder(DecoderOptions(stages="up2", blind_stages="up2"), clock=lambda: 0.0) as decoder:
        [symbol] = decoder.decode(frame)
    assert decoder.last_stats.read_by == symbol.decoder == "upscale2x"


# -- a large photo is never read worse than its own downscale ----------------------------------------


def _small_code_photo(k: int = 1) -> tuple[np.ndarray, tuple[float, float]]:
    """A 640×480 scene whose code has ~1.2 px modules (zxing-cpp alone cannot read it; a 2× upscale can),
    blown up ``k`` times with a one-pixel ±70 checkerboard that defeats zxing-cpp on the large frame and
    that an area downscale averages away (all but the clipped dark modules). Also where the symbol's top-left corner lies."""
    import cv2

    code = render("SMALL-CODE-IN-A-BIG-PHOTO", scale=3, border=4)
    code = cv2.resize(code, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)
    scene = np.full((480, 640), 255, np.uint8)
    scene[200 : 200 + code.shape[0], 300 : 300 + code.shape[1]] = code
    if k == 1:
        return scene, (304.8, 204.8)
    scene = (60 + scene.astype(np.float64) * 130 / 255).round().astype(np.int16)  # grey 60-190
    big = cv2.resize(scene, None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)
    yy, xx = np.indices(big.shape)
    big = np.clip(big + np.where((yy + xx) % 2 == 0, 70, -70), 0, 255).astype(np.uint8)
    return big, (304.8 * k, 204.8 * k)


def test_a_large_photo_runs_the_whole_frame_stages_on_its_preview() -> None:
    photo, (x, y) = _small_code_photo(k=4)  # 2560×1920: 4.9 Mpx, over max_fallback_pixels
    assert photo.size > DecoderOptions().max_fallback_pixels
    assert zxing_alone(photo) == []
    # Only a whole-frame stage, and a clock that never moves: no stage is skipped for time.
    options = DecoderOptions(stages="upscale2x", blind_stages="upscale2x")
    with Decoder(options, clock=lambda: 0.0) as decoder:
        [symbol] = decoder.decode(photo)
    assert symbol.text == "SMALL-CODE-IN-A-BIG-PHOTO"
    assert decoder.last_stats.stages == ("zxing", "preview", "upscale2x")
    assert decoder.last_stats.read_by == "upscale2x"
    # the quad is in the photo's coordinates, on the symbol (about 100 photo pixels wide)
    xs = [p[0] for p in symbol.quad]
    ys = [p[1] for p in symbol.quad]
    assert x - 8 <= min(xs) < max(xs) <= x + 110
    assert y - 8 <= min(ys) < max(ys) <= y + 110


def test_a_large_photo_reads_with_the_default_options() -> None:
    photo, _ = _small_code_photo(k=4)
    with Decoder(clock=lambda: 0.0) as decoder:
        assert [s.text for s in decoder.decode(photo)] == ["SMALL-CODE-IN-A-BIG-PHOTO"]
        assert decoder.last_stats.stages[:2] == ("zxing", "preview")


def test_no_preview_for_a_frame_that_fits_or_when_fallbacks_are_off() -> None:
    frame, _ = _small_code_photo()
    with Decoder(clock=lambda: 0.0) as decoder:
        decoder.decode(frame)
        assert "preview" not in decoder.last_stats.stages
    photo, _ = _small_code_photo(k=4)
    with Decoder(DecoderOptions(fallbacks=False)) as decoder:
        assert decoder.decode(photo) == []
        assert decoder.last_stats.stages == ("zxing",)
