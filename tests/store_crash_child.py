"""The processes that ``tests/test_store_crash.py`` kills, runs beside, and cuts the power of.

Run as ``python tests/store_crash_child.py MODE DBPATH [options]`` (or ``-m tests.store_crash_child``):

- ``record``  records visits in a loop (the gate).
- ``ack``     acknowledges pending visits in small batches, recording a batch whenever none is pending.
- ``purge``   records, acknowledges, records again and purges with a retention of 0 days, over and over
              (so a visit is pending at every purge, which must keep it).
- ``sync``    a second process on the same database, as the sync worker is: ``Store.open(owner=False)``,
              acknowledging whatever is pending, paced, until it is stopped.
- ``power``   the ``purge`` loop with SQLite under apsw and a crash VFS (``PowerCut``): at I/O operation
              number ``--cut`` it drops or tears, at random (``--seed``), every write the database and its WAL
              have not synced, and exits with ``CUT_STATUS`` at once, as a power cut would leave the disk.

Every mode but ``sync`` is the owner (``Store.open``; ``power`` wires the real ``Store`` to an apsw
connection with the kiosk's pragmas and migrations). Each prints one line per event and flushes it, so a
line stands for what a caller was told; a killed process tells nothing after its last whole line:

- ``ready``                 the store is open
- ``r SEQ UUID``            after ``record`` returned (COMMIT done): the visit is recorded
- ``a? SEQ:UUID ...``       before ``acknowledge``: the visits the server confirmed (may or may not commit)
- ``a! COUNT``              after ``acknowledge`` returned: the visits of the last ``a?`` are uploaded
- ``p! SEQ:UUID ...``       after ``purge`` returned: the visits it deleted
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from kiosk.store import Store

#: Exit status of a ``power`` child whose power was cut.
CUT_STATUS = 75
#: Sector size for torn writes: a write interrupted by a power cut may land in part, sector by sector.
SECTOR = 512
DEVICE_ID = "crash-test-device"
BATCH = 5


class Reporter:
    """One flushed line per event."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


def _keys(visits: Any) -> str:
    return " ".join(f"{v.seq}:{v.uuid}" for v in visits)


class Writer:
    """Drives one store the way the gate and the sync worker do, reporting each step."""

    def __init__(
        self, store: Store, report: Reporter, visit_keys: Callable[[], set[tuple[int, str]]]
    ) -> None:
        from datetime import UTC, datetime

        from kiosk.model import ClockReading, Credential, Decision, Direction, Kind, Outcome, Reason

        self.store = store
        self.report = report
        self.visit_keys = visit_keys
        self._now = lambda: datetime.now(UTC)  # the outermost seam: the only place this program reads clocks
        self._reading = lambda: ClockReading(
            wall=datetime.now(UTC),
            synchronised=False,
            boot_id="crash-test-boot",
            monotonic_s=time.monotonic(),
        )
        credential = Credential(
            kind=Kind.CCCD, identity_key="id:046090001234", id_number="046090001234", name="Nguyễn Văn An"
        )
        self._decision = Decision(
            outcome=Outcome.GRANTED, reason=Reason.OK, kind=Kind.CCCD, credential=credential
        )
        self._direction = Direction.IN

    def record(self) -> None:
        visit = self.store.record(self._decision, at=self._reading(), direction=self._direction)
        # Only now, after COMMIT returned, may the visit be reported as recorded.
        self.report.line(f"r {visit.seq} {visit.uuid}")

    def acknowledge(self) -> bool:
        """Acknowledge up to ``BATCH`` pending visits; False when none was pending."""
        pending = self.store.pending(BATCH)
        if not pending:
            return False
        self.report.line(f"a? {_keys(pending)}")
        count = self.store.acknowledge([v.uuid for v in pending], at=self._now())
        self.report.line(f"a! {count}")
        return True

    def purge(self) -> None:
        before = self.visit_keys()
        self.store.purge(self._now(), retention_days=0)
        # Only this process deletes, so what is gone is what this purge deleted.
        gone = sorted(before - self.visit_keys())
        self.report.line("p! " + " ".join(f"{seq}:{uuid}" for seq, uuid in gone))

    def run(self, mode: str) -> None:
        self.report.line("ready")
        while True:
            if mode == "record":
                self.record()
            elif mode == "ack":
                if not self.acknowledge():
                    for _ in range(BATCH):
                        self.record()
            else:  # purge, power: a visit is pending at each purge, which must keep it
                self.record()
                self.acknowledge()
                self.record()
                self.purge()


def _read_only_keys(db: Path) -> Callable[[], set[tuple[int, str]]]:
    conn = sqlite3.connect(f"file:{quote(str(db.resolve()))}?mode=ro", uri=True, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    return lambda: {(int(seq), str(uuid)) for seq, uuid in conn.execute("SELECT seq, uuid FROM visit")}


def _open_store(db: Path, *, owner: bool) -> Store:
    from kiosk.store import Store

    return Store.open(
        db,
        device_id=DEVICE_ID,
        location_code="HUE-TEST-001",
        privacy_notice_version="2025-01",
        min_free_mb=0,
        owner=owner,
    )


def sync_worker(db: Path) -> None:
    """A second, non-owner process acknowledging pending visits while the owner is killed over and over."""
    with _open_store(db, owner=False) as store:
        writer = Writer(store, Reporter(sys.stdout), set)
        writer.report.line("ready")
        rng = random.Random()
        while True:
            writer.acknowledge()
            # Paced like a sync worker between batches; it shares two cores with the owner and the test.
            time.sleep(rng.uniform(0.002, 0.02))


# --------------------------------------------------------------------------------------------------
# power loss


class PowerCut:
    """What a power cut leaves on disk: every write since a file's last sync may be lost, or land in part.

    Wraps the default VFS. Writes and truncations of the database, its WAL and its rollback journal go
    through to the files (SQLite reads them back as usual) and are journalled per file with the bytes
    they replaced; a file's xSync empties its journal (what is synced is on the platter). At I/O operation
    number ``cut_at`` (a write, truncation or sync; that operation never happens) every file is rolled
    back to its last sync, then each unsynced operation is applied again, in order, with a probability
    drawn per cut (none, half, all of them; "all" is what a kill -9 leaves), a kept write torn in half
    the cuts (only some of its 512-byte sectors land), and the process ends at once.

    Not modelled: directory entries (a created or deleted file counts as durable at once; SQLite fsyncs
    the directory after creating a WAL or journal), and the -shm file, which SQLite rebuilds after a crash.
    """

    def __init__(self, cut_at: int, rng: random.Random) -> None:
        self.cut_at = cut_at
        self.rng = rng
        self.ops = 0
        #: path -> unsynced operations: ("w", offset, old bytes, new bytes, old size) or
        #: ("t", new size, old size, the bytes cut off)
        self.unsynced: dict[str, list[tuple[Any, ...]]] = {}

    def tick(self) -> None:
        self.ops += 1
        if self.ops >= self.cut_at:
            self.cut()

    def cut(self) -> None:
        keep = self.rng.choice((0.0, 0.5, 1.0))
        tear = self.rng.random() < 0.5
        for path, journal in self.unsynced.items():
            fd = os.open(path, os.O_RDWR)
            for op in reversed(journal):
                if op[0] == "w":
                    _, offset, old, _new, old_size = op
                    os.pwrite(fd, old, offset)
                    if os.fstat(fd).st_size > old_size:
                        os.ftruncate(fd, old_size)
                else:
                    _, new_size, old_size, tail = op
                    os.ftruncate(fd, old_size)
                    os.pwrite(fd, tail, new_size)
            for op in journal:
                if self.rng.random() >= keep:
                    continue
                if op[0] == "w":
                    _, offset, _old, new, _ = op
                    for start in range(0, len(new), SECTOR):
                        if not tear or self.rng.random() < 0.5:
                            os.pwrite(fd, new[start : start + SECTOR], offset + start)
                else:
                    os.ftruncate(fd, op[1])
            os.close(fd)
        sys.stdout.flush()
        os._exit(CUT_STATUS)


def _power_store(db: Path, cut: PowerCut) -> tuple[Store, Callable[[], set[tuple[int, str]]], object]:
    """The real ``Store`` on an apsw connection through the crash VFS, with the kiosk's pragmas and schema,
    a reader of its visits' keys, and the VFS (which must outlive the connection)."""
    import apsw
    from playhouse.apsw_ext import APSWDatabase

    from kiosk.store import Store
    from kiosk.store.db import PRAGMAS, migrate, sql

    tracked = apsw.mapping_open_flags["SQLITE_OPEN_MAIN_DB"] | apsw.mapping_open_flags["SQLITE_OPEN_WAL"]
    tracked |= apsw.mapping_open_flags["SQLITE_OPEN_MAIN_JOURNAL"]

    class CrashFile(apsw.VFSFile):
        def __init__(self, name: Any, flags: list[int]) -> None:
            super().__init__("", name, flags)
            self.path = name.filename() if isinstance(name, apsw.URIFilename) else name
            self.journal = cut.unsynced.setdefault(self.path, []) if flags[0] & tracked else None

        def xWrite(self, data: bytes, offset: int) -> None:
            if self.journal is not None:
                cut.tick()
                size = self.xFileSize()
                old = self.xRead(min(len(data), size - offset), offset) if offset < size else b""
                self.journal.append(("w", offset, bytes(old), bytes(data), size))
            super().xWrite(data, offset)

        def xTruncate(self, newsize: int) -> None:
            if self.journal is not None:
                cut.tick()
                size = self.xFileSize()
                tail = self.xRead(size - newsize, newsize) if newsize < size else b""
                self.journal.append(("t", newsize, size, bytes(tail)))
            super().xTruncate(newsize)

        def xSync(self, flags: int) -> None:
            if self.journal is not None:
                cut.tick()
            super().xSync(flags)
            if self.journal is not None:
                self.journal.clear()

    class CrashVFS(apsw.VFS):
        def __init__(self) -> None:
            super().__init__("powercut", base="")

        def xOpen(self, name: Any, flags: list[int]) -> CrashFile:
            return CrashFile(name, flags)

        def xDelete(self, filename: str, syncdir: bool) -> None:
            cut.unsynced.pop(filename, None)
            super().xDelete(filename, syncdir)

    vfs = CrashVFS()
    db = APSWDatabase(str(db), pragmas=PRAGMAS, autoconnect=False, vfs="powercut")
    db.connect()
    migrate(db)
    store = Store(
        db,
        path=Path(db.database),
        device_id=DEVICE_ID,
        location_code="HUE-TEST-001",
        privacy_notice_version="2025-01",
        min_free_bytes=0,
        disk_free=lambda _d: 1 << 40,
        recovered_from=None,
    )
    return store, lambda: {(int(seq), str(uuid)) for seq, uuid in sql(db, "SELECT seq, uuid FROM visit")}, vfs


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="store_crash_child")
    parser.add_argument("mode", choices=("record", "ack", "purge", "sync", "power"))
    parser.add_argument("db", type=Path)
    parser.add_argument("--cut", type=int, default=0, help="power: the I/O operation the power is cut at")
    parser.add_argument("--seed", type=int, default=0, help="power: what is lost or torn at the cut")
    args = parser.parse_args(argv)
    if not __package__:
        # Run by path: make the checkout importable (the package is not installed in the venv).
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if args.mode == "sync":
        sync_worker(args.db)
        return 0
    report = Reporter(sys.stdout)
    if args.mode == "power":
        store, keys, _vfs = _power_store(args.db, PowerCut(args.cut, random.Random(args.seed)))
        with store:
            Writer(store, report, keys).run("purge")
        return 0
    with _open_store(args.db, owner=True) as store:
        Writer(store, report, _read_only_keys(args.db)).run(args.mode)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
