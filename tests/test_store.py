"""Tests of the local record (kiosk/store) on real SQLite files under tmp_path; no mocked database."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.errors import CorruptDatabaseError, OutOfServiceError, StorageFullError, StoreError
from kiosk.identity import IdentityKey
from kiosk.model import (
    ClockReading,
    Credential,
    Decision,
    Direction,
    Kind,
    Outcome,
    Reason,
)
from kiosk.store import SCHEMA_VERSION, DiskSpace, Store
from kiosk.store import db as schema

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
MIB = 1024 * 1024
CCCD_ID = "046090001234"
BIRTH = date(1990, 5, 17)


def credential(id_number: str = CCCD_ID, name: str = "Nguyễn Văn An") -> Credential:
    return Credential(
        kind=Kind.CCCD,
        identity_key=f"id:{id_number}",
        id_number=id_number,
        name=name,
        birth_date=BIRTH,  # the parser keeps it for checks; the store must not
        warnings=("old_id_missing", "issued_recently"),
    )


TEST_KEY = IdentityKey("test-1", b"store tests identity key, 32+ bytes")


def granted(id_number: str = CCCD_ID, name: str = "Nguyễn Văn An") -> Decision:
    return Decision(
        outcome=Outcome.GRANTED,
        reason=Reason.OK,
        kind=Kind.CCCD,
        credential=credential(id_number, name),
        identity_hash=TEST_KEY.hash(f"id:{id_number}"),
        identity_key_id=TEST_KEY.key_id,
    )


def refused() -> Decision:
    return Decision(outcome=Outcome.REFUSED, reason=Reason.UNKNOWN_FORMAT, kind=Kind.UNKNOWN)


def clock(at: datetime = T0, *, synced: bool = True, mono: float = 12.5) -> ClockReading:
    return ClockReading(wall=at, synchronised=synced, boot_id="boot-1", monotonic_s=mono)


OpenStore = Callable[..., Store]


def rows(path: Path, query: str, *params: object) -> list[tuple[Any, ...]]:
    """Read with the plain sqlite3 module: what is really on disk, not what the repository says."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(query, params).fetchall()


# ------------------------------------------------------------------------------------------------
# recording


def test_record_writes_visit_and_outbox_one_to_one(open_store: OpenStore, db_path: Path) -> None:
    store = open_store()
    visits = [
        store.record(granted(), at=clock(T0 + timedelta(seconds=i)), direction=Direction.IN) for i in range(3)
    ]

    assert [v.seq for v in visits] == [1, 2, 3]
    assert len({v.uuid for v in visits}) == 3
    assert all(uuid.UUID(v.uuid).version == 4 for v in visits)
    store.close()
    assert rows(db_path, "SELECT count(*) FROM visit") == [(3,)]
    assert rows(db_path, "SELECT count(*) FROM outbox") == [(3,)]
    paired = rows(
        db_path,
        "SELECT v.seq, v.uuid FROM visit v JOIN outbox o ON o.visit_id = v.id "
        "WHERE o.uploaded_at IS NULL ORDER BY v.seq",
    )
    assert paired == [(v.seq, v.uuid) for v in visits]


def test_record_returns_what_is_stored(open_store: OpenStore) -> None:
    store = open_store()
    at = clock(datetime(2025, 3, 1, 15, 0, tzinfo=UTC), synced=False, mono=99.25)

    visit = store.record(granted(), at=at, direction=Direction.OUT)

    assert store.visits() == [visit]
    assert visit.kind is Kind.CCCD
    assert visit.id_number == CCCD_ID
    assert visit.name == "Nguyễn Văn An"
    assert visit.identity_hash == TEST_KEY.hash(f"id:{CCCD_ID}")
    assert visit.identity_key_id == "test-1"
    assert visit.direction is Direction.OUT
    assert visit.outcome is Outcome.GRANTED
    assert visit.at == at
    assert visit.device_id == "dev-1"
    assert visit.location_code == "HUE-001"
    assert visit.privacy_notice_version == "2025-01"
    assert visit.warnings == ("old_id_missing", "issued_recently")
    assert not visit.manual
    assert not visit.uploaded


def test_times_are_stored_as_utc_text(open_store: OpenStore, db_path: Path) -> None:
    store = open_store()
    hanoi = datetime(2025, 3, 1, 15, 0, tzinfo=UTC).astimezone(datetime.now(UTC).astimezone().tzinfo)
    store.record(granted(), at=clock(hanoi), direction=Direction.IN)
    store.close()
    assert rows(db_path, "SELECT wall_utc FROM visit") == [("2025-03-01T15:00:00.000000+00:00",)]


def test_refused_and_manual_records(open_store: OpenStore) -> None:
    store = open_store()
    refusal = store.record(refused(), at=clock(), direction=Direction.IN)
    typed = store.record(
        Decision(outcome=Outcome.GRANTED, reason=Reason.OK, kind=Kind.MANUAL),
        at=clock(),
        direction=Direction.IN,
    )
    override = store.record(granted(), at=clock(), direction=Direction.IN, manual=True)

    assert (refusal.identity_hash, refusal.id_number, refusal.name) == (None, None, None)
    assert refusal.reason is Reason.UNKNOWN_FORMAT
    assert [v.manual for v in store.visits()] == [True, True, False]
    assert typed.manual and typed.kind is Kind.MANUAL
    assert override.manual


def test_naive_time_is_refused(open_store: OpenStore) -> None:
    store = open_store()
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record(granted(), at=clock(datetime(2025, 3, 1, 8, 0)), direction=Direction.IN)
    assert store.backlog() == 0


def test_seq_persists_across_reopen(open_store: OpenStore) -> None:
    first = open_store()
    assert [first.record(granted(), at=clock(), direction=Direction.IN).seq for _ in range(2)] == [
        1,
        2,
    ]
    first.close()

    second = open_store()
    assert second.record(granted(), at=clock(), direction=Direction.IN).seq == 3
    # Another device id (a re-enrolled kiosk) has its own sequence.
    second.close()
    other = open_store(device_id="dev-2")
    assert other.record(granted(), at=clock(), direction=Direction.IN).seq == 1


def test_seq_is_not_reused_after_everything_is_purged(open_store: OpenStore) -> None:
    store = open_store()
    old = [store.record(granted(), at=clock(), direction=Direction.IN) for _ in range(3)]
    store.acknowledge([v.uuid for v in old], at=T0)
    assert store.purge(T0 + timedelta(days=31), retention_days=30) == 3
    assert store.visits() == []

    assert store.record(granted(), at=clock(), direction=Direction.IN).seq == 4


# ------------------------------------------------------------------------------------------------
# privacy


ALLOWED_COLUMNS = {
    "visit": {
        "id",
        "uuid",
        "seq",
        "device_id",
        "location_code",
        "kind",
        "identity_hash",
        "id_number",
        "name",
        "direction",
        "outcome",
        "reason",
        "wall_utc",
        "clock_synchronised",
        "boot_id",
        "monotonic_s",
        "privacy_notice_version",
        "manual",
        "warnings",
        "identity_key_id",
        # schema 4: who recorded a manual entry or override, the reason given, the verdict it replaced
        "guard",
        "note",
        "original_outcome",
        "original_reason",
        # schema 6: the UUID of the refused visit an override replaced (a link between two visits, no new
        # personal data)
        "overrides",
    },
    # schema 5: conflict parking (when, and the server's reason code and detail: never personal data)
    "outbox": {"id", "visit_id", "uploaded_at", "parked_at", "parked_reason"},
    "device_sequence": {"device_id", "last_seq"},
}


def test_schema_holds_only_minimised_fields(open_store: OpenStore, db_path: Path) -> None:
    open_store().close()
    tables = {name for (name,) in rows(db_path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == set(ALLOWED_COLUMNS)
    for table, allowed in ALLOWED_COLUMNS.items():
        columns = {r[1] for r in rows(db_path, f"PRAGMA table_info({table})")}
        # A new column is a privacy decision: extend ALLOWED_COLUMNS only after review.
        assert columns == allowed, table
        for forbidden in ("address", "birth", "dob", "payload", "raw", "sex", "health", "vacc"):
            assert not any(forbidden in c for c in columns), (table, forbidden)


def test_no_birth_date_or_payload_reaches_the_file(open_store: OpenStore, db_path: Path) -> None:
    store = open_store()
    store.record(granted(), at=clock(), direction=Direction.IN)
    store.close()

    stored = rows(db_path, "SELECT * FROM visit") + rows(db_path, "SELECT * FROM outbox")
    text = repr(stored)
    for birth in ("1990-05-17", "17051990", "1990"):
        assert birth not in text
    blob = b"".join(p.read_bytes() for p in db_path.parent.iterdir() if p.is_file())
    assert b"17051990" not in blob
    assert b"1990-05-17" not in blob


def test_purged_personal_data_does_not_linger_in_the_files(open_store: OpenStore, db_path: Path) -> None:
    store = open_store()
    gone = store.record(granted("079123456789", "Trần Thị Bích"), at=clock(), direction=Direction.IN)
    store.record(granted(), at=clock(T0 + timedelta(days=40)), direction=Direction.IN)
    store.acknowledge([gone.uuid], at=T0)

    assert store.purge(T0 + timedelta(days=35), retention_days=30) == 1

    blob = b"".join(p.read_bytes() for p in db_path.parent.iterdir() if p.is_file())
    assert b"079123456789" not in blob
    assert "Trần Thị Bích".encode() not in blob
    assert gone.uuid.encode() not in blob
    assert CCCD_ID.encode() in blob  # the kept visit is still there: the check can see text


# ------------------------------------------------------------------------------------------------
# outbox and queries


def test_pending_acknowledge_and_backlog(open_store: OpenStore) -> None:
    store = open_store()
    visits = [store.record(granted(), at=clock(), direction=Direction.IN) for _ in range(5)]

    assert store.backlog() == 5
    assert [v.seq for v in store.pending(3)] == [1, 2, 3]
    assert store.acknowledge([visits[0].uuid, visits[2].uuid, "not-a-known-uuid"], at=T0) == 2
    # A repeated acknowledgement (lost response, retry) changes nothing.
    assert store.acknowledge([visits[0].uuid], at=T0 + timedelta(hours=1)) == 0
    assert store.backlog() == 3
    assert [v.seq for v in store.pending(10)] == [2, 4, 5]
    assert [v.uploaded for v in store.visits()] == [False, False, True, False, True]


def test_acknowledge_many(open_store: OpenStore) -> None:
    store = open_store()
    # More than one IN (...) chunk of 500.
    visits = [store.record(granted(), at=clock(), direction=Direction.IN) for _ in range(520)]
    assert store.acknowledge((v.uuid for v in visits), at=T0) == 520
    assert store.backlog() == 0


def test_visits_filters_newest_first(open_store: OpenStore) -> None:
    store = open_store()
    for hour in range(5):
        store.record(granted(), at=clock(T0 + timedelta(hours=hour)), direction=Direction.IN)
    # A clock that jumped back: still newest by sequence first.
    store.record(granted(), at=clock(T0 - timedelta(days=365)), direction=Direction.IN)

    assert [v.seq for v in store.visits()] == [6, 5, 4, 3, 2, 1]
    assert [v.seq for v in store.visits(limit=2)] == [6, 5]
    window = store.visits(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3))
    assert [v.seq for v in window] == [3, 2]


# ------------------------------------------------------------------------------------------------
# retention


def test_purge_removes_only_uploaded_and_old(open_store: OpenStore, db_path: Path) -> None:
    store = open_store()
    now = T0 + timedelta(days=45)
    old_uploaded = store.record(granted(), at=clock(T0), direction=Direction.IN)
    old_pending = store.record(granted(), at=clock(T0), direction=Direction.IN)
    old_uploaded_lately = store.record(granted(), at=clock(T0), direction=Direction.IN)
    new_uploaded = store.record(granted(), at=clock(now - timedelta(days=1)), direction=Direction.IN)
    store.acknowledge([old_uploaded.uuid, new_uploaded.uuid], at=T0 + timedelta(days=1))
    store.acknowledge([old_uploaded_lately.uuid], at=now - timedelta(days=2))

    assert store.purge(now, retention_days=30) == 1

    kept = {v.uuid for v in store.visits()}
    assert kept == {old_pending.uuid, old_uploaded_lately.uuid, new_uploaded.uuid}
    assert store.backlog() == 1
    store.close()
    assert rows(db_path, "SELECT count(*) FROM outbox") == [(3,)]
    assert rows(db_path, "SELECT count(*) FROM visit") == [(3,)]


def test_purge_never_touches_unuploaded_rows_however_old(open_store: OpenStore) -> None:
    store = open_store()
    pending = [
        store.record(granted(), at=clock(T0 - timedelta(days=3650)), direction=Direction.IN) for _ in range(3)
    ]
    assert store.purge(T0 + timedelta(days=3650), retention_days=0) == 0
    assert [v.uuid for v in store.pending(10)] == [v.uuid for v in pending]


def test_database_itself_refuses_to_delete_unuploaded_visits(open_store: OpenStore, db_path: Path) -> None:
    store = open_store()
    store.record(granted(), at=clock(), direction=Direction.IN)
    store.close()
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        with pytest.raises(sqlite3.IntegrityError, match="not uploaded"):
            conn.execute("DELETE FROM outbox")
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            conn.execute("DELETE FROM visit")
        conn.rollback()
    assert rows(db_path, "SELECT count(*) FROM visit") == [(1,)]


# ------------------------------------------------------------------------------------------------
# damaged database


def _side_files(path: Path) -> list[Path]:
    return [Path(f"{path}-wal"), Path(f"{path}-shm")]


def test_garbage_file_is_moved_aside_with_its_wal_and_shm(
    open_store: OpenStore, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db_path.parent.mkdir(parents=True)
    garbage = b"this is not a database, it is a shopping list\n" * 200
    db_path.write_bytes(garbage)
    wal, shm = _side_files(db_path)
    wal.write_bytes(b"wal bytes")
    shm.write_bytes(b"shm bytes")

    with caplog.at_level(logging.WARNING, logger="kiosk.store"):
        store = open_store()

    moved = store.recovered_from
    assert moved is not None
    assert moved.parent == db_path.parent
    assert moved.name.startswith("kiosk.db.corrupt-")
    assert moved.read_bytes() == garbage  # never deleted, never changed
    assert Path(f"{moved}-wal").read_bytes() == b"wal bytes"
    # The -shm is SQLite's scratch index of the WAL (rebuilt at every open): moved, not preserved.
    assert Path(f"{moved}-shm").exists()
    assert str(moved) in caplog.text
    assert "damaged" in caplog.text
    # The fresh database works.
    assert store.record(granted(), at=clock(), direction=Direction.IN).seq == 1
    assert store.integrity_ok()


def test_damaged_database_keeps_its_wal(open_store: OpenStore, db_path: Path, tmp_path: Path) -> None:
    """The WAL of a damaged database may hold the latest visits: it must survive, byte for byte."""
    store = open_store()
    for i in range(120):
        store.record(granted(name=f"Khách {i:04d} " + "B" * 300), at=clock(), direction=Direction.IN)
    schema.sql(store._db, "PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    for _ in range(3):
        store.record(granted(), at=clock(), direction=Direction.IN)
    # Snapshot the files as a power cut leaves them: the latest visits are only in the WAL.
    crashed = tmp_path / "crashed" / "kiosk.db"
    crashed.parent.mkdir()
    for suffix in ("", "-wal", "-shm"):
        shutil.copyfile(f"{db_path}{suffix}", f"{crashed}{suffix}")
    store.close()
    wal = Path(f"{crashed}-wal").read_bytes()
    assert len(wal) > 4096
    # Lose the tail of the main file (pages the WAL does not hold): the database is malformed.
    with crashed.open("r+b") as f:
        f.truncate(3 * 4096)

    fresh = open_store(crashed)

    moved = fresh.recovered_from
    assert moved is not None
    assert moved.exists()
    assert Path(f"{moved}-wal").read_bytes() == wal
    assert not Path(f"{crashed}-wal").exists() or Path(f"{crashed}-wal").read_bytes() != wal
    assert fresh.visits() == []


def test_a_wal_without_its_database_is_kept(open_store: OpenStore, db_path: Path) -> None:
    """SQLite would delete a -wal found beside a missing database; the store moves it aside."""
    db_path.parent.mkdir(parents=True)
    Path(f"{db_path}-wal").write_bytes(b"orphaned wal")

    store = open_store()

    assert store.recovered_from is not None
    assert Path(f"{store.recovered_from}-wal").read_bytes() == b"orphaned wal"
    assert store.record(granted(), at=clock(), direction=Direction.IN).seq == 1


def test_truncated_database_is_moved_aside(open_store: OpenStore, db_path: Path) -> None:
    store = open_store()
    for i in range(120):
        store.record(granted(name=f"Khách {i:04d} " + "B" * 300), at=clock(), direction=Direction.IN)
    store.close()  # the last close checkpoints the WAL into the main file
    data = db_path.read_bytes()
    assert len(data) > 8 * 4096
    # Cut mid-page: as if a copy or a flaky card lost the tail of the file.
    db_path.write_bytes(data[: len(data) // 2 + 1000])

    fresh = open_store()

    assert fresh.recovered_from is not None
    assert fresh.recovered_from.stat().st_size == len(data) // 2 + 1000
    assert fresh.visits() == []
    # Numbering continues above everything handed out before: the server has seen 1..120.
    assert fresh.record(granted(), at=clock(), direction=Direction.IN).seq > 120


def test_second_quarantine_does_not_overwrite_the_first(open_store: OpenStore, db_path: Path) -> None:
    open_store().close()  # a kiosk database lives here: its damage is quarantined, not refused
    db_path.write_bytes(b"garbage one" * 500)
    first = open_store()
    first.close()
    db_path.write_bytes(b"garbage two" * 500)
    for side in _side_files(db_path):
        side.unlink(missing_ok=True)

    second = open_store()

    assert first.recovered_from is not None and second.recovered_from is not None
    assert first.recovered_from != second.recovered_from
    assert first.recovered_from.read_bytes() == b"garbage one" * 500
    assert second.recovered_from.read_bytes() == b"garbage two" * 500


@pytest.mark.parametrize("flags", [{"quarantine_corrupt": False}, {"owner": False}])
def test_without_quarantine_a_damaged_file_raises_and_stays(
    open_store: OpenStore, db_path: Path, flags: dict[str, bool]
) -> None:
    open_store().close()
    before = sorted(db_path.parent.iterdir())
    db_path.write_bytes(b"x" * 8192)
    with pytest.raises(CorruptDatabaseError):
        open_store(**flags)
    assert db_path.read_bytes() == b"x" * 8192
    assert sorted(db_path.parent.iterdir()) == before


def test_a_healthy_database_is_not_moved(open_store: OpenStore, db_path: Path) -> None:
    open_store().close()
    store = open_store()
    assert store.recovered_from is None
    assert not list(db_path.parent.glob("*.corrupt-*"))


def test_newer_schema_is_refused_not_quarantined(open_store: OpenStore, db_path: Path) -> None:
    open_store().close()
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute("PRAGMA user_version = 99")
        conn.commit()
    with pytest.raises(StoreError, match="newer"):
        open_store()
    assert not list(db_path.parent.glob("*.corrupt-*"))


# ------------------------------------------------------------------------------------------------
# full disk and the free-space floor


def _fill_to_the_limit(store: Store) -> None:
    """Cap the file at its current size: the same SQLITE_FULL a full disk gives, without root.

    ``max_page_count`` is per connection, so it has to be set on the store's own connection.
    """
    conn_db = store._db
    (pages,) = schema.sql(conn_db, "PRAGMA page_count").fetchone()
    schema.sql(conn_db, f"PRAGMA max_page_count = {int(pages)}").fetchall()


def test_full_disk_gives_not_recorded_and_loses_nothing(open_store: OpenStore, db_path: Path) -> None:
    store = open_store()
    before = [store.record(granted(), at=clock(), direction=Direction.IN) for _ in range(20)]
    _fill_to_the_limit(store)

    recorded_after_cap = []
    with pytest.raises(StorageFullError, match="not recorded"):
        for i in range(10_000):
            name = f"Người Thứ {i:05d} " + "A" * 200
            recorded_after_cap.append(store.record(granted(name=name), at=clock(), direction=Direction.IN))

    committed = before + recorded_after_cap
    assert {v.uuid for v in store.visits()} == {v.uuid for v in committed}
    assert store.backlog() == len(committed)
    assert store.integrity_ok()
    assert rows(db_path, "SELECT count(*) FROM visit") == [(len(committed),)]
    assert rows(db_path, "SELECT count(*) FROM outbox") == [(len(committed),)]

    # Space appears again (the ballast file deleted): recording resumes, the sequence has no gap.
    schema.sql(store._db, "PRAGMA max_page_count = 1073741823").fetchall()
    again = store.record(granted(), at=clock(), direction=Direction.IN)
    assert again.seq == len(committed) + 1


def test_free_space_floor_puts_the_store_out_of_service(open_store: OpenStore) -> None:
    free = {"bytes": 49 * MIB}
    store = open_store(min_free_mb=50, disk_free=lambda _d: free["bytes"])

    assert store.is_out_of_service()
    with pytest.raises(OutOfServiceError, match="out of service"):
        store.record(granted(), at=clock(), direction=Direction.IN)
    assert store.visits() == []
    assert store.backlog() == 0

    free["bytes"] = 51 * MIB
    assert not store.is_out_of_service()
    assert store.record(granted(), at=clock(), direction=Direction.IN).seq == 1


def test_disk_free_is_asked_about_the_database_folder(open_store: OpenStore, db_path: Path) -> None:
    asked: list[Path] = []

    def disk_free(directory: Path) -> int:
        asked.append(directory)
        return 100 * MIB

    store = open_store(disk_free=disk_free)
    store.record(granted(), at=clock(), direction=Direction.IN)
    assert asked == [db_path.parent]


def test_default_disk_free_reads_the_real_disk(open_store: OpenStore) -> None:
    store = open_store(disk_free=None, min_free_mb=0)
    assert store.free_bytes() > 0
    assert not store.is_out_of_service()


def test_disk_space_is_one_rule_for_the_store_and_the_doctor(open_store: OpenStore, tmp_path: Path) -> None:
    below, near, ample = (
        DiskSpace(49 * MIB, 50 * MIB),
        DiskSpace(99 * MIB, 50 * MIB),
        DiskSpace(100 * MIB, 50 * MIB),
    )
    assert (below.out_of_service, below.low, below.free_mb, below.floor_mb) == (True, True, 49, 50)
    assert (near.out_of_service, near.low) == (False, True)
    assert (ample.out_of_service, ample.low) == (False, False)
    assert open_store(min_free_mb=50, disk_free=lambda _d: 49 * MIB).disk_space() == below
    # The doctor measures before the gate made the database folder: at the nearest folder that exists.
    asked: list[Path] = []

    def disk_free(directory: Path) -> int:
        asked.append(directory)
        return 7 * MIB

    assert DiskSpace.measure(tmp_path / "not" / "yet", 5, disk_free) == DiskSpace(7 * MIB, 5 * MIB)
    assert asked == [tmp_path]
    assert DiskSpace.measure(tmp_path, 0).free_bytes > 0  # the real disk


# ------------------------------------------------------------------------------------------------
# schema versions


def test_new_database_is_at_the_latest_version_with_wal_and_pragmas(
    open_store: OpenStore, db_path: Path
) -> None:
    store = open_store()
    assert schema.sql(store._db, "PRAGMA journal_mode").fetchone() == ("wal",)
    assert schema.sql(store._db, "PRAGMA synchronous").fetchone() == (2,)
    assert schema.sql(store._db, "PRAGMA foreign_keys").fetchone() == (1,)
    assert schema.sql(store._db, "PRAGMA busy_timeout").fetchone() == (schema.BUSY_TIMEOUT_MS,)
    store.close()
    assert rows(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_version_1_database_is_upgraded_in_place(open_store: OpenStore, db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    old = schema.make_database(db_path)
    old.connect()
    try:
        assert schema.migrate(old, target=1) == 1
        schema.sql(
            old,
            "INSERT INTO visit (uuid, seq, device_id, location_code, kind, identity_hash, "
            "id_number, name, direction, outcome, reason, wall_utc, clock_synchronised, boot_id, "
            "monotonic_s, privacy_notice_version, manual, warnings) VALUES ("
            "'0b9e4c1e-6c1f-4d0e-9a57-2f7b2d9a1c01', 7, 'dev-1', 'HUE-001', 'cccd', NULL, "
            "'046090001234', 'Lê Văn Cũ', 'in', 'granted', 'ok', "
            "'2025-01-01T00:00:00.000000+00:00', 1, 'b', 1.0, '2024-12', 0, '')",
        )
        schema.sql(old, "INSERT INTO outbox (visit_id, uploaded_at) VALUES (1, NULL)")
        schema.sql(old, "INSERT INTO device_sequence (device_id, last_seq) VALUES ('dev-1', 7)")
    finally:
        old.close()
    assert rows(db_path, "PRAGMA user_version") == [(1,)]

    store = open_store()

    assert [(v.seq, v.name, v.uploaded) for v in store.visits()] == [(7, "Lê Văn Cũ", False)]
    assert store.record(granted(), at=clock(), direction=Direction.IN).seq == 8
    store.close()
    assert rows(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    triggers = rows(db_path, "SELECT name FROM sqlite_master WHERE type='trigger'")
    assert triggers == [("outbox_keep_unuploaded",)]


def test_unkeyed_hashes_of_schema_2_are_marked_sha256(open_store: OpenStore, db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    old = schema.make_database(db_path)
    old.connect()
    try:
        assert schema.migrate(old, target=2) == 2
        for seq, identity in ((1, "'" + "a" * 64 + "'"), (2, "NULL")):
            schema.sql(
                old,
                "INSERT INTO visit (uuid, seq, device_id, location_code, kind, identity_hash, "
                "id_number, name, direction, outcome, reason, wall_utc, clock_synchronised, boot_id, "
                "monotonic_s, privacy_notice_version, manual, warnings) VALUES ("
                f"'uuid-{seq}', {seq}, 'dev-1', 'HUE-001', 'cccd', {identity}, NULL, NULL, 'in', "
                "'granted', 'ok', '2025-01-01T00:00:00.000000+00:00', 1, 'b', 1.0, '2024-12', 0, '')",
            )
            schema.sql(old, f"INSERT INTO outbox (visit_id, uploaded_at) VALUES ({seq}, NULL)")
    finally:
        old.close()

    with open_store() as store:
        assert [(v.seq, v.identity_key_id) for v in sorted(store.visits(), key=lambda v: v.seq)] == [
            (1, "sha256"),
            (2, None),
        ]


def test_models_match_the_migrated_schema(open_store: OpenStore, db_path: Path) -> None:
    open_store().close()
    for model in schema.MODELS:
        table = model._meta.table_name
        columns = [r[1] for r in rows(db_path, f"PRAGMA table_info({table})")]
        assert sorted(columns) == sorted(f.column_name for f in model._meta.sorted_fields), table


def test_migration_is_atomic_with_its_version(db_path: Path) -> None:
    """A migration that fails half-way leaves neither its tables nor its version behind."""
    db_path.parent.mkdir(parents=True)
    db = schema.make_database(db_path)
    db.connect()
    try:
        with pytest.raises(sqlite3.OperationalError), db.atomic("IMMEDIATE"):
            schema.MIGRATIONS[0](db)
            schema.sql(db, "PRAGMA user_version = 1")
            raise sqlite3.OperationalError("simulated crash")
        assert schema.schema_version(db) == 0
        assert db.get_tables() == []
    finally:
        db.close()


# ------------------------------------------------------------------------------------------------
# lifecycle


def test_close_is_idempotent_and_a_closed_store_refuses_work(open_store: OpenStore) -> None:
    with open_store() as store:
        store.record(granted(), at=clock(), direction=Direction.IN)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.record(granted(), at=clock(), direction=Direction.IN)
    with pytest.raises(StoreError, match="closed"):
        store.visits()


def test_open_rejects_empty_identity(open_store: OpenStore) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        open_store(device_id="")


def test_two_stores_on_two_files_do_not_interfere(open_store: OpenStore, tmp_path: Path) -> None:
    a = open_store(tmp_path / "a.db")
    b = open_store(tmp_path / "b.db", device_id="dev-b")
    a.record(granted(), at=clock(), direction=Direction.IN)
    a.record(granted(), at=clock(), direction=Direction.IN)
    b.record(refused(), at=clock(), direction=Direction.OUT)
    assert [v.seq for v in a.visits()] == [2, 1]
    assert [(v.device_id, v.kind) for v in b.visits()] == [("dev-b", Kind.UNKNOWN)]


def test_gate_writer_and_sync_acknowledger_share_the_file(open_store: OpenStore) -> None:
    """Two connections (as the gate and the sync worker have): never "database is locked"."""
    gate = open_store()
    sync = open_store(owner=False)
    errors: list[BaseException] = []
    done = threading.Event()
    total = 60

    def acknowledge_until_done() -> None:
        try:
            while not (done.is_set() and sync.backlog() == 0):
                batch = sync.pending(7)
                sync.acknowledge([v.uuid for v in batch], at=T0)
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)

    worker = threading.Thread(target=acknowledge_until_done)
    worker.start()
    try:
        for _ in range(total):
            gate.record(granted(), at=clock(), direction=Direction.IN)
    finally:
        done.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert errors == []
    assert gate.backlog() == 0
    assert [v.seq for v in gate.visits()] == list(range(total, 0, -1))
    assert all(v.uploaded for v in gate.visits())


def test_one_store_is_shared_by_threads(open_store: OpenStore) -> None:
    """The scan worker records while the UI thread reads the same store; close() closes it for all."""
    store = open_store()
    errors: list[BaseException] = []

    def record_many() -> None:
        try:
            for _ in range(30):
                store.record(granted(), at=clock(), direction=Direction.IN)
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)

    workers = [threading.Thread(target=record_many) for _ in range(2)]
    for worker in workers:
        worker.start()
    while any(w.is_alive() for w in workers):
        assert len(store.visits(limit=100)) <= 60  # reads interleave with the writes
    for worker in workers:
        worker.join()
    assert errors == []
    assert [v.seq for v in store.visits()] == list(range(60, 0, -1))
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.backlog()


# ------------------------------------------------------------------------------------------------
# conflict parking (schema 5)


def test_parked_visits_leave_pending_and_backlog_but_are_kept(open_store: OpenStore) -> None:
    store = open_store()
    visits = [
        store.record(granted(), at=clock(T0 + timedelta(minutes=i)), direction=Direction.IN) for i in range(3)
    ]
    assert store.oldest_pending() == T0

    assert store.park(visits[0].uuid, "conflict: a different visit", at=T0) is True
    assert store.park(visits[0].uuid, "again", at=T0 + timedelta(hours=1)) is False  # idempotent

    assert [v.uuid for v in store.pending(10)] == [v.uuid for v in visits[1:]]
    assert store.backlog() == 2 and store.parked_count() == 1
    assert store.oldest_pending() == T0 + timedelta(minutes=1)
    (parked,) = store.parked()
    assert (parked.visit.uuid, parked.reason, parked.parked_at) == (
        visits[0].uuid,
        "conflict: a different visit",
        T0,
    )
    assert not parked.visit.uploaded

    store.acknowledge([v.uuid for v in visits[1:]], at=T0)
    assert store.backlog() == 0 and store.oldest_pending() is None
    assert store.park(visits[1].uuid, "late", at=T0) is False  # an uploaded visit is not parked
    assert store.park("no-such-uuid", "x", at=T0) is False


def test_purge_never_deletes_a_parked_visit(open_store: OpenStore, db_path: Path) -> None:
    store = open_store()
    visit = store.record(granted(), at=clock(T0), direction=Direction.IN)
    store.park(visit.uuid, "conflict", at=T0)
    assert store.purge(T0 + timedelta(days=4000), retention_days=1) == 0
    assert store.parked_count() == 1
    with closing(sqlite3.connect(db_path)) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute("DELETE FROM outbox")


def test_version_4_database_gains_parking_in_place(open_store: OpenStore, db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    old = schema.make_database(db_path)
    old.connect()
    try:
        assert schema.migrate(old, target=4) == 4
    finally:
        old.close()
    with open_store() as store:
        visit = store.record(granted(), at=clock(), direction=Direction.IN)
        assert store.park(visit.uuid, "invalid", at=T0)
    assert rows(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)] == [(6,)]
    assert rows(db_path, "SELECT parked_reason FROM outbox") == [("invalid",)]
