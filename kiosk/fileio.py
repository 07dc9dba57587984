"""Layer: core. Writing small files so that a power cut leaves the old file or the whole new one, never half.

The kiosk keeps several small files beside its database (PINs, the sequence floor, the admin's settings, the
staff roster) and writes exports onto USB sticks. All of them use these three pieces:

- ``replace_atomically(path, data, mode=…)``: a temporary file beside ``path``, fsync, rename over ``path``,
  fsync the folder;
- ``rename_no_replace(source, target)``: put a finished file in place without ever overwriting one;
- ``fsync_directory(folder)``: make a rename durable.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

__all__ = ["fsync_directory", "rename_no_replace", "replace_atomically"]


def replace_atomically(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Put ``data`` at ``path`` (created with ``mode``) in one step. ``OSError`` when it cannot be written;
    then ``path`` is as it was and no temporary file is left."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_directory(path.parent)


def rename_no_replace(source: Path, target: Path) -> bool:
    """Rename ``source`` to ``target`` unless ``target`` exists; False when it does.

    A hard link fails when the target exists, so no check-then-rename race can overwrite a file. FAT and
    exFAT have no hard links: there the existence check and the rename are two steps (only this process
    writes there, so nothing slips in between).
    """
    try:
        os.link(source, target)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV):
            raise
        if target.exists():
            return False
        os.rename(source, target)
        return True
    source.unlink()
    return True


def fsync_directory(folder: Path) -> None:
    """Make the renames in ``folder`` durable (a power cut must not bring an old name back)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # some file systems cannot sync a folder; the file itself is synced
            raise
    finally:
        os.close(fd)
