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


# --- the admin settings file (what the admin screen saves) ---------------------------------------------------


def admin_file(tmp_path: Path) -> Path:
    return tmp_path / "var" / "admin-settings.toml"


def test_precedence_file_then_admin_settings_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    admin = admin_file(tmp_path)
    path.write_text(
        f'[location]\nname = "From the file"\ndistrict = "Phú Hội"\n[store]\nadmin_settings = "{admin}"\n'
        '[policy]\nrepeat_window_s = 10\nmode = "health"\n',
        encoding="utf-8",
    )
    admin.parent.mkdir()
    admin.write_text(
        '[location]\nname = "From the admin"\n[policy]\nrepeat_window_s = 40\n', encoding="utf-8"
    )
    config = load_config(path, environ={"KIOSK_POLICY_REPEAT_WINDOW_S": "50"})
    assert config.location.name == "From the admin"  # admin settings over the file
    assert config.location.district == "Phú Hội"  # the file where the admin saved nothing
    assert config.policy.mode is PolicyMode.HEALTH
    assert config.policy.repeat_window_s == 50.0  # the environment over the admin settings
    flags = load_config(path, environ={}, overrides={"location.name": "From a flag"})
    assert flags.location.name == "From a flag"
    assert flags.policy.repeat_window_s == 40.0


def test_a_missing_admin_settings_file_is_fine(tmp_path: Path) -> None:
    config = load_config(environ={"KIOSK_STORE_ADMIN_SETTINGS": str(tmp_path / "none.toml")})
    assert config.location.name == Config().location.name
    assert config.store.admin_settings == tmp_path / "none.toml"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[location]\ncode = "HUE-9"\n', "location.code"),
        ('[store]\ndatabase = "/tmp/x.db"\n', "store.database"),
        ("[gate]\nenabled = true\n", "gate.enabled"),
    ],
)
def test_a_key_the_admin_may_not_set_is_refused(tmp_path: Path, text: str, key: str) -> None:
    admin = admin_file(tmp_path)
    admin.parent.mkdir()
    admin.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(environ={}, overrides={"store.admin_settings": str(admin)})
    assert err.value.key == key
    assert str(admin) in str(err.value) and "location.name" in str(err.value)  # the file; what is allowed


def test_saved_admin_settings_are_what_the_next_start_reads(tmp_path: Path) -> None:
    from kiosk.settings import save_admin_settings

    admin = admin_file(tmp_path)
    base = load_config(environ={}, overrides={"store.admin_settings": str(admin)})
    values = {
        "location.name": 'UBND phường "Vĩnh Ninh" \\ Huế',
        "location.address": "12 Lê Lợi",
        "device.direction": "both",
        "policy.mode": "health",
        "policy.repeat_window_s": "45",
        "retention.days": "60",
        "sync.server_url": "https://kiosk.hue.gov.vn/api",
    }
    saved = save_admin_settings(admin, values, base=base)
    assert saved.location.name == 'UBND phường "Vĩnh Ninh" \\ Huế'
    assert saved.device.direction is Direction.BOTH
    assert saved.policy.repeat_window_s == 45.0 and saved.retention.days == 60
    assert load_config(environ={}, overrides={"store.admin_settings": str(admin)}) == saved
    assert not [p for p in admin.parent.iterdir() if p != admin]  # no temporary file left

    again = save_admin_settings(admin, {"retention.days": "90"}, base=base)  # the other keys stay
    assert again.retention.days == 90 and again.location.address == "12 Lê Lợi"
    assert load_config(environ={}, overrides={"store.admin_settings": str(admin)}) == again


@pytest.mark.parametrize(
    ("key", "value", "hint"),
    [
        ("location.name", "  ", "must not be empty"),
        ("location.name", "Tab\there", "control character"),
        ("location.name", "x" * 501, "at most 500 characters"),
        ("device.direction", "sideways", "allowed values: in, out, both"),
        ("policy.mode", "allowlist", "allowlist mode needs a roster file"),
        ("policy.repeat_window_s", "abc", "is not a number"),
        ("policy.repeat_window_s", "4000", "between 0 and 3600"),
        ("retention.days", "0", "between 1 and 3650"),
        ("retention.days", "1.5", "not a whole number"),
        ("sync.server_url", "http://x", "must start with https://"),
        ("location.code", "HUE-9", "cannot be changed from the admin screen"),
    ],
)
def test_invalid_admin_values_are_refused_and_the_file_is_untouched(
    tmp_path: Path, key: str, value: str, hint: str
) -> None:
    from kiosk.settings import save_admin_settings

    admin = admin_file(tmp_path)
    base = load_config(environ={}, overrides={"store.admin_settings": str(admin)})
    save_admin_settings(admin, {"location.name": "Before"}, base=base)
    before = admin.read_bytes()
    with pytest.raises(ConfigError) as err:
        save_admin_settings(admin, {"location.address": "changed", key: value}, base=base)
    assert err.value.key in (key, "policy.roster")
    assert hint in str(err.value)
    assert admin.read_bytes() == before
    assert sorted(p.name for p in admin.parent.iterdir()) == [admin.name]


class Crash(BaseException):
    """The power going off, as far as this process can tell."""


def test_a_crash_while_writing_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import kiosk.fileio
    from kiosk.settings import save_admin_settings

    admin = admin_file(tmp_path)
    base = load_config(environ={}, overrides={"store.admin_settings": str(admin)})
    save_admin_settings(admin, {"location.name": "Before", "retention.days": "40"}, base=base)
    before = admin.read_bytes()

    def crash(fd: int) -> None:
        raise Crash  # the new text is written to the temporary file, not yet on the disk nor renamed

    monkeypatch.setattr(kiosk.fileio.os, "fsync", crash)
    with pytest.raises(Crash):
        save_admin_settings(admin, {"location.name": "After"}, base=base)
    monkeypatch.setattr(kiosk.fileio.os, "fsync", os.fsync)
    assert admin.read_bytes() == before
    config = load_config(environ={}, overrides={"store.admin_settings": str(admin)})
    assert config.location.name == "Before" and config.retention.days == 40


def test_a_file_that_cannot_be_written_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kiosk.fileio
    from kiosk.settings import save_admin_settings

    def refuse(**_kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(kiosk.fileio.tempfile, "mkstemp", refuse)
    admin = admin_file(tmp_path)
    with pytest.raises(ConfigError) as err:
        save_admin_settings(admin, {"retention.days": "5"}, base=Config())
    assert err.value.key == "store.admin_settings" and "Permission denied" in str(err.value)
    assert not admin.exists()
