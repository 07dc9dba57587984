"""USB sticks for exports (kiosk.media): listing mounted media from a mount table, and writing an export onto
one without ever leaving a half file or overwriting one. Real files under tmp_path; the mount table is a file
the test writes, as the kernel's /proc/mounts reads."""

from __future__ import annotations

import csv
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from kiosk.errors import ExportError
from kiosk.media import Medium, removable_media, write_export_atomically, write_file_atomically
from kiosk.model import ClockReading, Direction, Kind, Outcome, Reason, Visit


def escaped(path: Path) -> str:
    """A path as /proc/mounts writes it: a space is ``\\040``."""
    return str(path).replace(" ", "\\040")


@pytest.fixture
def media_root(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    for folder in ("pi/USB STICK", "pi/READONLY", "pi/RAM", "pi/SYSTEM DATA", "pi/DISK"):
        (root / folder).mkdir(parents=True)
    return root


def test_removable_media_from_a_mount_table(tmp_path: Path, media_root: Path) -> None:
    elsewhere = tmp_path / "home" / "stick"
    elsewhere.mkdir(parents=True)
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "\n".join(
            [
                "/dev/mmcblk0p2 / ext4 rw,noatime 0 0",
                "/dev/mmcblk0p1 /boot/firmware vfat rw,relatime 0 0",
                "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0",
                f"/dev/sda1 {escaped(media_root / 'pi/USB STICK')} vfat rw,nosuid,nodev,relatime,uid=1000 0 0",
                f"/dev/sdb1 {escaped(media_root / 'pi/READONLY')} exfat ro,nosuid,nodev 0 0",
                f"tmpfs {escaped(media_root / 'pi/RAM')} tmpfs rw 0 0",  # not a medium
                # a partition of the system's own SD card is not removable
                f"/dev/mmcblk0p3 {escaped(media_root / 'pi/SYSTEM DATA')} ext4 rw 0 0",
                f"/dev/sdc1 {escaped(elsewhere)} vfat rw 0 0",  # not under the media roots
                f"/dev/sdd1 {escaped(media_root / 'pi/GONE')} vfat rw 0 0",  # pulled out: no folder
                f"/dev/sde1 {escaped(media_root / 'pi/DISK')} fuseblk rw,user_id=0 0 0",
                "garbage",
                "",
            ]
        ),
        encoding="utf-8",
    )

    found = removable_media(mounts, (media_root, tmp_path / "run-media"))

    assert [(m.path, m.label, m.writable) for m in found] == [
        (media_root / "pi/DISK", "DISK", True),
        (media_root / "pi/READONLY", "READONLY", False),
        (media_root / "pi/USB STICK", "USB STICK", True),
    ]
    assert all(isinstance(m, Medium) and m.free_bytes > 0 for m in found)


def test_no_media_and_an_unreadable_mount_table(tmp_path: Path, media_root: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/mmcblk0p2 / ext4 rw 0 0\n", encoding="utf-8")
    assert removable_media(mounts, (media_root,)) == []
    with pytest.raises(ExportError, match="mount table"):
        removable_media(tmp_path / "no-such-file", (media_root,))


def test_the_real_mount_table_can_be_read() -> None:
    if not Path("/proc/mounts").exists():
        pytest.skip("no /proc/mounts here")
    assert isinstance(removable_media(), list)


# ------------------------------------------------------------------------------------------------
# writing


def visit(seq: int, name: str = "Nguyễn Văn An") -> Visit:
    return Visit(
        uuid=f"00000000-0000-4000-8000-{seq:012d}",
        seq=seq,
        device_id="gate-1",
        location_code="HUE-0001",
        kind=Kind.CCCD,
        identity_hash=None,
        id_number="046090001234",
        name=name,
        direction=Direction.IN,
        outcome=Outcome.GRANTED,
        reason=Reason.OK,
        at=ClockReading(datetime(2026, 3, 2, 1, 0, tzinfo=UTC), True, "boot-1", 1.0),
        privacy_notice_version="2026-01",
    )


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_export_never_overwrites_an_existing_file(tmp_path: Path) -> None:
    stick = tmp_path / "stick"
    stick.mkdir()
    (stick / "visits 2026-03-02.csv").write_text("the administrator's own file", encoding="utf-8")

    first = write_export_atomically([visit(1), visit(2)], stick, "visits 2026-03-02.csv", "csv")
    second = write_export_atomically([visit(3)], stick, "visits 2026-03-02.csv", "csv")

    assert first == stick / "visits 2026-03-02 (2).csv"
    assert second == stick / "visits 2026-03-02 (3).csv"
    assert (stick / "visits 2026-03-02.csv").read_text(encoding="utf-8") == "the administrator's own file"
    assert [row[0] for row in read_csv(first)[1:]] == ["1", "2"]
    assert [row[0] for row in read_csv(second)[1:]] == ["3"]
    # Nothing else is left on the stick: no temporary files.
    assert sorted(p.name for p in stick.iterdir()) == [
        "visits 2026-03-02 (2).csv",
        "visits 2026-03-02 (3).csv",
        "visits 2026-03-02.csv",
    ]


def test_xlsx_export_onto_a_stick(tmp_path: Path) -> None:
    path = write_export_atomically(iter([visit(1, "Đặng Thị Bích")]), tmp_path, "visits.xlsx", "xlsx")
    assert path == tmp_path / "visits.xlsx"
    book = load_workbook(path)
    assert book["visits"]["F2"].value == "Đặng Thị Bích"
    book.close()


def test_a_failed_write_leaves_nothing_under_any_name(tmp_path: Path) -> None:
    def half_then_fail(path: Path) -> None:
        path.write_text("half of an export", encoding="utf-8")
        raise OSError(28, "No space left on device")

    with pytest.raises(ExportError, match="full"):
        write_file_atomically(tmp_path, "visits.csv", half_then_fail)
    assert list(tmp_path.iterdir()) == []

    def broken(path: Path) -> None:
        path.write_text("x", encoding="utf-8")
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError, match="bug"):
        write_file_atomically(tmp_path, "visits.csv", broken)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="format"):
        write_export_atomically([visit(1)], tmp_path, "visits.pdf", "pdf")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "filename",
    ["", "../visits.csv", "sub/visits.csv", ".hidden.csv", "a:b.csv", "visits?.csv", " visits.csv", "x."],
)
def test_only_plain_file_names_a_stick_accepts(tmp_path: Path, filename: str) -> None:
    with pytest.raises(ValueError, match="plain file name"):
        write_export_atomically([visit(1)], tmp_path, filename, "csv")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_write_protected_stick_is_an_export_error(tmp_path: Path) -> None:
    stick = tmp_path / "stick"
    stick.mkdir()
    stick.chmod(0o555)
    try:
        with pytest.raises(ExportError, match="nothing was written"):
            write_export_atomically([visit(1)], stick, "visits.csv", "csv")
    finally:
        stick.chmod(0o755)
    assert list(stick.iterdir()) == []


def test_a_missing_folder_is_an_export_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="went away"):
        write_export_atomically([visit(1)], tmp_path / "pulled-out", "visits.csv", "csv")
