"""Layer: core. The SQLite schema of the local record: peewee models, pragmas, migrations.

The schema is created and changed only by the ordered, frozen migrations below (``PRAGMA
user_version`` is the schema version); the peewee models describe the latest schema for queries and
never create tables. The models are not bound to a database: every query names the database it runs
on (``query.execute(db)``), so two stores in one process cannot step on each other's binding.

Only minimised fields exist in the schema: the ID number, name and identity hash, what kind of code
it was, when, which way, the verdict and its reason. There is no column for an address, a birth
date, health details or the raw payload, so no code path can store them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import peewee as pw

# Why each pragma (see shared/reference/reliability-plan.md §2):
# - WAL lets the sync worker process read while the gate writes, and a kill -9 never corrupts it.
# - synchronous=FULL (2) fsyncs the WAL at every COMMIT: a visitor told "recorded" stays recorded
#   after a power cut. NORMAL would only sync at checkpoints and can roll back the last visits. At
#   one scan every few seconds the extra fsync costs nothing that matters.
# - busy_timeout: the sync worker's short write transactions (acknowledgements) must make the gate
#   wait a moment, not fail with "database is locked".
# - foreign_keys: SQLite leaves them off per connection unless asked; the outbox row references its
#   visit.
# - journal_size_limit: after a checkpoint the WAL file is truncated back to this size instead of
#   keeping its high-water mark on a small SD card.
# - secure_delete: purged personal data is overwritten with zeros instead of lingering in free
#   pages.
BUSY_TIMEOUT_MS: Final = 5000
PRAGMAS: Final[dict[str, object]] = {
    "journal_mode": "wal",
    "synchronous": 2,
    "busy_timeout": BUSY_TIMEOUT_MS,
    "foreign_keys": 1,
    "journal_size_limit": 8 * 1024 * 1024,
    "secure_delete": 1,
}

# Primary result codes (the low byte of ``sqlite3.Error.sqlite_errorcode``).
SQLITE_BUSY: Final = 5
SQLITE_CORRUPT: Final = 11
SQLITE_FULL: Final = 13
SQLITE_NOTADB: Final = 26


def make_database(path: Path) -> pw.SqliteDatabase:
    """A peewee database for ``path`` with the kiosk's pragmas, applied when ``connect()`` is called.

    One connection, not peewee's default of one per thread: a store owns exactly one connection and
    serialises its threads with its own lock, so ``close()`` really closes it (thread-local connections
    of finished threads would leak) and no thread ever runs inside another thread's transaction. The
    other process (the sync worker) has its own connection; WAL lets the two work side by side.
    """
    return pw.SqliteDatabase(
        str(path),
        pragmas=PRAGMAS,
        thread_safe=False,
        check_same_thread=False,
        autoconnect=False,
    )


def sql(db: pw.SqliteDatabase, statement: str) -> sqlite3.Cursor:
    """Run one SQL statement on ``db`` (pragmas, DDL); peewee's ``execute_sql`` is untyped."""
    cursor: sqlite3.Cursor = db.execute_sql(statement)  # type: ignore[no-untyped-call]
    return cursor


@contextmanager
def write_transaction(db: pw.SqliteDatabase) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` on ``db``; ``ROLLBACK`` on error unless SQLite already did.

    IMMEDIATE takes the write lock at BEGIN. A deferred transaction that reads first and writes later
    must upgrade its lock, and that upgrade fails with SQLITE_BUSY at once (busy_timeout cannot help)
    when the other process wrote in between.

    Not peewee's ``atomic("IMMEDIATE")``: on SQLITE_FULL SQLite may roll the transaction back by
    itself, and atomic's own ROLLBACK then fails with "no transaction is active", replacing the
    "disk is full" error the caller has to see.
    """
    db.begin("IMMEDIATE")
    try:
        yield
        db.commit()
    except BaseException:
        if _in_transaction(db):
            db.rollback()
        raise


def _in_transaction(db: pw.SqliteDatabase) -> bool:
    conn: sqlite3.Connection = db.connection()  # type: ignore[no-untyped-call]
    return conn.in_transaction


def sqlite_code(exc: BaseException) -> int | None:
    """The primary SQLite result code behind a peewee or sqlite3 error, or None if there is none."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlite3.Error):
            # Extended codes (e.g. SQLITE_IOERR_WRITE) carry the primary code in the low byte.
            code = getattr(current, "sqlite_errorcode", None)
            return code & 0xFF if isinstance(code, int) else None
        orig = getattr(current, "orig", None)  # peewee keeps the driver's exception here
        current = orig if isinstance(orig, BaseException) else current.__cause__ or current.__context__
    return None


# --------------------------------------------------------------------------------------------------
# Models: the latest schema, for queries only. Keep them in step with MIGRATIONS (a test compares
# them).


class BaseRow(pw.Model):
    class Meta:
        database = None
        legacy_table_names = False


class VisitRow(BaseRow):
    """One recorded visit. Times are UTC ISO-8601 text with microseconds, sortable as text."""

    id = pw.AutoField()
    uuid = pw.TextField(unique=True)
    seq = pw.IntegerField()
    device_id = pw.TextField()
    location_code = pw.TextField()
    kind = pw.TextField()
    identity_hash = pw.TextField(null=True)
    id_number = pw.TextField(null=True)
    name = pw.TextField(null=True)
    direction = pw.TextField()
    outcome = pw.TextField()
    reason = pw.TextField()
    wall_utc = pw.TextField()
    clock_synchronised = pw.BooleanField()
    boot_id = pw.TextField()
    monotonic_s = pw.FloatField()
    privacy_notice_version = pw.TextField()
    manual = pw.BooleanField()
    warnings = pw.TextField()
    identity_key_id = pw.TextField(null=True)
    guard = pw.TextField(null=True)
    note = pw.TextField(null=True)
    original_outcome = pw.TextField(null=True)
    original_reason = pw.TextField(null=True)
    overrides = pw.TextField(null=True)

    class Meta:
        table_name = "visit"


class OutboxRow(BaseRow):
    """The sync contract: one row per visit, ``uploaded_at`` set when the server acknowledged it."""

    id = pw.AutoField()
    visit = pw.ForeignKeyField(VisitRow, unique=True, on_delete="RESTRICT", column_name="visit_id")
    uploaded_at = pw.TextField(null=True)
    #: Set when the server answered "conflict" (or refused the visit as invalid): never sent again.
    parked_at = pw.TextField(null=True)
    parked_reason = pw.TextField(null=True)

    class Meta:
        table_name = "outbox"


class SequenceRow(BaseRow):
    """The last sequence number handed out per device.

    A counter table rather than ``max(seq) + 1``: once old visits are purged, the maximum could fall
    and a sequence number would be handed out twice.
    """

    device_id = pw.TextField(primary_key=True)
    last_seq = pw.IntegerField()

    class Meta:
        table_name = "device_sequence"


MODELS: Final[tuple[type[BaseRow], ...]] = (VisitRow, OutboxRow, SequenceRow)


# --------------------------------------------------------------------------------------------------
# Migrations: frozen SQL, never derived from the models (the models move on, old migrations must
# not). Migration ``i`` (0-based) takes the schema from version ``i`` to ``i + 1``. Append only.


def _v1_tables(db: pw.SqliteDatabase) -> None:
    """Version 1: visits, their outbox rows and the per-device sequence counter."""
    sql(
        db,
        """
        CREATE TABLE visit (
            id INTEGER PRIMARY KEY,
            uuid TEXT NOT NULL UNIQUE,
            seq INTEGER NOT NULL,
            device_id TEXT NOT NULL,
            location_code TEXT NOT NULL,
            kind TEXT NOT NULL,
            identity_hash TEXT,
            id_number TEXT,
            name TEXT,
            direction TEXT NOT NULL,
            outcome TEXT NOT NULL,
            reason TEXT NOT NULL,
            wall_utc TEXT NOT NULL,
            clock_synchronised INTEGER NOT NULL,
            boot_id TEXT NOT NULL,
            monotonic_s REAL NOT NULL,
            privacy_notice_version TEXT NOT NULL,
            manual INTEGER NOT NULL,
            warnings TEXT NOT NULL DEFAULT '',
            UNIQUE (device_id, seq)
        )
        """,
    )
    sql(
        db,
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            visit_id INTEGER NOT NULL UNIQUE REFERENCES visit (id) ON DELETE RESTRICT,
            uploaded_at TEXT
        )
        """,
    )
    sql(
        db,
        "CREATE TABLE device_sequence ( device_id TEXT NOT NULL PRIMARY KEY, last_seq INTEGER NOT NULL)",
    )


def _v2_guard_and_indexes(db: pw.SqliteDatabase) -> None:
    """Version 2: the database itself refuses to drop an un-uploaded visit; indexes for the hot
    queries.

    The trigger is a second line behind ``Store.purge``: with it and the RESTRICT foreign key, no
    bug in any process can delete a visit the server has not acknowledged.
    """
    sql(
        db,
        """
        CREATE TRIGGER outbox_keep_unuploaded BEFORE DELETE ON outbox
        WHEN OLD.uploaded_at IS NULL
        BEGIN
            SELECT RAISE(ABORT, 'refusing to delete a visit that is not uploaded');
        END
        """,
    )
    sql(db, "CREATE INDEX visit_wall_utc ON visit (wall_utc)")
    # Partial index: the sync worker's "what is left to send" query stays fast however long the
    # history.
    sql(db, "CREATE INDEX outbox_pending ON outbox (visit_id) WHERE uploaded_at IS NULL")


def _v3_identity_key_id(db: pw.SqliteDatabase) -> None:
    """Version 3: each identity hash names the identity key (HMAC, ``kiosk.identity``) that made it.

    Hashes recorded before were unkeyed SHA-256; they are marked ``sha256`` so that nothing mistakes them
    for keyed ones. They cannot be re-hashed here (the identity key is not stored, and migrations never
    read the configuration); the server treats them as legacy.
    """
    sql(db, "ALTER TABLE visit ADD COLUMN identity_key_id TEXT")
    sql(db, "UPDATE visit SET identity_key_id = 'sha256' WHERE identity_hash IS NOT NULL")


def _v4_guard_records(db: pw.SqliteDatabase) -> None:
    """Version 4: manual entries and overrides name the guard who recorded them (a role or name, never a
    PIN) and the reason given; an override keeps the verdict it replaced. All NULL for a scanned visit."""
    sql(db, "ALTER TABLE visit ADD COLUMN guard TEXT")
    sql(db, "ALTER TABLE visit ADD COLUMN note TEXT")
    sql(db, "ALTER TABLE visit ADD COLUMN original_outcome TEXT")
    sql(db, "ALTER TABLE visit ADD COLUMN original_reason TEXT")


def _v5_parked(db: pw.SqliteDatabase) -> None:
    """Version 5: conflict parking. A visit the server answered "conflict" (the same UUID with different
    content is kept there) or refused as invalid is parked: never sent again, counted and reported. A parked
    visit is not uploaded, so the ``outbox_keep_unuploaded`` trigger keeps it from ever being purged."""
    sql(db, "ALTER TABLE outbox ADD COLUMN parked_at TEXT")
    sql(db, "ALTER TABLE outbox ADD COLUMN parked_reason TEXT")
    sql(db, "CREATE INDEX outbox_parked ON outbox (visit_id) WHERE parked_at IS NOT NULL")


def _v6_override_link(db: pw.SqliteDatabase) -> None:
    """Version 6: an override names the refused visit it replaced (its UUID; NULL for every other visit). The
    unique partial index is the guarantee that a refusal is overridden at most once, whatever process or
    thread records the override. Overrides recorded before keep NULL: nothing tells which refusal they
    replaced."""
    sql(db, "ALTER TABLE visit ADD COLUMN overrides TEXT")
    sql(db, "CREATE UNIQUE INDEX visit_overrides ON visit (overrides) WHERE overrides IS NOT NULL")


Migration = Callable[[pw.SqliteDatabase], None]
MIGRATIONS: Final[tuple[Migration, ...]] = (
    _v1_tables,
    _v2_guard_and_indexes,
    _v3_identity_key_id,
    _v4_guard_records,
    _v5_parked,
    _v6_override_link,
)
SCHEMA_VERSION: Final = len(MIGRATIONS)


class SchemaTooNewError(Exception):
    """The database was written by a newer version of the software (its schema version is
    higher)."""


def schema_version(db: pw.SqliteDatabase) -> int:
    """The database's schema version (``PRAGMA user_version``; 0 for a new, empty file)."""
    row = sql(db, "PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(db: pw.SqliteDatabase, target: int = SCHEMA_VERSION) -> int:
    """Bring the schema up to ``target``, one migration per transaction; return the final version.

    Each step re-reads the version inside a ``BEGIN IMMEDIATE`` transaction, so when the kiosk app
    and the sync worker start together only one of them runs each migration. ``user_version`` is set
    in the same transaction as the DDL (SQLite DDL is transactional), so a kill mid-migration leaves
    the old version.
    """
    if not 0 <= target <= SCHEMA_VERSION:
        raise ValueError(f"target schema version {target} is not in 0..{SCHEMA_VERSION}")
    while True:
        with write_transaction(db):
            version = schema_version(db)
            if version > SCHEMA_VERSION:
                raise SchemaTooNewError(
                    f"database schema version {version} is newer than this software's {SCHEMA_VERSION}"
                )
            if version >= target:
                return version
            MIGRATIONS[version](db)
            # PRAGMA takes no bound parameters; the value is an int we computed.
            sql(db, f"PRAGMA user_version = {version + 1:d}")


def quick_check(db: pw.SqliteDatabase) -> list[str]:
    """Problems found by ``PRAGMA quick_check`` (an empty list when the database is sound).

    quick_check is integrity_check without the index-content cross-check: O(N) instead of O(N log
    N), cheap enough for every start-up on a Pi.
    """
    rows = sql(db, "PRAGMA quick_check").fetchall()
    messages = [str(r[0]) for r in rows]
    return [] if messages == ["ok"] else messages


def integrity_check(db: pw.SqliteDatabase) -> list[str]:
    """Problems found by the full ``PRAGMA integrity_check`` (an empty list when the database is
    sound)."""
    rows = sql(db, "PRAGMA integrity_check").fetchall()
    messages = [str(r[0]) for r in rows]
    return [] if messages == ["ok"] else messages
