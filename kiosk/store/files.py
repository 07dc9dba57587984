"""Layer: core. The two small files beside the visit database: the owner's lock and the sequence floor.

``<db>.lock`` — the process that owns the database (the gate: ``kiosk run``, ``kiosk scan``) holds an
exclusive ``flock`` on it for as long as its store is open, and writes its pid and command line into it.
A second owner is refused with a message naming the first; the kernel drops the lock when its process
dies, however it dies, so a stale lock never blocks a restart. Only the owner may move a damaged database
aside: a second process renaming the file under a running gate would split the gate from its WAL.

``<db>.seq`` — a floor for the per-device sequence numbers, written ahead of use in blocks
(``SEQ_BLOCK``). When the database has to be moved aside and a fresh one started, the fresh one continues
above the floor, so a sequence number the server has already seen is never handed out again. Written
atomically (temporary file, fsync, rename, fsync of the folder); one write per ``SEQ_BLOCK`` visits.
Its presence also marks the path as a kiosk database: a damaged file beside one is ours to quarantine, a
foreign file without one is refused and never touched.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from kiosk.errors import StorageFullError, StoreError
from kiosk.fileio import replace_atomically

__all__ = ["SEQ_BLOCK", "OwnerLock", "SeqFloor", "lock_path", "seq_path"]

#: Sequence numbers reserved per write of the floor file.
SEQ_BLOCK: Final = 1000


def lock_path(db: Path) -> Path:
    return Path(f"{db}.lock")


def seq_path(db: Path) -> Path:
    return Path(f"{db}.seq")


class OwnerLock:
    """The exclusive owner lock of one database; ``acquire()`` or ``StoreError`` naming the holder."""

    def __init__(self, db: Path) -> None:
        self.path = lock_path(db)
        self._fd: int | None = None

    def acquire(self) -> Self:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if exc.errno == errno.EROFS:  # nobody can write here, so nobody can own it; read-only use only
                raise StoreError(
                    f"{self.path.parent} is read-only: the gate cannot record here; choose another --db"
                ) from exc
            raise StoreError(f"cannot create the lock file {self.path}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise StoreError(
                f"the visit database {self.path.with_suffix('')} is in use by another kiosk process"
                f"{holder}; only one gate may record into one database — stop it first "
                "(systemctl stop kiosk) or choose another --db"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise StoreError(f"cannot lock {self.path}: {exc.strerror or exc}") from exc
        os.ftruncate(fd, 0)
        command = " ".join(sys.argv[:3]) or "python"
        os.pwrite(fd, f"{os.getpid()} {command}\n".encode(errors="replace"), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Idempotent. The lock file stays (removing it would race with a process about to lock it)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", errors="replace").strip()
    except OSError:
        return ""
    pid, _, command = text.partition(" ")
    if not pid.isdigit():
        return ""
    return f" (pid {pid}: {command})" if command else f" (pid {pid})"


class SeqFloor:
    """Per-device floors of the sequence numbers: every number handed out is at most its device's floor."""

    def __init__(self, db: Path) -> None:
        self.path = seq_path(db)
        self._floors: dict[str, int] = self._read()

    def mark(self) -> None:
        """Write the file if it is missing: it also marks the path as a kiosk database."""
        if not self.path.exists():
            self._write(self._floors)

    def get(self, device_id: str) -> int:
        return self._floors.get(device_id, 0)

    def ensure(self, device_id: str, seq: int) -> None:
        """Make sure ``seq`` is under the floor; raises ``StoreError`` when the floor cannot be written
        (the caller's transaction then rolls back: a number is never used before it is reserved)."""
        if seq <= self.get(device_id):
            return
        floors = {**self._floors, device_id: seq + SEQ_BLOCK}
        self._write(floors)
        self._floors = floors

    def _read(self) -> dict[str, int]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            # A damaged floor file must not stop the gate; the database's own counter still holds.
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): v for k, v in data.items() if type(v) is int and v >= 0}

    def _write(self, floors: dict[str, int]) -> None:
        try:
            replace_atomically(self.path, json.dumps(floors).encode("utf-8"), mode=0o644)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise StorageFullError(
                    f"not recorded: the disk is full ({self.path.parent}); nothing stored before is lost"
                ) from exc
            raise StoreError(f"cannot write the sequence floor {self.path}: {exc.strerror or exc}") from exc
