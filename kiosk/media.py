"""Layer: core. USB sticks for exports: which are plugged in, and writing a file onto one safely.

``removable_media`` reads the kernel's mount table (``/proc/mounts``) rather than asking udisks over D-Bus:
the desktop's automounter (or the administrator) mounts a stick under ``/media``, ``/run/media`` or
``/mnt``, and the table tells where, with which file system and whether read-write. Only real file systems
a stick or card carries count (FAT, exFAT, NTFS, ext…), and never a partition of the disk the system runs
from. Tests give a mount table of their own and a temporary folder as the root.

``write_file_atomically`` writes into a temporary file in the target folder, fsyncs it, and only then
gives it its name, so a stick pulled out mid-write never holds a half file under the export's name; an
existing file is never overwritten (``visits.csv`` → ``visits (2).csv``). Then the folder is fsynced: FAT
keeps the directory entry in the folder, and without it the file can vanish when the stick is pulled.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kiosk.errors import ExportError
from kiosk.export import export_visits
from kiosk.fileio import fsync_directory, rename_no_replace
from kiosk.model import Visit

__all__ = [
    "MEDIA_FILE_SYSTEMS",
    "Medium",
    "removable_media",
    "write_export_atomically",
    "write_file_atomically",
]

#: File systems a USB stick, card or disk carries (``fuseblk``: NTFS or exFAT through FUSE).
MEDIA_FILE_SYSTEMS: Final = frozenset(
    {
        "vfat",
        "msdos",
        "exfat",
        "ntfs",
        "ntfs3",
        "fuseblk",
        "ext2",
        "ext3",
        "ext4",
        "btrfs",
        "xfs",
        "f2fs",
        "hfsplus",
    }
)
DEFAULT_ROOTS: Final = (Path("/media"), Path("/run/media"), Path("/mnt"))
# Characters FAT and exFAT refuse in a file name (a stick is nearly always one of them).
_FAT_FORBIDDEN = re.compile(r'[\x00-\x1f<>:"/\\|?*]')
_MAX_COPIES: Final = 1000
# The whole disk of a partition: mmcblk0p2 → mmcblk0, nvme0n1p1 → nvme0n1, sda1 → sda.
_NUMBERED_DISK = re.compile(r"((?:mmcblk|nvme\d+n|loop)\d+)(?:p\d+)?")
_LETTERED_DISK = re.compile(r"([a-z]+)\d+")


@dataclass(frozen=True, slots=True)
class Medium:
    """A mounted stick or card: where, its name, free space, and whether the kiosk may write to it."""

    path: Path
    label: str
    free_bytes: int
    writable: bool


def removable_media(
    mounts_file: Path = Path("/proc/mounts"),
    media_roots: tuple[Path, ...] = DEFAULT_ROOTS,
) -> list[Medium]:
    """Mounted media under ``media_roots``, sorted by path. A mount that cannot be examined (pulled out
    a moment ago) is left out; an unreadable mount table is an ``ExportError``."""
    try:
        table = mounts_file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ExportError(f"cannot read the mount table {mounts_file}: {exc.strerror or exc}") from exc
    entries = [_split(line) for line in table.splitlines()]
    mounts = [e for e in entries if e is not None]
    system_disks = {
        _disk(device) for device, point, _fs, _opts in mounts if point in ("/", "/boot", "/boot/firmware")
    }
    found: dict[Path, Medium] = {}
    for device, point, fs_type, options in mounts:
        path = Path(point)
        if fs_type not in MEDIA_FILE_SYSTEMS or not device.startswith("/dev/"):
            continue
        if not any(path == root or path.is_relative_to(root) for root in media_roots):
            continue
        if _disk(device) in system_disks:
            continue
        try:
            free = shutil.disk_usage(path).free
        except OSError:
            continue
        writable = "rw" in options.split(",") and os.access(path, os.W_OK)
        # A later line for the same mount point is the mount on top: it is what a write reaches.
        found[path] = Medium(path=path, label=path.name or str(path), free_bytes=free, writable=writable)
    return sorted(found.values(), key=lambda m: str(m.path))


def _split(line: str) -> tuple[str, str, str, str] | None:
    fields = line.split()
    if len(fields) < 4:
        return None
    return _unescape(fields[0]), _unescape(fields[1]), fields[2], fields[3]


def _unescape(field: str) -> str:
    """The mount table writes a space as ``\\040``, a tab ``\\011``, a newline ``\\012``, ``\\`` ``\\134``."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _disk(device: str) -> str:
    name = Path(device).name
    match = _NUMBERED_DISK.fullmatch(name) or _LETTERED_DISK.fullmatch(name)
    return match.group(1) if match else name


def write_file_atomically(folder: Path, filename: str, write: Callable[[Path], object]) -> Path:
    """Write a file named ``filename`` (or ``name (2).ext`` … when taken) into ``folder`` with ``write``,
    which writes to the path it is given; return the final path. Never overwrites an existing file.

    ``ValueError`` for a name that is not a plain file name a FAT stick accepts; ``ExportError`` when the
    stick is full, write-protected or gone.
    """
    _check_filename(filename)
    folder = Path(folder)
    tmp = folder / f".{Path(filename).stem}.{secrets.token_hex(4)}.partial{Path(filename).suffix}"
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        target = _claim(tmp, folder, filename)
        fsync_directory(folder)
    except OSError as exc:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise ExportError(_explain(exc, folder)) from exc
    except BaseException:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    return target


def write_export_atomically(visits: Iterable[Visit], folder: Path, filename: str, fmt: str) -> Path:
    """Export ``visits`` (``kiosk.export.export_visits``, ``csv`` or ``xlsx``) into ``folder`` under
    ``filename``, or ``name (2).ext`` … when taken; never a half-written file, never an overwrite."""
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unknown export format {fmt!r}")
    chosen = list(visits)
    return write_file_atomically(folder, filename, lambda path: export_visits(chosen, path, fmt))


def _check_filename(filename: str) -> None:
    if (
        not filename
        or filename != filename.strip()
        or filename.startswith(".")
        or filename.endswith(".")
        or _FAT_FORBIDDEN.search(filename)
        or len(filename.encode("utf-8")) > 200
    ):
        raise ValueError(f"{filename!r} is not a plain file name a USB stick accepts")


def _claim(tmp: Path, folder: Path, filename: str) -> Path:
    """Give ``tmp`` the first free name of ``filename``, ``stem (2).ext``, ``stem (3).ext`` …"""
    stem, suffix = Path(filename).stem, Path(filename).suffix
    for n in range(1, _MAX_COPIES + 1):
        target = folder / (filename if n == 1 else f"{stem} ({n}){suffix}")
        if rename_no_replace(tmp, target):
            return target
    raise ExportError(f"{folder} already holds {_MAX_COPIES} copies of {filename}: choose another name")


def _explain(exc: OSError, folder: Path) -> str:
    if exc.errno == errno.ENOSPC:
        return f"the stick at {folder} is full: nothing was written; free some space or use another stick"
    if exc.errno == errno.EROFS:
        return f"the stick at {folder} is write-protected (read-only): nothing was written"
    if exc.errno in (errno.ENOENT, errno.ENODEV, errno.EIO):
        return f"the stick at {folder} went away or failed ({exc.strerror}): plug it in again and retry"
    if exc.errno == errno.EACCES:
        return f"the kiosk may not write to {folder}: nothing was written"
    return f"cannot write the export to {folder}: {exc.strerror or exc}"
