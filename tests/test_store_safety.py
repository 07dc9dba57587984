"""The record is never clobbered: one owner per database, read-only readers, foreign files left alone,
checkpoints into the main file, numbering that survives a quarantine, storage errors that say what to do.

Every test uses real SQLite files under ``tmp_path``; the lock tests use a real second process.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.errors import CorruptDatabaseError, StoreError
from kiosk.model import ClockReading, Credential, Decision, Direction, Kind, Outcome, Reason
from kiosk.store import SCHEMA_VERSION, Store
from kiosk.store import db as schema

MIB = 1024 * 1024
AT = ClockReading(datetime(2026, 11, 1, 8, tzinfo=UTC), True, "boot-1", 10.0)
GRANTED = Decision(
    Outcome.GRANTED,
    Reason.OK,
    Kind.CCCD,
    Credential(Kind.CCCD, "id:046090001234", "046090001234", "Nguyễn Văn An"),
    identity_hash="a" * 64,
    identity_key_id="test",
)

OpenStore = Callable[..., Store]


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file's bytes, except the -shm: SQLite's shared-memory index of the WAL, which every reader
    updates (it holds no data and is rebuilt at each open)."""
    return {
        p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file() and p.suffix != ".db-shm"
    }


def record(store: Store, n: int = 1) -> list[int]:
    return [store.record(GRANTED, at=AT, direction=Direction.IN).seq for _ in range(n)]


# ------------------------------------------------------------------------------------------------
# one owner per database


def test_a_second_owner_is_refused_naming_the_first(open_store: OpenStore) -> None:
    gate = open_store()
    with pytest.raises(StoreError, match=rf"in use by another kiosk process \(pid {os.getpid()}"):
        open_store()
    record(gate)  # the first keeps working
    sync = open_store(owner=False)  # a non-owner (the sync worker) may share it
    assert sync.backlog() == 1


def test_the_lock_is_released_by_close(open_store: OpenStore) -> None:
    open_store().close()
    assert record(open_store()) == [1]


HOLDER = """
import sys, time
from kiosk.store import Store
store = Store.open(sys.argv[1], device_id="dev-1", location_code="HUE-001", privacy_notice_version="1", min_free_mb=0)
print("ready", flush=True)
time.sleep(60)
"""


def test_the_lock_dies_with_its_process(open_store: OpenStore, db_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match=rf"pid {child.pid}"):
            open_store()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert record(open_store()) == [1]


# ------------------------------------------------------------------------------------------------
# foreign files are refused and left byte for byte


def test_a_config_file_given_as_database_is_refused_and_untouched(
    open_store: OpenStore, tmp_path: Path
) -> None:
    toml = tmp_path / "kiosk.toml"
    toml.write_text('[location]\ncode = "HUE-001"\n', encoding="utf-8")
    before = snapshot(tmp_path)

    with pytest.raises(StoreError, match="not a visit database"):
        Store.open_read_only(toml)
    assert snapshot(tmp_path) == before
    with pytest.raises(StoreError, match="not a visit database"):
        open_store(toml)
    assert toml.read_text(encoding="utf-8") == '[location]\ncode = "HUE-001"\n'
    assert not list(tmp_path.glob("kiosk.toml.corrupt-*"))


def test_another_applications_sqlite_file_gets_no_tables(open_store: OpenStore, tmp_path: Path) -> None:
    other = tmp_path / "photos.db"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE photo (id INTEGER PRIMARY KEY, path TEXT)")
        conn.commit()
    before = other.read_bytes()

    for opener in (Store.open_read_only, open_store):
        with pytest.raises(StoreError, match="another application's SQLite database"):
            opener(other)
    assert other.read_bytes() == before
    with closing(sqlite3.connect(other)) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("photo",)]


# ------------------------------------------------------------------------------------------------
# read-only readers


def test_read_only_sees_what_the_gate_committed_and_writes_nothing(
    open_store: OpenStore, db_path: Path
) -> None:
    gate = open_store()
    record(gate, 3)
    before = snapshot(db_path.parent)

    with Store.open_read_only(db_path) as reader:
        assert [v.seq for v in reader.visits()] == [3, 2, 1]
        assert reader.backlog() == 3
        with pytest.raises(StoreError, match="read-only"):
            reader.record(GRANTED, at=AT, direction=Direction.IN)
        with pytest.raises(StoreError, match="read-only"):
            reader.purge(AT.wall, 0)

    assert snapshot(db_path.parent) == before
    assert record(gate) == [4]


def test_read_only_reports_damage_without_moving_anything(open_store: OpenStore, db_path: Path) -> None:
    store = open_store()
    for _ in range(200):
        store.record(
            Decision(Outcome.REFUSED, Reason.UNKNOWN_FORMAT, Kind.UNKNOWN), at=AT, direction=Direction.IN
        )
    store.close()
    data = db_path.read_bytes()
    db_path.write_bytes(data[: len(data) // 2 + 100])
    before = snapshot(db_path.parent)

    with pytest.raises(CorruptDatabaseError, match="nothing was changed"):
        Store.open_read_only(db_path)
    assert snapshot(db_path.parent) == before


def test_read_only_of_a_missing_database_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"no visit database at .*does not exist"):
        Store.open_read_only(tmp_path / "nope.db")
    assert list(tmp_path.iterdir()) == []


def test_read_only_upgrades_an_old_schema_in_memory_only(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    old = schema.make_database(db_path)
    old.connect()
    schema.migrate(old, target=1)
    schema.sql(
        old,
        "INSERT INTO visit (uuid, seq, device_id, location_code, kind, identity_hash, id_number, name, "
        "direction, outcome, reason, wall_utc, clock_synchronised, boot_id, monotonic_s, "
        "privacy_notice_version, manual, warnings) VALUES ('u-1', 4, 'dev-1', 'HUE-001', 'cccd', NULL, "
        "NULL, 'Lê Văn Cũ', 'in', 'granted', 'ok', '2025-01-01T00:00:00.000000+00:00', 1, 'b', 1.0, "
        "'2024-12', 0, '')",
    )
    schema.sql(old, "INSERT INTO outbox (visit_id, uploaded_at) VALUES (1, NULL)")
    old.close()

    with Store.open_read_only(db_path) as reader:
        assert [(v.seq, v.name) for v in reader.visits()] == [(4, "Lê Văn Cũ")]
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (1,)


def test_read_only_works_on_a_write_protected_database(open_store: OpenStore, db_path: Path) -> None:
    """As a copy on a write-protected stick: only the main file, no -wal or -shm, and mode 0444 files."""
    store = open_store()
    record(store, 2)
    store.close()
    copy = db_path.parent.parent / "stick" / "kiosk.db"
    copy.parent.mkdir()
    shutil.copyfile(db_path, copy)
    copy.chmod(0o444)
    try:
        with Store.open_read_only(copy) as reader:
            assert len(reader.visits()) == 2
        assert sorted(p.name for p in copy.parent.iterdir()) == ["kiosk.db"]
    finally:
        copy.chmod(0o644)


# ------------------------------------------------------------------------------------------------
# checkpoints: the main file holds the data, not only the WAL


def test_after_open_the_main_file_holds_the_schema(
    open_store: OpenStore, db_path: Path, tmp_path: Path
) -> None:
    open_store()  # stays open: no close-time checkpoint helps
    main_only = tmp_path / "main-only.db"
    shutil.copyfile(db_path, main_only)
    with closing(sqlite3.connect(main_only)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert ("visit",) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()


def test_a_checkpoint_puts_recent_visits_into_the_main_file(
    open_store: OpenStore, db_path: Path, tmp_path: Path
) -> None:
    store = open_store()
    record(store, 3)
    sync = open_store(owner=False)  # a reader with a connection open does not stop it
    assert sync.backlog() == 3

    assert store.checkpoint()

    main_only = tmp_path / "main-only.db"
    shutil.copyfile(db_path, main_only)
    with Store.open_read_only(main_only) as reader:
        assert [v.seq for v in reader.visits()] == [3, 2, 1]


def test_a_checkpoint_does_not_wait_for_the_store_lock(open_store: OpenStore) -> None:
    store = open_store()
    record(store)
    done = threading.Event()
    with store._lock:  # a long call holds the store; the checkpoint uses its own connection
        worker = threading.Thread(target=lambda: (store.checkpoint(), done.set()))
        worker.start()
        assert done.wait(timeout=10)
    worker.join()


# ------------------------------------------------------------------------------------------------
# numbering continues after a quarantine


@pytest.mark.parametrize("damage", ["header", "tail"])
def test_sequence_numbers_continue_after_a_quarantine(
    open_store: OpenStore, db_path: Path, damage: str
) -> None:
    store = open_store()
    assert record(store, 5) == [1, 2, 3, 4, 5]
    store.close()
    data = db_path.read_bytes()
    db_path.write_bytes(b"\x00" * 4096 + data[4096:] if damage == "header" else data[: len(data) // 2 + 7])

    fresh = open_store()

    assert fresh.recovered_from is not None
    (seq,) = record(fresh)
    assert seq > 5


def test_numbering_survives_a_lost_floor_file_when_the_database_is_readable(
    open_store: OpenStore, db_path: Path
) -> None:
    store = open_store()
    record(store, 3)
    store.close()
    Path(f"{db_path}.seq").unlink()
    assert record(open_store()) == [4]


# ------------------------------------------------------------------------------------------------
# storage errors that say what to do


def test_a_newer_schema_says_to_update_the_software(open_store: OpenStore, db_path: Path) -> None:
    open_store().close()
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.commit()
    with pytest.raises(StoreError, match="update the kiosk software"):
        open_store()
    with pytest.raises(StoreError, match="update the kiosk software"):
        Store.open_read_only(db_path)
    assert not list(db_path.parent.glob("*.corrupt-*"))


def test_a_full_disk_says_disk_full_with_the_free_space_and_path(
    open_store: OpenStore, db_path: Path
) -> None:
    store = open_store(disk_free=lambda _d: 80 * MIB, min_free_mb=1)
    record(store)
    (pages,) = schema.sql(store._db, "PRAGMA page_count").fetchone()
    schema.sql(store._db, f"PRAGMA max_page_count = {int(pages)}").fetchall()
    with pytest.raises(StoreError) as caught:
        for _ in range(500):
            record(store)
    message = str(caught.value)
    assert "disk full" in message and "80.0 MiB free" in message and str(db_path.parent) in message


def test_a_lock_held_briefly_is_waited_for(open_store: OpenStore, db_path: Path) -> None:
    open_store().close()
    blocker = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    timer = threading.Timer(0.3, lambda: blocker.execute("COMMIT"))
    timer.start()
    try:
        store = open_store()  # within the busy timeout: no error
        assert record(store) == [1]
    finally:
        timer.join()
        blocker.close()


def test_a_lock_held_too_long_names_the_process(open_store: OpenStore, db_path: Path) -> None:
    gate = open_store()  # writes its pid into the lock file
    record(gate)
    blocker = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match=rf"locked .*pid {os.getpid()}"):
            open_store(owner=False)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
