"""The app's health file, as the sync worker reads it for its heartbeats (kiosk/health.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from kiosk.health import DeviceHealth, read_health, write_health

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def _health(at: datetime = NOW) -> DeviceHealth:
    return DeviceHealth(
        written_at=at, camera_state="running", frame_rate=29.84, decode_ms=6.123, loop_ok=True
    )


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sync" / "health.json"
    write_health(path, _health())
    got = read_health(path, now=NOW + timedelta(seconds=5))
    assert got == DeviceHealth(NOW, "running", 29.8, 6.12, True)
    assert path.stat().st_mode & 0o777 == 0o640


def test_stale_or_future_file_is_not_the_app_running(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    write_health(path, _health())
    assert read_health(path, now=NOW + timedelta(seconds=61)) is None
    assert read_health(path, now=NOW - timedelta(seconds=61)) is None
    assert read_health(path, now=NOW + timedelta(seconds=59)) is not None


def test_missing_damaged_or_huge_files_read_as_none(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    assert read_health(path, now=NOW) is None
    for content in (
        b"{not json",
        b'{"written_at": "2026-11-29T08:00:00+00:00"}',
        b'{"written_at": "2026-11-29T08:00:00", "camera_state": "x", "frame_rate": 1, "decode_ms": 1, "loop_ok": true}',
        b'{"written_at": "2026-11-29T08:00:00+00:00", "camera_state": "x", "frame_rate": NaN, "decode_ms": 1, "loop_ok": true}',
        b"\xff\xfe",
        b"[" * 100_000,
    ):
        path.write_bytes(content)
        assert read_health(path, now=NOW) is None, content[:40]
