"""The device configuration pulled from the provincial server is a layer of the kiosk's config: above the TOML
file, below the admin's settings, the environment and the command line; a bad one never stops the gate."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pytest

from app.build import config_from_args
from kiosk.model import PolicyMode
from kiosk.sync.client import ConfigResult
from kiosk.sync.fake import default_config
from kiosk.sync.state import SyncState
from tests.sync_support import T0


def _args(tmp_path: Path, *sets: str) -> argparse.Namespace:
    toml = tmp_path / "kiosk.toml"
    toml.write_text(
        f'[location]\nname = "From the file"\n[sync]\nstate_dir = "{tmp_path / "sync"}"\n'
        f'[store]\nadmin_settings = "{tmp_path / "admin.toml"}"\n',
        encoding="utf-8",
    )
    return argparse.Namespace(config=toml, set=list(sets), db=None)


def _pull(tmp_path: Path, **changes: object) -> None:
    document = {**default_config("HUE-0001"), **changes}
    SyncState(tmp_path / "sync").apply_config(ConfigResult('"v1"', document), at=T0)


def test_without_a_pulled_configuration_the_file_rules(tmp_path: Path) -> None:
    config = config_from_args(_args(tmp_path))
    assert config.location.name == "From the file" and config.policy.deny_list is None


def test_the_pulled_configuration_is_above_the_file(tmp_path: Path) -> None:
    _pull(tmp_path, policy={"mode": "health", "repeat_window_s": 45}, retention={"days": 14})
    config = config_from_args(_args(tmp_path))
    assert (config.location.code, config.location.name) == ("HUE-0001", "UBND phường Vĩnh Ninh")
    assert config.policy.mode is PolicyMode.HEALTH and config.policy.repeat_window_s == 45
    assert config.retention.days == 14
    assert config.policy.deny_list is not None
    assert json.loads(config.policy.deny_list.read_text(encoding="utf-8"))["key_id"] == "hue-2026"


def test_the_command_line_and_the_admin_settings_are_above_the_server(tmp_path: Path) -> None:
    _pull(tmp_path)
    (tmp_path / "admin.toml").write_text('[location]\nname = "Set on the admin screen"\n', encoding="utf-8")
    assert config_from_args(_args(tmp_path)).location.name == "Set on the admin screen"
    config = config_from_args(_args(tmp_path, "location.name=From the command line"))
    assert config.location.name == "From the command line"


def test_an_invalid_pulled_setting_is_logged_and_the_local_configuration_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _pull(tmp_path, retention={"days": 99999})  # out of range for retention.days
    with caplog.at_level(logging.ERROR):
        config = config_from_args(_args(tmp_path))
    assert config.location.name == "From the file" and config.retention.days == 30
    assert "retention.days" in caplog.text
