"""Layer: core. The thin repository over the local record: the only code that touches visits.

A visit and its outbox row are written in one ``BEGIN IMMEDIATE`` transaction; ``record`` returns
only after COMMIT, so the caller may tell the visitor "recorded" exactly when it returns. Everything
crossing this module's boundary is a value object from ``kiosk.model``; no ORM row escapes.

Failures are ``kiosk.errors.StoreError`` and its subclasses::

    StoreError                anything else the database refused ("database is locked", ...)
    ├── StorageFullError      SQLITE_FULL: "not recorded"; everything committed before is intact
    ├── OutOfServiceError     free space is below the floor: nothing was attempted
    └── CorruptDatabaseError  the file is damaged (at open: only when quarantine is off)

Threads: a store has one connection, shared under a lock, so any thread may call any method and
``close()`` closes it for all. Calls wait for each other; each takes milliseconds.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Final, Self
from urllib.parse import quote

import peewee as pw

from kiosk.errors import (
    AlreadyOverriddenError,
    CorruptDatabaseError,
    OutOfServiceError,
    PayloadError,
    StorageFullError,
    StoreError,
)
from kiosk.fileio import fsync_directory
from kiosk.guard import InsideCount, SearchQuery, clean_guard, clean_note, count_inside, parse_query
from kiosk.identity import IdentityKeyring
from kiosk.model import ClockReading, Decision, Direction, Kind, Outcome, Reason, Visit
from kiosk.payloads.text import ascii_digits, check_name
from kiosk.store.db import (
    BUSY_TIMEOUT_MS,
    SCHEMA_VERSION,
    SQLITE_BUSY,
    SQLITE_CORRUPT,
    SQLITE_FULL,
    SQLITE_NOTADB,
    OutboxRow,
    SchemaTooNewError,
    SequenceRow,
    VisitRow,
    integrity_check,
    make_database,
    migrate,
    quick_check,
    sql,
    sqlite_code,
    write_transaction,
)
from kiosk.store.files import OwnerLock, SeqFloor, lock_path, seq_path

log = logging.getLogger(__name__)

MIB: Final = 1024 * 1024
# SQLite allows 32766 bound parameters per statement; stay far below for IN (...) lists.
_CHUNK: Final = 500
_SIDE_FILES: Final = ("-wal", "-shm")
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
CCCD_DIGITS: Final = 12
_UPDATE_SOFTWARE: Final = "update the kiosk software (see docs/install.md) and start it again"
#: The mark ``Store.forget`` puts on an outbox row in the transaction that deletes it (never committed).
FORGOTTEN: Final = "forgotten"


def default_disk_free(directory: Path) -> int:
    """Free bytes on the file system holding ``directory`` (the production ``disk_free``)."""
    return shutil.disk_usage(directory).free


@dataclass(frozen=True, slots=True)
class DiskSpace:
    """Free space where the database lives, against the floor below which the kiosk is out of service.

    The one free-space rule: the store refuses to record below the floor, and ``kiosk doctor`` reports
    the same numbers (fail below the floor, warn within twice the floor).
    """

    free_bytes: int
    floor_bytes: int

    @classmethod
    def measure(
        cls, directory: Path, min_free_mb: int, disk_free: Callable[[Path], int] = default_disk_free
    ) -> DiskSpace:
        """Measured at ``directory``, or at its nearest existing parent while it is not created yet (the
        doctor runs before the gate has made the database folder). Raises ``OSError`` as ``disk_free`` does.
        """
        folder = Path(directory)
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        return cls(disk_free(folder), min_free_mb * MIB)

    @property
    def free_mb(self) -> int:
        return self.free_bytes // MIB

    @property
    def floor_mb(self) -> int:
        return self.floor_bytes // MIB

    @property
    def out_of_service(self) -> bool:
        return self.free_bytes < self.floor_bytes

    @property
    def low(self) -> bool:
        """Within twice the floor (or below it): free space before the kiosk stops recording."""
        return self.free_bytes < 2 * self.floor_bytes


@dataclass(frozen=True, slots=True)
class ParkedVisit:
    """A visit the sync worker parked: never sent again, kept, counted and shown (``Store.parked``)."""

    visit: Visit
    reason: str
    parked_at: datetime


def utc_text(moment: datetime) -> str:
    """The stored form of a time: UTC ISO-8601 with microseconds, so text order is time order."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"time must be timezone-aware, got naive {moment!r}")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Store:
    """The kiosk's local record of visits and its outbox. Open with ``Store.open``.

    A context manager; ``close()`` is idempotent.
    """

    def __init__(
        self,
        db: pw.SqliteDatabase,
        *,
        path: Path,
        device_id: str,
        location_code: str,
        privacy_notice_version: str,
        min_free_bytes: int,
        disk_free: Callable[[Path], int],
        recovered_from: Path | None,
        owner_lock: OwnerLock | None = None,
        seq_floor: SeqFloor | None = None,
        read_only: bool = False,
    ) -> None:
        """Use ``Store.open`` or ``Store.open_read_only``; this only wires an opened, migrated database."""
        self._db = db
        self._owner_lock = owner_lock
        self._seq_floor = seq_floor
        #: True for a snapshot opened by ``open_read_only``: nothing can be written.
        self.read_only = read_only
        self.path = path
        self.device_id = device_id
        self.location_code = location_code
        self.privacy_notice_version = privacy_notice_version
        self.min_free_bytes = min_free_bytes
        self._disk_free = disk_free
        #: Where the damaged database was moved at open, or None if it was sound.
        self.recovered_from = recovered_from
        self._closed = False
        self._lock = threading.RLock()

    # ---------------------------------------------------------------------------------------------
    # opening

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        device_id: str,
        location_code: str,
        privacy_notice_version: str,
        min_free_mb: int = 50,
        disk_free: Callable[[Path], int] | None = None,
        quarantine_corrupt: bool = True,
        owner: bool = True,
    ) -> Self:
        """Open (creating if needed) the record at ``path``, migrate it and check it.

        The **owner** (the gate: ``kiosk run``, ``kiosk scan``; the default) holds the database's owner
        lock (``<db>.lock``) while the store is open; a second owner is refused with a ``StoreError``
        naming the first. Only the owner moves a damaged database aside, checkpoints the WAL into the
        main file, and keeps the sequence floor (``<db>.seq``) that lets numbering continue above
        everything handed out before, even after a quarantine. Another process that shares the
        database (the sync worker) passes ``owner=False``.

        A file that was never a kiosk database (not SQLite, or another application's SQLite file) is
        refused and left untouched.

        A file that is not a database or fails ``quick_check`` is moved aside with its
        ``-wal``/``-shm`` files to ``<name>.corrupt-<UTC time>`` (never deleted), a fresh database
        is started, ``recovered_from`` names the moved file and a WARNING tells the operator where
        it is. Only the process that owns the database should quarantine: another process (the sync
        worker, ``owner=False``) gets ``CorruptDatabaseError`` instead,
        because renaming a file that the kiosk app still has open would split it from its WAL.

        ``disk_free`` returns free bytes for a directory (default ``shutil.disk_usage``); below
        ``min_free_mb`` the store is out of service.
        """
        if not device_id or not location_code or not privacy_notice_version:
            raise ValueError("device_id, location_code and privacy_notice_version must be non-empty")
        if min_free_mb < 0:
            raise ValueError(f"min_free_mb must be >= 0, got {min_free_mb}")
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the database folder {path.parent}: {exc.strerror or exc}; "
                "choose another place with --db or store.database"
            ) from exc

        disk_free = disk_free or default_disk_free
        lock = OwnerLock(path).acquire() if owner else None
        try:
            recovered_from = _check_or_quarantine(path, quarantine=owner and quarantine_corrupt)
            db = _open_migrated(path, disk_free)
            floor = None
            if owner:
                floor = SeqFloor(path)
                _seed_sequence(db, floor, device_id, recovered_from)
                # The main file, not only the WAL, holds the schema and what is recorded so far: losing
                # or deleting a -wal must not lose the database with it.
                _checkpoint(db, "TRUNCATE")
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return cls(
            db,
            path=path,
            device_id=device_id,
            location_code=location_code,
            privacy_notice_version=privacy_notice_version,
            min_free_bytes=min_free_mb * MIB,
            disk_free=disk_free,
            recovered_from=recovered_from,
            owner_lock=lock,
            seq_floor=floor,
        )

    @classmethod
    def open_read_only(cls, path: Path) -> Self:
        """A read-only snapshot of the record at ``path`` (``kiosk visits``, ``export``, ``doctor``).

        Nothing is written to ``path`` or beside it, and nothing is repaired: a damaged database is a
        ``CorruptDatabaseError`` saying the gate moves it aside at its next start; a file that is not a
        kiosk database, or a missing one, a ``StoreError``. Works on read-only media and while the gate
        records (the snapshot is consistent: SQLite's backup API over a read-only connection). An older
        schema is upgraded in the in-memory snapshot only.
        """
        path = Path(path)
        if not path.is_file():
            what = "is not a file" if path.exists() else "does not exist"
            raise StoreError(f"no visit database at {path}: it {what} (set --db or store.database)")
        _refuse_foreign_header(path, may_be_ours=False)
        db = make_database(Path(":memory:"))
        db.connect()
        try:
            with closing(_connect_read_only(path)) as source:
                try:
                    source.backup(db.connection())  # type: ignore[no-untyped-call]
                except sqlite3.Error as exc:
                    raise _read_only_error(path, exc) from exc
            try:
                problems = quick_check(db)
            except (pw.PeeweeException, sqlite3.Error) as exc:
                problems = [str(exc)]
            if problems:
                raise CorruptDatabaseError(
                    f"the visit database {path} is damaged ({'; '.join(problems[:3])}); nothing was "
                    "changed — the gate moves it aside when it next starts (kiosk run)"
                )
            _refuse_foreign_tables(db.connection(), path)  # type: ignore[no-untyped-call]
            migrate(db)  # the in-memory snapshot only
        except BaseException:
            db.close()
            raise
        return cls(
            db,
            path=path,
            device_id="read-only",
            location_code="read-only",
            privacy_notice_version="read-only",
            min_free_bytes=0,
            disk_free=lambda _d: 0,
            recovered_from=None,
            read_only=True,
        )

    # ---------------------------------------------------------------------------------------------
    # writing

    def record(
        self,
        decision: Decision,
        *,
        at: ClockReading,
        direction: Direction,
        manual: bool = False,
    ) -> Visit:
        """Record one visit and queue it for upload, in one transaction; return it as stored.

        Stores only the minimised fields: never the address, birth date, health details or raw
        payload (the schema has no column for them). A ``Kind.MANUAL`` decision is always marked
        manual.

        Raises ``OutOfServiceError`` (free space below the floor, nothing written),
        ``StorageFullError`` (the disk filled during the write: "not recorded", everything committed
        before is intact) or ``StoreError``. Only a normal return means the visit is durably
        recorded.
        """
        credential = decision.credential
        warnings = credential.warnings if credential is not None else ()
        if any("," in w for w in warnings):
            raise ValueError(f"warning codes must not contain commas: {warnings!r}")
        visit = Visit(
            uuid=str(uuid.uuid4()),
            seq=0,  # assigned inside the transaction below
            device_id=self.device_id,
            location_code=self.location_code,
            kind=decision.kind,
            identity_hash=decision.identity_hash if credential is not None else None,
            identity_key_id=decision.identity_key_id if credential is not None else None,
            id_number=credential.id_number if credential is not None else None,
            name=credential.name if credential is not None else None,
            direction=direction,
            outcome=decision.outcome,
            reason=decision.reason,
            at=at,
            privacy_notice_version=self.privacy_notice_version,
            manual=manual or decision.kind is Kind.MANUAL,
            uploaded=False,
            warnings=tuple(warnings),
        )
        return self._insert(visit)

    def _insert(self, visit: Visit) -> Visit:
        """Write ``visit`` and its outbox row in one transaction; return it with its sequence number."""
        self._check_writable()
        if self.is_out_of_service():
            raise OutOfServiceError(
                f"out of service: less than {self.min_free_bytes // MIB} MiB free for {self.path}; "
                "the visit was not recorded"
            )
        at = visit.at
        wall = utc_text(at.wall)
        # One IMMEDIATE transaction for the counter, the visit and its outbox row: either all three
        # are committed or none is (the outbox pattern), and the sync worker cannot slip in between.
        with self._lock:
            self._check_open()
            with (
                self._translated("record the visit", full_means_not_recorded=True),
                write_transaction(self._db),
            ):
                seq = self._next_seq()
                insert = VisitRow.insert(
                    uuid=visit.uuid,
                    seq=seq,
                    device_id=visit.device_id,
                    location_code=visit.location_code,
                    kind=visit.kind.value,
                    identity_hash=visit.identity_hash,
                    identity_key_id=visit.identity_key_id,
                    id_number=visit.id_number,
                    name=visit.name,
                    direction=visit.direction.value,
                    outcome=visit.outcome.value,
                    reason=visit.reason.value,
                    wall_utc=wall,
                    clock_synchronised=at.synchronised,
                    boot_id=at.boot_id,
                    monotonic_s=at.monotonic_s,
                    privacy_notice_version=visit.privacy_notice_version,
                    manual=visit.manual,
                    warnings=",".join(visit.warnings),
                    guard=visit.guard,
                    note=visit.note,
                    original_outcome=visit.original_outcome.value if visit.original_outcome else None,
                    original_reason=visit.original_reason.value if visit.original_reason else None,
                    overrides=visit.overrides,
                )
                try:
                    visit_id = insert.execute(self._db)
                except pw.IntegrityError as exc:
                    # The unique index ``visit_overrides`` (schema 6) is the guarantee behind the check in
                    # ``record_override``: another thread or process overrode the same refusal in between.
                    if visit.overrides is not None and "visit.overrides" in str(exc):
                        raise AlreadyOverriddenError(visit.overrides) from exc
                    raise
                OutboxRow.insert(visit=visit_id, uploaded_at=None).execute(self._db)
        # Past this point COMMIT has returned: the visit is durable (WAL fsynced, synchronous=FULL).
        return replace(visit, seq=seq)

    def record_manual(
        self,
        *,
        name: str,
        id_number: str | None,
        note: str,
        guard: str,
        at: ClockReading,
        direction: Direction,
        keyring: IdentityKeyring,
    ) -> Visit:
        """Record a visitor the guard typed in (no phone or ID card to scan), queued for upload like a scan.

        A ``manual`` visit, granted, reason ``manual_entry``, with the guard's role or name and the reason
        given (``kiosk.guard.clean_note``). The ID number is optional; when given it is a 12-digit citizen
        ID (ASCII digits) and the identity hash is that of ``id:<digits>`` under the keyring's current key,
        so the visit matches the same person's scans and the staff roster. ``Direction.BOTH`` records an
        entry, as the scan pipeline does.

        Raises ``PayloadError`` (kind ``manual``) for input the guard must correct: the name's reasons
        (``kiosk.payloads.text.check_name``), ``bad_id``, and ``empty`` / ``too_long`` for the reason;
        ``ValueError`` for a guard named by a PIN; and what ``record`` raises.
        """
        clean_name = check_name(name, Kind.MANUAL)
        number = (id_number or "").strip() or None
        identity_hash = key_id = None
        if number is not None:
            if not (len(number) == CCCD_DIGITS and ascii_digits(number)):
                raise PayloadError(Reason.BAD_ID, Kind.MANUAL, f"an ID number is {CCCD_DIGITS} digits")
            identity_hash, key_id = keyring.hash(f"id:{number}"), keyring.current.key_id
        visit = Visit(
            uuid=str(uuid.uuid4()),
            seq=0,
            device_id=self.device_id,
            location_code=self.location_code,
            kind=Kind.MANUAL,
            identity_hash=identity_hash,
            identity_key_id=key_id,
            id_number=number,
            name=clean_name,
            direction=Direction.OUT if direction is Direction.OUT else Direction.IN,
            outcome=Outcome.GRANTED,
            reason=Reason.MANUAL_ENTRY,
            at=at,
            privacy_notice_version=self.privacy_notice_version,
            manual=True,
            guard=clean_guard(guard),
            note=clean_note(note),
        )
        return self._insert(visit)

    def record_override(self, original: Visit, *, note: str, guard: str, at: ClockReading) -> Visit:
        """Record the guard letting in someone the gate refused (or sent to the guard), with a reason.

        A new visit, queued for upload: the same kind, identity, name and ID number and direction as the
        refused visit, granted, reason ``guard_override``, marked manual, with the guard's role or name, the
        reason given (``OVERRIDE_REASONS`` or typed) and the verdict it replaced. The refused visit stays
        as it was. The original is read back from this record by its UUID, so what is copied is what was
        recorded.

        The override names the refusal it replaced (``Visit.overrides``), and a refusal is overridden at most
        once: a second override raises ``AlreadyOverriddenError`` and records nothing. The check reads the
        record first; the unique index on ``visit.overrides`` (schema 6) is the guarantee when another
        thread or process overrides the same refusal at the same moment (the same error).

        Raises ``ValueError`` when ``original`` was granted or is not in this record (or the guard is named
        by a PIN), ``AlreadyOverriddenError`` when it was already overridden, ``PayloadError`` for an empty or
        too long reason, and what ``record`` raises.
        """
        if original.outcome not in (Outcome.REFUSED, Outcome.NEEDS_GUARD):
            raise ValueError(f"only a refusal can be overridden, not a {original.outcome.value} visit")
        stored = self.get_visit(original.uuid)
        if stored is None:
            raise ValueError(f"visit {original.uuid} is not in this record: it cannot be overridden")
        if stored.outcome not in (Outcome.REFUSED, Outcome.NEEDS_GUARD):
            raise ValueError(f"only a refusal can be overridden, not a {stored.outcome.value} visit")
        earlier = self.override_of(stored.uuid)
        if earlier is not None:
            raise AlreadyOverriddenError(stored.uuid, earlier.uuid)
        visit = replace(
            stored,
            uuid=str(uuid.uuid4()),
            seq=0,
            device_id=self.device_id,
            location_code=self.location_code,
            outcome=Outcome.GRANTED,
            reason=Reason.GUARD_OVERRIDE,
            at=at,
            privacy_notice_version=self.privacy_notice_version,
            manual=True,
            uploaded=False,
            guard=clean_guard(guard),
            note=clean_note(note),
            original_outcome=stored.outcome,
            original_reason=stored.reason,
            overrides=stored.uuid,
        )
        return self._insert(visit)

    def acknowledge(self, uuids: Iterable[str], *, at: datetime | None = None) -> int:
        """Mark the visits with these UUIDs as uploaded at ``at`` (default: now, UTC).

        Returns how many were newly marked. Unknown or already acknowledged UUIDs are ignored, so a
        repeated acknowledgement (a lost response, a retry) is harmless and keeps the first time.
        """
        with self._lock:
            self._check_writable()
            stamp = utc_text(at if at is not None else datetime.now(UTC))
            wanted = list(dict.fromkeys(uuids))
            changed = 0
            with self._translated("acknowledge uploaded visits"), write_transaction(self._db):
                for start in range(0, len(wanted), _CHUNK):
                    ids = VisitRow.select(VisitRow.id).where(
                        VisitRow.uuid.in_(wanted[start : start + _CHUNK])
                    )
                    changed += int(
                        OutboxRow.update(uploaded_at=stamp)
                        .where(OutboxRow.visit.in_(ids) & OutboxRow.uploaded_at.is_null())
                        .execute(self._db)
                    )
            return changed

    def purge(self, now: datetime, retention_days: int) -> int:
        """Delete visits (and their outbox rows) older than the retention period that are uploaded.

        A visit goes only when both its wall time and its upload time are more than
        ``retention_days`` before ``now``: "after upload plus a retention period", and never earlier
        than the retention period after the visit. Visits not yet uploaded are never deleted (and
        the database refuses to, see ``db._v2_guard_and_indexes``). Returns the number of visits
        deleted.
        """
        with self._lock:
            self._check_writable()
            if retention_days < 0:
                raise ValueError(f"retention_days must be >= 0, got {retention_days}")
            cutoff = utc_text(now - timedelta(days=retention_days))
            deleted = 0
            with self._translated("purge old visits"):
                with write_transaction(self._db):
                    old = (
                        VisitRow.select(VisitRow.id)
                        .join(OutboxRow, on=OutboxRow.visit == VisitRow.id)
                        .where(
                            (VisitRow.wall_utc < cutoff)
                            & OutboxRow.uploaded_at.is_null(False)
                            & (OutboxRow.uploaded_at < cutoff)
                        )
                    )
                    ids = [int(row[0]) for row in old.tuples().execute(self._db)]
                    for start in range(0, len(ids), _CHUNK):
                        chunk = ids[start : start + _CHUNK]
                        OutboxRow.delete().where(OutboxRow.visit.in_(chunk)).execute(self._db)
                        deleted += int(VisitRow.delete().where(VisitRow.id.in_(chunk)).execute(self._db))
                if deleted:
                    # Fold the WAL (which holds the deleted rows' old pages) back into the main file and
                    # truncate it, so purged personal data does not linger there. Best effort: a reader
                    # can hold it back; the next checkpoint finishes the job.
                    sql(self._db, "PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            return deleted

    def forget(self, identity_hashes: Iterable[tuple[str, str]]) -> int:
        """Delete every visit of the people named by ``(identity_key_id, identity_hash)`` pairs, uploaded
        or not, with their outbox rows, in one transaction; returns how many visits went.

        The province deleted these people's data on a verified request (``forget`` in the configuration). It
        is the one deliberate exception to "never delete an un-uploaded visit": inside the transaction the
        matching outbox rows are first marked forgotten (an ``uploaded_at`` stamp they never had), so the
        ``outbox_keep_unuploaded`` trigger lets exactly these rows go; the trigger itself is untouched and
        still refuses every other delete. No other connection ever sees the mark.
        """
        by_key: dict[str, set[str]] = {}
        for key_id, digest in identity_hashes:
            by_key.setdefault(key_id, set()).add(digest.lower())
        if not by_key:
            return 0
        with self._lock:
            self._check_writable()
            deleted = 0
            with self._translated("forget visits"):
                with write_transaction(self._db):
                    ids: list[int] = []
                    for key_id, digests in sorted(by_key.items()):
                        wanted = sorted(digests)
                        for start in range(0, len(wanted), _CHUNK):
                            query = VisitRow.select(VisitRow.id).where(
                                (VisitRow.identity_key_id == key_id)
                                & VisitRow.identity_hash.in_(wanted[start : start + _CHUNK])
                            )
                            ids += [int(row[0]) for row in query.tuples().execute(self._db)]
                    for start in range(0, len(ids), _CHUNK):
                        chunk = ids[start : start + _CHUNK]
                        OutboxRow.update(uploaded_at=FORGOTTEN, parked_reason=FORGOTTEN).where(
                            OutboxRow.visit.in_(chunk) & OutboxRow.uploaded_at.is_null()
                        ).execute(self._db)
                        OutboxRow.delete().where(OutboxRow.visit.in_(chunk)).execute(self._db)
                        deleted += int(VisitRow.delete().where(VisitRow.id.in_(chunk)).execute(self._db))
                if deleted:
                    # As in purge: the deleted personal data must not linger in the WAL.
                    sql(self._db, "PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            return deleted

    # ---------------------------------------------------------------------------------------------
    # reading

    def visits(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[Visit]:
        """Visits with wall time in ``[since, until)``, newest first.

        Ordered by sequence number, not wall time: an unsynchronised clock can jump, the sequence
        cannot.
        """
        with self._lock:
            self._check_open()
            query = _joined().order_by(VisitRow.seq.desc())
            if since is not None:
                query = query.where(VisitRow.wall_utc >= utc_text(since))
            if until is not None:
                query = query.where(VisitRow.wall_utc < utc_text(until))
            if limit is not None:
                query = query.limit(limit)
            with self._translated("read visits"):
                return [_to_visit(row) for row in query.execute(self._db)]

    def get_visit(self, visit_uuid: str) -> Visit | None:
        """The visit with this UUID, or None."""
        with self._lock:
            self._check_open()
            query = _joined().where(VisitRow.uuid == visit_uuid)
            with self._translated("read a visit"):
                rows = list(query.execute(self._db))
        return _to_visit(rows[0]) if rows else None

    def override_of(self, visit_uuid: str) -> Visit | None:
        """The guard's override of the refused visit with this UUID (``Visit.overrides``), or None when it was
        not overridden (or the override was purged)."""
        with self._lock:
            self._check_open()
            query = _joined().where(VisitRow.overrides == visit_uuid)
            with self._translated("read an override"):
                rows = list(query.execute(self._db))
        return _to_visit(rows[0]) if rows else None

    def search(self, text: str, *, limit: int = 50) -> list[Visit]:
        """Visits whose name or ID number matches what the guard typed, newest first (at most ``limit``).

        Name words match the beginnings of the name's words with case and accents folded ("nguyen" finds
        "Nguyễn", "dang" finds "Đặng"); a group of digits matches the end of the ID number and needs at
        least 4 of them. An empty query, or one with fewer digits, finds nothing (see ``kiosk.guard``).
        Show the results with ``kiosk.guard.console_line``, which masks the ID number.
        """
        query = parse_query(text)
        if not query.usable or limit <= 0:
            return []
        with self._lock:
            self._check_open()
            select = _joined()
            for ending in query.id_endings:
                select = select.where(pw.fn.substr(VisitRow.id_number, -len(ending)) == ending)
            if query.words:
                # SQLite folds neither accents nor non-ASCII case: the match runs in Python, row by row.
                conn: sqlite3.Connection = self._db.connection()  # type: ignore[no-untyped-call]
                conn.create_function(_NAME_MATCH_FN, 2, _name_matches)
                select = select.where(pw.fn.kiosk_name_matches(VisitRow.name, " ".join(query.words)) == 1)
            # Newest first by insertion (rowid) order, which SQLite walks backwards and stops after ``limit``
            # matches; for one device it is sequence order, as in ``visits``.
            select = select.order_by(VisitRow.id.desc()).limit(limit)
            with self._translated("search visits"):
                return [_to_visit(row) for row in select.execute(self._db)]

    def inside_now(self, since: datetime) -> InsideCount:
        """People inside now: granted entries and exits since ``since`` (the start of today, Vietnam time,
        passed in), a person counted again only when their direction changes (``kiosk.guard.count_inside``).
        """
        with self._lock:
            self._check_open()
            query = (
                VisitRow.select(VisitRow.direction, VisitRow.identity_key_id, VisitRow.identity_hash)
                .where((VisitRow.wall_utc >= utc_text(since)) & (VisitRow.outcome == Outcome.GRANTED.value))
                .order_by(VisitRow.seq)
                .tuples()
            )
            with self._translated("count people inside"):
                rows = [(Direction(d), k, h) for d, k, h in query.execute(self._db)]
        return count_inside(rows)

    def pending(self, limit: int) -> list[Visit]:
        """Up to ``limit`` visits the server has not acknowledged and that are not parked, oldest (lowest
        ``seq``) first."""
        with self._lock:
            self._check_open()
            query = _joined().where(_WAITING).order_by(VisitRow.seq).limit(limit)
            with self._translated("read the outbox"):
                return [_to_visit(row) for row in query.execute(self._db)]

    def backlog(self) -> int:
        """How many visits wait for upload (not uploaded and not parked)."""
        with self._lock:
            self._check_open()
            with self._translated("count the outbox"):
                return int(OutboxRow.select().where(_WAITING).count(self._db))

    def oldest_pending(self) -> datetime | None:
        """The wall time of the oldest visit waiting for upload (lowest ``seq``), or None when none waits."""
        with self._lock:
            self._check_open()
            query = (
                VisitRow.select(VisitRow.wall_utc)
                .join(OutboxRow, on=OutboxRow.visit == VisitRow.id)
                .where(_WAITING)
                .order_by(VisitRow.seq)
                .limit(1)
            )
            with self._translated("read the outbox"):
                wall = query.scalar(self._db)
        return datetime.fromisoformat(wall) if wall is not None else None

    def park(self, visit_uuid: str, reason: str, *, at: datetime) -> bool:
        """Park the visit with this UUID: the server keeps a different visit under it ("conflict") or refused
        it as invalid. A parked visit is never sent again, is not counted in ``backlog`` and is never purged
        (it is not uploaded). True when it was newly parked; parking it again, or a visit that is uploaded
        or unknown, changes nothing and is False."""
        with self._lock:
            self._check_writable()
            stamp = utc_text(at)
            ids = VisitRow.select(VisitRow.id).where(VisitRow.uuid == visit_uuid)
            with self._translated("park a visit"), write_transaction(self._db):
                changed = (
                    OutboxRow.update(parked_at=stamp, parked_reason=reason[:500])
                    .where(OutboxRow.visit.in_(ids) & _WAITING)
                    .execute(self._db)
                )
            return bool(changed)

    def parked(self, *, limit: int | None = None) -> list[ParkedVisit]:
        """Parked visits, oldest (lowest ``seq``) first, with why and when they were parked."""
        with self._lock:
            self._check_open()
            query = _joined().where(OutboxRow.parked_at.is_null(False)).order_by(VisitRow.seq)
            if limit is not None:
                query = query.limit(limit)
            with self._translated("read parked visits"):
                return [
                    ParkedVisit(
                        _to_visit(row), row.parked_reason or "", datetime.fromisoformat(row.parked_at)
                    )
                    for row in query.execute(self._db)
                ]

    def parked_count(self) -> int:
        """How many visits are parked (for ``kiosk doctor`` and the heartbeat)."""
        with self._lock:
            self._check_open()
            with self._translated("count parked visits"):
                return int(OutboxRow.select().where(OutboxRow.parked_at.is_null(False)).count(self._db))

    # ---------------------------------------------------------------------------------------------
    # health

    def free_bytes(self) -> int:
        """Free bytes where the database lives, as the ``disk_free`` seam reports them."""
        try:
            return self._disk_free(self.path.parent)
        except OSError as exc:
            raise StoreError(f"cannot read free space for {self.path.parent}: {exc}") from exc

    def disk_space(self) -> DiskSpace:
        """Free space where the database lives, and the floor (raises ``StoreError`` as ``free_bytes``)."""
        return DiskSpace(self.free_bytes(), self.min_free_bytes)

    def is_out_of_service(self) -> bool:
        """True when free space is below the floor: the kiosk must say "out of service"."""
        return self.disk_space().out_of_service

    def integrity_ok(self) -> bool:
        """Run the full ``PRAGMA integrity_check`` (slow on a big file: nightly, not per scan)."""
        with self._lock:
            self._check_open()
            with self._translated("check the database"):
                problems = integrity_check(self._db)
            if problems:
                log.error("integrity_check of %s failed: %s", self.path, "; ".join(problems[:5]))
            return not problems

    # ---------------------------------------------------------------------------------------------
    # lifecycle

    def checkpoint(self) -> bool:
        """Copy what the WAL holds into the main database file without blocking the gate.

        Runs ``PRAGMA wal_checkpoint(PASSIVE)`` on a connection of its own, so it never waits for the
        store's lock and never makes a writer wait; SQLite copies what it can and stops at pages a
        reader still needs. Call it from a background thread or an idle moment, e.g. once a minute.
        Returns True when the whole WAL was copied. Errors are ``StoreError``.
        """
        self._check_open()
        if self.read_only:
            return True
        try:
            with closing(sqlite3.connect(self.path, isolation_level=None, timeout=0.1)) as conn:
                busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"checkpoint of {self.path}: {exc}") from exc
        return not busy and copied == frames

    def close(self) -> None:
        """Close the connection and release the owner lock. Idempotent; any later call raises StoreError."""
        with self._lock:
            if not self._closed:
                self._closed = True
                try:
                    self._db.close()
                finally:
                    if self._owner_lock is not None:
                        self._owner_lock.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------------
    # internals

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the store {self.path} is closed")

    def _check_writable(self) -> None:
        self._check_open()
        if self.read_only:
            raise StoreError(f"{self.path} was opened read-only: nothing can be recorded or changed")

    def _next_seq(self) -> int:
        """Take the next sequence number for this device. Call only inside the write transaction."""
        updated = (
            SequenceRow.update(last_seq=SequenceRow.last_seq + 1)
            .where(SequenceRow.device_id == self.device_id)
            .execute(self._db)
        )
        if not updated:
            SequenceRow.insert(device_id=self.device_id, last_seq=1).execute(self._db)
        seq = int(
            SequenceRow.select(SequenceRow.last_seq)
            .where(SequenceRow.device_id == self.device_id)
            .scalar(self._db)
        )
        if self._seq_floor is not None:
            # Reserved before the COMMIT: a number is never used before the floor file covers it.
            self._seq_floor.ensure(self.device_id, seq)
        return seq

    @contextmanager
    def _translated(self, action: str, *, full_means_not_recorded: bool = False) -> Iterator[None]:
        """Translate peewee/sqlite3 errors into the kiosk's StoreError tree."""
        try:
            yield
        except pw.PeeweeException as exc:
            code = sqlite_code(exc)
            if code == SQLITE_FULL:
                what = "not recorded" if full_means_not_recorded else "not done"
                raise StorageFullError(
                    f"{action}: {what}: disk full, {_free_text(self._disk_free, self.path)}; "
                    "nothing stored before is lost"
                ) from exc
            if code == SQLITE_BUSY:
                raise StoreError(
                    f"{action}: the database {self.path} stayed locked by another process for "
                    f"{BUSY_TIMEOUT_MS // 1000} s{_holder(self.path)}"
                ) from exc
            if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
                raise CorruptDatabaseError(f"{action}: the database {self.path} is damaged: {exc}") from exc
            raise StoreError(f"{action}: {exc}") from exc


# --------------------------------------------------------------------------------------------------
# opening helpers


def _check_or_quarantine(path: Path, *, quarantine: bool) -> Path | None:
    """Run ``quick_check`` on ``path``; move a damaged database aside and return where it went.

    The check uses a bare connection that sets no pragmas, so nothing is written before the verdict.
    A damaged file is moved aside *while that connection is still open*: when SQLite closes the last
    connection to a file it cannot read, it deletes the ``-wal`` and ``-shm`` files beside it, and
    the WAL may hold the latest visits. After the rename those deletions find nothing, and the WAL
    is kept byte for byte. (SQLite may still checkpoint the WAL's pages into the moved main file as
    that connection closes; that copies the newest pages in and loses nothing.)

    Only SQLITE_CORRUPT, SQLITE_NOTADB and a failed quick_check count as damage. Anything else
    (permissions, a lock held too long) is a StoreError: moving a healthy file aside because of a
    transient error would hide its visits from the sync worker.
    """
    sides = [Path(f"{path}{suffix}") for suffix in _SIDE_FILES]
    if not path.exists():
        if any(side.exists() for side in sides):
            # SQLite deletes a -wal found without its database; keep it for forensics instead.
            return _set_aside(path, "the database file is missing but its -wal is there", quarantine)
        return None
    if not path.is_file():
        raise StoreError(
            f"{path} is not a file; choose the visit database's path with --db or store.database"
        )
    # A damaged header on a path the kiosk has used before (its sequence floor or WAL is beside it)
    # is damage; on any other file it means the path names something else, which is never touched.
    ours = seq_path(path).exists() or any(side.exists() for side in sides)
    if not _refuse_foreign_header(path, may_be_ours=ours):
        return _set_aside(path, "the file does not start with the SQLite header", quarantine)
    try:
        conn = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the database {path}: {exc}") from exc
    with closing(conn):
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
            problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall()]
            if problems == ["ok"]:
                _refuse_foreign_tables(conn, path)
                return None
        except sqlite3.Error as exc:
            code = sqlite_code(exc)
            if code == SQLITE_BUSY:
                raise StoreError(
                    f"cannot check the database {path}: it stayed locked for {BUSY_TIMEOUT_MS // 1000} s "
                    f"by another process{_holder(path)}"
                ) from exc
            if code not in (SQLITE_CORRUPT, SQLITE_NOTADB):
                raise StoreError(f"cannot check the database {path}: {exc}") from exc
            problems = [str(exc)]
        return _set_aside(path, "; ".join(problems[:5]), quarantine)


def _refuse_foreign_header(path: Path, *, may_be_ours: bool) -> bool:
    """True when ``path`` is empty or starts like a SQLite file. Otherwise: False when it may be a damaged
    kiosk database, else a ``StoreError`` (a config file or a document given as --db is never moved)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not head or head == _SQLITE_MAGIC:
        return True
    if may_be_ours:
        return False
    raise StoreError(
        f"{path} is not a visit database (not an SQLite file); nothing was changed — "
        "choose the database's path with --db or store.database"
    )


def _refuse_foreign_tables(conn: sqlite3.Connection, path: Path) -> None:
    """Another application's SQLite file is refused, never migrated into or moved."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    tables = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the visit database {path} was written by newer software (schema {version}, this software "
            f"knows up to {SCHEMA_VERSION}); {_UPDATE_SOFTWARE}"
        )
    kiosk_tables = {"visit", "outbox", "device_sequence"}
    if (version == 0 and tables) or (version > 0 and not kiosk_tables <= tables):
        names = ", ".join(sorted(tables)[:5])
        raise StoreError(
            f"{path} is another application's SQLite database (tables: {names}), not a visit database; "
            "nothing was changed — choose another --db or store.database"
        )


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write: ``mode=ro``, or ``immutable=1`` on media where even the WAL index
    cannot be created (a write-protected USB stick, a read-only mount)."""
    quoted = quote(str(path.resolve()))
    last: sqlite3.Error | None = None
    # Without a -wal no connection has the database open (SQLite removes it when the last one closes),
    # and a reader that is told the file is immutable creates no -wal or -shm beside it either.
    queries = ("mode=ro", "mode=ro&immutable=1") if Path(f"{path}-wal").exists() else ("mode=ro&immutable=1",)
    for query in queries:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(f"file:{quoted}?{query}", uri=True, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.Error as exc:
            last = exc
            if conn is not None:
                conn.close()
            if sqlite_code(exc) in (SQLITE_CORRUPT, SQLITE_NOTADB):
                break
    assert last is not None
    raise _read_only_error(path, last)


def _read_only_error(path: Path, exc: sqlite3.Error) -> StoreError:
    code = sqlite_code(exc)
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return CorruptDatabaseError(
            f"the visit database {path} is damaged ({exc}); nothing was changed — the gate moves it "
            "aside when it next starts (kiosk run)"
        )
    if code == SQLITE_BUSY:
        return StoreError(f"the database {path} stayed locked by another process{_holder(path)}")
    return StoreError(f"cannot read the database {path}: {exc}")


def _holder(path: Path) -> str:
    """`` (pid N: kiosk run)`` from the owner's lock file, when a process holds it."""
    try:
        text = lock_path(path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""
    pid, _, command = text.partition(" ")
    return f" (pid {pid}: {command})" if pid.isdigit() else ""


def _free_text(disk_free: Callable[[Path], int], path: Path) -> str:
    try:
        free = disk_free(path.parent)
    except OSError:
        return f"{path}"
    return f"{free / MIB:.1f} MiB free on {path.parent} ({path})"


def _seed_sequence(db: pw.SqliteDatabase, floor: SeqFloor, device_id: str, recovered: Path | None) -> None:
    """Start a device's numbering above everything it handed out before, in this file or a quarantined one."""
    floor.mark()
    with write_transaction(db):
        current = (
            SequenceRow.select(SequenceRow.last_seq).where(SequenceRow.device_id == device_id).scalar(db)
        )
        if current is not None:
            floor.ensure(device_id, int(current))
            return
        start = max(floor.get(device_id), _last_seq_of(recovered, device_id) if recovered else 0)
        if start:
            SequenceRow.insert(device_id=device_id, last_seq=start).execute(db)
            log.warning("sequence numbers of %s continue after %d", device_id, start)


def _last_seq_of(path: Path, device_id: str) -> int:
    """Best effort: the last sequence number a (damaged, quarantined) database still shows."""
    try:
        with closing(_connect_read_only(path)) as conn:
            row = conn.execute(
                "SELECT last_seq FROM device_sequence WHERE device_id = ?", (device_id,)
            ).fetchone()
            return int(row[0]) if row else 0
    except (sqlite3.Error, StoreError, ValueError, TypeError):
        return 0


def _checkpoint(db: pw.SqliteDatabase, mode: str) -> None:
    with suppress(pw.PeeweeException):  # best effort: a reader can hold it back; the next one finishes
        sql(db, f"PRAGMA wal_checkpoint({mode})").fetchall()


def _set_aside(path: Path, detail: str, quarantine: bool) -> Path:
    """Quarantine a damaged database and tell the operator, or raise if quarantine is off."""
    if not quarantine:
        raise CorruptDatabaseError(f"{path} is damaged: {detail}")
    # The timestamp only names the quarantined file; this is the outermost seam for it.
    moved = _quarantine(path, datetime.now(UTC))
    log.warning(
        "The visit database %s was damaged (%s). It was moved aside to %s (with its -wal and "
        "-shm files, if any) and a new, empty database was started. Visits not yet uploaded may "
        "be in the old file: keep it and send it to support.",
        path,
        detail,
        moved,
    )
    return moved


def _open_migrated(path: Path, disk_free: Callable[[Path], int]) -> pw.SqliteDatabase:
    """Open ``path`` with the kiosk's pragmas and bring its schema up to date."""
    db = make_database(path)
    try:
        db.connect()
        migrate(db)
    except SchemaTooNewError as exc:
        db.close()
        raise StoreError(f"{path}: {exc}; {_UPDATE_SOFTWARE}") from exc
    except pw.PeeweeException as exc:
        db.close()
        code = sqlite_code(exc)
        if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
            raise CorruptDatabaseError(f"{path} is damaged: {exc}") from exc
        if code == SQLITE_FULL:
            raise StorageFullError(
                f"cannot prepare the database: disk full, {_free_text(disk_free, path)}"
            ) from exc
        if code == SQLITE_BUSY:
            raise StoreError(
                f"cannot open the database {path}: it stayed locked for {BUSY_TIMEOUT_MS // 1000} s by "
                f"another process{_holder(path)}"
            ) from exc
        raise StoreError(f"cannot open the database {path}: {exc}") from exc
    return db


def _quarantine(path: Path, now: datetime) -> Path:
    """Move ``path`` and its ``-wal``/``-shm`` files to ``<name>.corrupt-<UTC time>``.

    Returns the new path of the database file.

    The side files keep their suffixes (``<name>.corrupt-<t>-wal``), so the moved database still
    opens with its WAL for forensics. They move first: SQLite deletes a -wal it finds without its
    database, so a kill between the renames must never leave the WAL behind alone. Nothing is ever
    deleted.
    """
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while any(Path(f"{target}{s}").exists() for s in ("", *_SIDE_FILES)):
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        for suffix in (*_SIDE_FILES, ""):
            source = Path(f"{path}{suffix}")
            if source.exists():
                os.replace(source, Path(f"{target}{suffix}"))
        fsync_directory(path.parent)
    except OSError as exc:
        raise StoreError(f"cannot move the damaged database {path} aside: {exc}") from exc
    return target


# --------------------------------------------------------------------------------------------------
# row <-> value object


_NAME_MATCH_FN: Final = "kiosk_name_matches"


def _name_matches(name: str | None, words: str) -> int:
    """SQL function for ``Store.search``: 1 when every folded word in ``words`` begins a word of ``name``."""
    return int(SearchQuery(tuple(words.split()), ()).name_matches(name))


#: An outbox row still to send: not acknowledged by the server and not parked.
_WAITING: Final = OutboxRow.uploaded_at.is_null() & OutboxRow.parked_at.is_null()


def _joined() -> pw.ModelSelect[OutboxRow]:
    return OutboxRow.select(OutboxRow, VisitRow).join(VisitRow)


def _to_visit(row: OutboxRow) -> Visit:
    v: VisitRow = row.visit
    return Visit(
        uuid=v.uuid,
        seq=v.seq,
        device_id=v.device_id,
        location_code=v.location_code,
        kind=Kind(v.kind),
        identity_hash=v.identity_hash,
        id_number=v.id_number,
        name=v.name,
        direction=Direction(v.direction),
        outcome=Outcome(v.outcome),
        reason=Reason(v.reason),
        at=ClockReading(
            wall=datetime.fromisoformat(v.wall_utc),
            synchronised=bool(v.clock_synchronised),
            boot_id=v.boot_id,
            monotonic_s=float(v.monotonic_s),
        ),
        privacy_notice_version=v.privacy_notice_version,
        manual=bool(v.manual),
        uploaded=row.uploaded_at is not None,
        warnings=tuple(w for w in v.warnings.split(",") if w),
        identity_key_id=v.identity_key_id,
        guard=v.guard,
        note=v.note,
        original_outcome=Outcome(v.original_outcome) if v.original_outcome else None,
        original_reason=Reason(v.original_reason) if v.original_reason else None,
        overrides=v.overrides,
    )
