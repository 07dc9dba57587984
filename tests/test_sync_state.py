"""The sync worker's files (token, state, status, pulled configuration) and the back-off rule."""

from __future__ import annotations

import json
import random
import stat
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

import kiosk.sync.state as state_module
from kiosk.errors import SyncError
from kiosk.sync.backoff import MAX_RETRY_AFTER_S, Backoff, BackoffState
from kiosk.sync.client import ConfigResult
from kiosk.sync.fake import default_config
from kiosk.sync.state import (
    INDEX_FILE,
    SyncState,
    SyncStatus,
    WorkerState,
    health_file_source,
    read_server_config,
    read_status,
)
from tests.sync_support import T0, TOKEN


def test_token_file_is_0600_replaced_whole_and_read_back(tmp_path: Path) -> None:
    state = SyncState(tmp_path / "sync")
    assert state.read_token() is None
    state.write_token(TOKEN)
    assert stat.S_IMODE(state.token_path.stat().st_mode) == 0o600
    assert state.read_token() == TOKEN
    state.write_token("another-token-1234567")
    assert state.read_token() == "another-token-1234567"
    assert sorted(p.name for p in state.state_dir.iterdir()) == ["token"]  # no temporary file left


def test_a_bad_token_is_refused_without_showing_it(tmp_path: Path) -> None:
    state = SyncState(tmp_path)
    with pytest.raises(SyncError) as err:
        state.write_token("has space secret")
    assert "secret" not in str(err.value)


def test_worker_state_round_trips_and_a_damaged_file_is_a_fresh_start(tmp_path: Path) -> None:
    state = SyncState(tmp_path)
    saved = WorkerState(BackoffState(3, T0 + timedelta(seconds=40)), '"abc"', T0, "boom", 2, True)
    state.save(saved)
    assert state.load() == saved
    assert stat.S_IMODE((tmp_path / "state.json").stat().st_mode) == 0o600
    (tmp_path / "state.json").write_text("{not json", encoding="utf-8")
    assert state.load() == WorkerState()


def test_status_is_written_for_the_app(tmp_path: Path) -> None:
    status = SyncStatus(T0, True, T0, None, 4, 1)
    SyncState(tmp_path).write_status(status)
    assert read_status(tmp_path) == status
    assert read_status(tmp_path / "nothing") is None


def result(etag: str, **changes: object) -> ConfigResult:
    return ConfigResult(etag, {**default_config("HUE-001"), **changes})


def test_configuration_is_applied_into_a_new_folder_then_the_index(tmp_path: Path) -> None:
    state = SyncState(tmp_path)
    first = state.apply_config(result('"one"', roster={"version": 1, "rows": []}), at=T0)
    assert first.deny_list is not None and json.loads(first.deny_list.read_text()) == {
        "key_id": "hue-2026",
        "hashes": [],
    }
    assert first.roster is not None and first.trust_list is None
    assert first.settings["policy"] == {"mode": "log", "repeat_window_s": 30}
    assert read_server_config(tmp_path) == first

    second = state.apply_config(result('"two"', deny_list=None), at=T0)
    assert second.deny_list is None and second.roster is None
    folders = [p for p in tmp_path.iterdir() if p.name.startswith("config-")]
    assert len(folders) == 1 and first.roster.parent not in folders  # the old folder is gone


def test_a_crash_before_the_index_rename_keeps_the_old_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = SyncState(tmp_path)
    old = state.apply_config(result('"one"'), at=T0)
    real = state_module.replace_atomically

    def power_cut_at_the_index(path: Path, data: bytes, *, mode: int = 0o600) -> None:
        if path.name == INDEX_FILE:
            raise OSError(28, "No space left on device")
        real(path, data, mode=mode)

    monkeypatch.setattr(state_module, "replace_atomically", power_cut_at_the_index)
    with pytest.raises(SyncError, match="No space"):
        state.apply_config(result('"two"', retention={"days": 90}), at=T0)
    assert read_server_config(tmp_path) == old
    assert old.deny_list is not None and old.deny_list.is_file()


@pytest.mark.parametrize(
    "changes",
    [
        {"policy": "strict"},
        {"retention": {"days": "thirty"}},
        {"location": {"code": True}},
        {"deny_list": "x"},
    ],
)
def test_a_malformed_configuration_is_refused_and_nothing_changes(
    tmp_path: Path, changes: dict[str, object]
) -> None:
    from kiosk.errors import ProtocolError

    state = SyncState(tmp_path)
    old = state.apply_config(result('"one"'), at=T0)
    with pytest.raises(ProtocolError):
        state.apply_config(result('"two"', **changes), at=T0)
    assert read_server_config(tmp_path) == old


def test_a_damaged_index_reads_as_none(tmp_path: Path) -> None:
    (tmp_path / INDEX_FILE).write_text('{"etag": 5}', encoding="utf-8")
    assert read_server_config(tmp_path) is None


def test_health_file_source_reads_the_apps_fresh_health_only(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from kiosk.health import DeviceHealth, write_health

    path = tmp_path / "health.json"
    now = [datetime(2026, 11, 29, 8, 0, tzinfo=UTC)]
    source = health_file_source(path, lambda: now[0])
    assert source() is None
    write_health(path, DeviceHealth(now[0], "running", 29.5, 6.25, loop_ok=True))
    assert source() == {"camera_state": "running", "frame_rate": 29.5, "decode_ms_p50": 6.25}
    write_health(path, DeviceHealth(now[0], "running", 29.5, 6.25, loop_ok=False))
    assert source() == {"camera_state": "running (loop stalled)", "frame_rate": 29.5, "decode_ms_p50": 6.25}
    now[0] += timedelta(minutes=5)  # the app stopped writing: not running
    assert source() is None
    path.write_text("garbage")
    assert source() is None


# -- back-off ---------------------------------------------------------------------------------------------


def test_full_jitter_stays_below_the_growing_capped_ceiling() -> None:
    backoff = Backoff(2.0, 60.0, random.Random(1))
    for attempt in range(40):
        ceiling = min(60.0, 2.0 * 2**attempt)
        assert backoff.ceiling_s(attempt) == ceiling
        delays = [backoff.delay_s(attempt) for _ in range(50)]
        assert all(0 <= d <= ceiling for d in delays)
    assert backoff.ceiling_s(10_000) == 60.0  # no overflow


def test_retry_after_is_a_floor_capped_at_an_hour() -> None:
    backoff = Backoff(1.0, 10.0, random.Random(2))
    assert backoff.delay_s(0, retry_after_s=120) == 120
    assert backoff.delay_s(0, retry_after_s=10**9) == MAX_RETRY_AFTER_S
    state = backoff.failed(BackoffState(), T0, retry_after_s=30)
    assert state.attempt == 1 and state.next_attempt_at == T0 + timedelta(seconds=30)


def test_same_seed_same_waits_and_a_clock_set_back_does_not_wait_for_days() -> None:
    a, b = Backoff(2, 300, random.Random(5)), Backoff(2, 300, random.Random(5))
    assert [a.delay_s(n) for n in range(8)] == [b.delay_s(n) for n in range(8)]
    far = BackoffState(3, T0 + timedelta(days=30))
    assert far.wait_s(T0, longest_s=a.longest_s) == a.longest_s
    assert BackoffState(3, T0 - timedelta(seconds=1)).wait_s(T0, longest_s=3600) == 0


def test_is_online_needs_a_recent_successful_word_from_the_worker() -> None:
    from datetime import UTC, datetime, timedelta

    from kiosk.sync.state import SyncStatus, is_online

    now = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    ok = SyncStatus(written_at=now, online=True, last_success_at=now, last_error=None, backlog=0, parked=0)
    assert is_online(ok, now + timedelta(seconds=659), heartbeat_s=300)
    assert not is_online(ok, now + timedelta(seconds=661), heartbeat_s=300)  # the worker stopped writing
    assert not is_online(None, now, heartbeat_s=300)
    assert not is_online(replace(ok, online=False), now, heartbeat_s=300)
    assert not is_online(replace(ok, auth_refused=True), now, heartbeat_s=300)
