"""Configuration: defaults, file, environment and override precedence; errors name the key."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from kiosk.config import Config, load_config
from kiosk.errors import ConfigError
from kiosk.model import Direction, PolicyMode

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "kiosk.example.toml"


def test_defaults_without_any_file() -> None:
    config = load_config(environ={})
    assert config.policy.mode is PolicyMode.LOG
    assert config.device.direction is Direction.IN
    assert config.store.database == Path("/var/lib/kiosk/kiosk.db")


def test_precedence_file_then_environment_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(
        '[policy]\nmode = "health"\nrepeat_window_s = 10\n[location]\ncode = "HUE-001"\n'
        'name = "UBND phường Vĩnh Ninh"\n',
        encoding="utf-8",
    )
    config = load_config(path, environ={"KIOSK_POLICY_REPEAT_WINDOW_S": "20"})
    assert config.policy.mode is PolicyMode.HEALTH
    assert config.policy.repeat_window_s == 20.0
    assert config.location.name == "UBND phường Vĩnh Ninh"
    config = load_config(
        path,
        environ={"KIOSK_POLICY_REPEAT_WINDOW_S": "20"},
        overrides={"policy.repeat_window_s": "5", "device.direction": "OUT"},
    )
    assert config.policy.repeat_window_s == 5.0
    assert config.device.direction is Direction.OUT


def test_kiosk_config_variable_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "k.toml"
    path.write_text('[device]\nid = "gate-2"\n', encoding="utf-8")
    assert load_config(environ={"KIOSK_CONFIG": str(path)}).device.id == "gate-2"


@pytest.mark.parametrize(
    ("overrides", "key", "hint"),
    [
        ({"policy.mode": "strict"}, "policy.mode", "log, health, allowlist"),
        ({"device.direction": "sideways"}, "device.direction", "in, out, both"),
        ({"store.min_free_mb": "lots"}, "store.min_free_mb", "not a number"),
        ({"store.min_free_mb": "-1"}, "store.min_free_mb", "0 or more"),
        ({"decoder.fallbacks": "maybe"}, "decoder.fallbacks", "true, false"),
        ({"policy.colour": "red"}, "policy.colour", "allowed keys"),
        ({"retention.days": "0"}, "retention.days", "between 1 and 3650"),
        ({"location.code": "bad code!"}, "location.code", "letters, digits"),
        ({"policy.mode": "allowlist"}, "policy.roster", "roster file"),
        ({"nodot": "x"}, "nodot", "section.key"),
        ({"decoder.stages": "crop,magic"}, "decoder.stages", "unknown stage 'magic'"),
        ({"decoder.edge_fraction_min": "2"}, "decoder.edge_fraction_min", "between 0 and 1"),
        ({"camera.exposure": "bright"}, "camera.exposure", "'auto', or a number"),
        ({"camera.focus": "-2"}, "camera.focus", "'auto', or a number"),
        ({"camera.source": "webcam"}, "camera.source", "replay:PATH"),
        ({"gate.relay_pin": "GPIO17"}, "gate.relay_pin", "BCM GPIO number"),
        ({"sync.server_url": "http://province.example"}, "sync.server_url", "https://"),
    ],
)
def test_invalid_values_name_the_key_and_what_is_allowed(
    overrides: dict[str, str], key: str, hint: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(environ={}, overrides=overrides)
    assert err.value.key == key
    assert hint in str(err.value)


def test_unreadable_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[policy\nmode=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, environ={})
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('policy = "log"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="table"):
        load_config(wrong, environ={})


def test_config_is_frozen() -> None:
    config = load_config(environ={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.policy.mode = PolicyMode.HEALTH  # type: ignore[misc]


def test_example_file_documents_every_key_with_its_default() -> None:
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    defaults = Config()
    sections = {f.name for f in dataclasses.fields(Config)}
    assert set(example) == sections
    for section in sections:
        value = getattr(defaults, section)
        fields = {f.name for f in dataclasses.fields(value)}
        assert set(example[section]) == fields, section
        for name in fields:
            default = getattr(value, name)
            written = example[section][name]
            if default is None:
                assert written == "", f"{section}.{name}"
            elif isinstance(default, Path):
                assert Path(written) == default, f"{section}.{name}"
            elif hasattr(default, "value"):
                assert written == default.value, f"{section}.{name}"
            else:
                assert written == default, f"{section}.{name}"
    # and the example loads as a valid configuration
    assert load_config(EXAMPLE, environ={}) == defaults


# --- range checks for the scanner's baud rate and the decoder's crop and pixel limits ------------------------


@pytest.mark.parametrize(
    ("key", "value", "hint"),
    [
        ("scanner.serial_baud", "7", "7 is not a standard baud rate; allowed values: 1200, 2400, 4800, 9600"),
        ("scanner.serial_baud", "0", "0 is not a standard baud rate"),
        ("scanner.serial_baud", "-5", "-5 is not a standard baud rate"),
        ("scanner.serial_baud", "99999999999", "99999999999 is not a standard baud rate"),
        ("scanner.serial_baud", "115201", "57600, 115200, 230400, 460800, 921600"),
        ("decoder.crop_margin", "-0.1", "-0.1: must be between 0 and 2"),
        ("decoder.crop_margin", "3", "3: must be between 0 and 2"),
        ("decoder.crop_target_px", "0", "0: must be between 100 and 4000 pixels"),
        ("decoder.crop_target_px", "99999", "99999: must be between 100 and 4000 pixels"),
        ("decoder.max_fallback_pixels", "-1", "-1: must be between 0 (whole-frame fallbacks off) and 5"),
        ("decoder.max_fallback_pixels", "1000000000", "1000000000: must be between 0"),
        ("decoder.max_fallback_ms", "0", "0 ms: must be above 0 and at most 1000"),
        ("decoder.edge_fraction_min", "-1", "-1: must be between 0 and 1"),
    ],
)
def test_out_of_range_scanner_and_decoder_values_name_key_value_and_range(
    key: str, value: str, hint: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(environ={}, overrides={key: value})
    assert err.value.key == key
    assert str(err.value).startswith(f"config {key}: ")
    assert hint in str(err.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("scanner.serial_baud", "9600"),
        ("scanner.serial_baud", "921600"),
        ("decoder.crop_margin", "0"),
        ("decoder.crop_margin", "2"),
        ("decoder.crop_target_px", "100"),
        ("decoder.crop_target_px", "4000"),
        ("decoder.max_fallback_pixels", "0"),
        ("decoder.max_fallback_pixels", "50000000"),
    ],
)
def test_range_ends_are_accepted(key: str, value: str) -> None:
    config = load_config(environ={}, overrides={key: value})
    section, name = key.split(".")
    assert getattr(getattr(config, section), name) == float(value)


def comment_above(text: str, key: str) -> str:
    """The comment lines directly above ``key = ...`` in a TOML file."""
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(f"{key} = "))
    comment: list[str] = []
    while index > 0 and lines[index - 1].startswith("#"):
        index -= 1
        comment.insert(0, lines[index])
    return " ".join(comment)


def test_example_file_states_the_ranges_it_checks() -> None:
    from kiosk.config import SERIAL_BAUD_RATES

    text = EXAMPLE.read_text(encoding="utf-8")
    assert all(str(rate) in comment_above(text, "serial_baud") for rate in SERIAL_BAUD_RATES)
    assert "(0-2)" in comment_above(text, "crop_margin")
    assert "(100-4000)" in comment_above(text, "crop_target_px")
    assert "(0-50000000" in comment_above(text, "max_fallback_pixels")
