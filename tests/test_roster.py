"""The staff roster (kiosk.roster): import from CSV and Excel as offices keep them, the kept JSON file, and
the "staff who did not scan" report on a seeded day in a real SQLite record."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from kiosk.errors import RosterError
from kiosk.export import VIETNAM_TIME
from kiosk.identity import IdentityKey, IdentityKeyring, load_hash_list
from kiosk.model import ClockReading, Credential, Decision, Direction, Kind, Outcome, Reason, Visit
from kiosk.roster import (
    EXPORT_COLUMNS,
    Roster,
    RosterEntry,
    export_not_scanned,
    load_roster_file,
    not_scanned,
    save_roster,
)
from kiosk.store import Store

KEY = IdentityKey("hue-test-1", b"roster tests identity key, 32 bytes+")
OLD_KEY = IdentityKey("hue-test-0", b"the key before the rotation, 32 bytes")
KEYRING = IdentityKeyring((KEY, OLD_KEY))
DAY = datetime(2026, 3, 2, tzinfo=VIETNAM_TIME)
MIB = 1024 * 1024

AN, BICH, CUONG, DUNG = "046090001234", "046191005678", "079088000042", "001300009999"


def write_csv(path: Path, rows: Sequence[Sequence[str]], *, delimiter: str = ",", bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    book.close()
    return path


VIETNAMESE = [
    ["DANH SÁCH CÁN BỘ, CÔNG CHỨC", "", "", ""],
    ["", "", "", ""],
    ["STT", "Họ và tên", "Số CCCD", "Phòng"],
    ["1", "Nguyễn Văn An", AN, "Văn phòng"],
    ["2", "Trần Thị Bích", BICH, "Kế toán"],
    ["", "", "", ""],
    ["3", "Lê Văn Cường", f" {CUONG[:3]} {CUONG[3:]} ", ""],
]


def test_csv_with_bom_semicolons_a_title_and_vietnamese_headers(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "nhan-vien.csv", VIETNAMESE, delimiter=";", bom=True)

    roster = load_roster_file(path, KEYRING)

    assert roster.key_id == "hue-test-1"
    assert roster.entries == (
        RosterEntry("Nguyễn Văn An", KEY.hash(f"id:{AN}"), "••••1234", "Văn phòng"),
        RosterEntry("Trần Thị Bích", KEY.hash(f"id:{BICH}"), "••••5678", "Kế toán"),
        RosterEntry("Lê Văn Cường", KEY.hash(f"id:{CUONG}"), "••••0042", ""),
    )


@pytest.mark.parametrize(
    "header",
    [["name", "id_number", "department"], ["Họ tên", "CCCD", "Phòng"], ["Name", "ID", "Department"]],
)
def test_csv_with_commas_and_no_bom(tmp_path: Path, header: list[str]) -> None:
    path = write_csv(tmp_path / "staff.csv", [header, ["Phạm Thị Dung", DUNG, "IT"]])
    (entry,) = load_roster_file(path, KEYRING).entries
    assert (entry.name, entry.masked_id, entry.group) == ("Phạm Thị Dung", "••••9999", "IT")


def test_xlsx_with_vietnamese_headers_and_ids_that_excel_made_numbers(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "nhan-vien.xlsx",
        [
            ["DANH SÁCH NHÂN VIÊN"],
            [],
            ["STT", "Họ và tên", "Số CCCD", "Phòng"],
            [1, "Nguyễn Văn An", AN, "Văn phòng"],
            [2, "Trần Thị Bích", int(BICH), "Kế toán"],  # a number: Excel dropped the leading 0
            [3, "Lê Văn Cường", float(CUONG), None],
        ],
    )

    roster = load_roster_file(path, KEYRING)

    assert [(e.name, e.identity_hash, e.masked_id, e.group) for e in roster.entries] == [
        ("Nguyễn Văn An", KEY.hash(f"id:{AN}"), "••••1234", "Văn phòng"),
        ("Trần Thị Bích", KEY.hash(f"id:{BICH}"), "••••5678", "Kế toán"),
        ("Lê Văn Cường", KEY.hash(f"id:{CUONG}"), "••••0042", ""),
    ]


def test_every_bad_csv_row_is_reported_with_its_number_and_nothing_is_imported(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "staff.csv",
        [
            ["Họ và tên", "Số CCCD", "Phòng"],  # row 1
            ["Nguyễn Văn An", AN, "A"],  # 2
            ["Trần Thị Bích", "46191005678", "A"],  # 3: lost its leading zero
            ["Lê Văn Cường", CUONG, "B"],  # 4
            ['=HYPERLINK("http://evil")', DUNG, "B"],  # 5: a formula
            ["Nguyễn Văn An Hai", AN, "C"],  # 6: same ID as row 2
            ["", "001300001111", "C"],  # 7: no name
            ["Hồ Văn Em", "123456789", "C"],  # 8: an old CMND number
            ["Võ Thị Phương", "4.61910E+10", "C"],  # 9: scientific notation
            ["Đỗ Văn Giang", "", "C"],  # 10
        ],
    )

    with pytest.raises(RosterError) as err:
        load_roster_file(path, KEYRING)

    assert [n for n, _ in err.value.problems] == [3, 5, 6, 7, 8, 9, 10]
    message = str(err.value)
    for n in (3, 5, 6, 7, 8, 9, 10):
        assert f"row {n}:" in message
    assert "row 2:" not in message and "row 4:" not in message
    assert "nothing was imported" in message
    problems = dict(err.value.problems)
    assert "11 digits" in problems[3] and "leading 0" in problems[3]
    assert "formula" in problems[5]
    assert "row 2" in problems[6]
    assert "empty" in problems[7]
    assert "CMND" in problems[8]
    assert "Text" in problems[9]
    # Error messages end up in logs: no ID number in clear.
    assert AN not in message and DUNG not in message


def test_bad_xlsx_rows_carry_the_spreadsheet_row_numbers(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "staff.xlsx",
        [
            ["Danh sách"],
            ["Họ tên", "CCCD"],
            ["Nguyễn Văn An", AN],
            ["Trần\u200bThị Bích", BICH],
            [12345, CUONG],
        ],
    )
    with pytest.raises(RosterError) as err:
        load_roster_file(path, KEYRING)
    assert [n for n, _ in err.value.problems] == [4, 5]


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("staff.csv", "Tên đơn vị;Ghi chú\nPhòng A;x\n", "no header row"),
        ("staff.csv", "Họ và tên,Số CCCD\n", "no staff rows"),
        ("staff.csv", "", "no header row"),
        ("staff.xls", "not really", "old Excel"),
        ("staff.pdf", "%PDF", ".csv or .xlsx"),
        ("staff.xlsx", "not a zip file", "not a readable Excel"),
    ],
)
def test_files_that_are_not_staff_lists_are_refused(
    tmp_path: Path, name: str, content: str, match: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RosterError, match=match):
        load_roster_file(path, KEYRING)


def test_a_csv_saved_in_a_windows_code_page_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "staff.csv"
    path.write_bytes("Họ và tên,Số CCCD\nTrần Thị Bích,046191005678\n".encode("cp1258", errors="replace"))
    with pytest.raises(RosterError, match="CSV UTF-8"):
        load_roster_file(path, KEYRING)


def test_the_kept_roster_never_holds_an_id_number_and_serves_as_a_hash_list(tmp_path: Path) -> None:
    roster = load_roster_file(write_csv(tmp_path / "staff.csv", VIETNAMESE), KEYRING)
    kept = tmp_path / "kiosk" / "roster.json"

    save_roster(roster, kept)

    assert Roster.load(kept) == roster
    text = kept.read_text(encoding="utf-8")
    for number in (AN, BICH, CUONG):
        assert number not in text
    assert "Nguyễn Văn An" in text
    assert kept.stat().st_mode & 0o777 == 0o640
    assert not list(kept.parent.glob(".*tmp"))
    # The same file is a policy.roster hash list (the allow-list mode).
    listed = load_hash_list(kept, "policy.roster", KEYRING)
    assert f"id:{AN}" in listed and f"id:{DUNG}" not in listed
    assert f"id:{BICH}" in roster.identity_set(KEYRING)
    # Saving again replaces it whole.
    save_roster(Roster(roster.key_id, roster.entries[:1]), kept)
    assert len(Roster.load(kept).entries) == 1


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{",
        "[]",
        '{"format": "other"}',
        '{"format": "qr-gate-kiosk roster 1", "key_id": "k", "entries": [{}]}',
    ],
)
def test_a_damaged_kept_roster_asks_for_a_new_import(tmp_path: Path, content: str) -> None:
    kept = tmp_path / "roster.json"
    kept.write_text(content, encoding="utf-8")
    with pytest.raises(RosterError, match="import it again"):
        Roster.load(kept)
    with pytest.raises(RosterError, match="import one first"):
        Roster.load(tmp_path / "missing.json")


# ------------------------------------------------------------------------------------------------
# who did not scan


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(
        tmp_path / "kiosk.db",
        device_id="gate-1",
        location_code="HUE-0001",
        privacy_notice_version="2026-01",
        disk_free=lambda _d: 10_000 * MIB,
    ) as opened:
        yield opened


def scan(
    store: Store, id_number: str, at: datetime, *, outcome: Outcome = Outcome.GRANTED, key: IdentityKey = KEY
) -> None:
    identity = f"id:{id_number}"
    decision = Decision(
        outcome,
        Reason.OK if outcome is Outcome.GRANTED else Reason.DENY_LIST,
        Kind.CCCD,
        Credential(Kind.CCCD, identity, id_number, "Ai Đó"),
        identity_hash=key.hash(identity),
        identity_key_id=key.key_id,
    )
    store.record(decision, at=ClockReading(at, True, "boot-1", 1.0), direction=Direction.IN)


def staff_roster(tmp_path: Path) -> Roster:
    rows = [
        ["Họ và tên", "Số CCCD", "Phòng"],
        ["Nguyễn Văn An", AN, "A"],
        ["Trần Thị Bích", BICH, "A"],
        ["Lê Văn Cường", CUONG, "B"],
        ["Phạm Thị Dung", DUNG, "B"],
    ]
    return load_roster_file(write_csv(tmp_path / "staff.csv", rows), KEYRING)


def the_day(store: Store) -> list[Visit]:
    return store.visits(since=DAY, until=DAY + timedelta(days=1))


def test_not_scanned_on_a_seeded_day(store: Store, tmp_path: Path) -> None:
    roster = staff_roster(tmp_path)
    scan(store, AN, DAY + timedelta(hours=7, minutes=55))  # scanned
    scan(store, BICH, DAY + timedelta(hours=8), outcome=Outcome.REFUSED)  # refused: no granted visit
    scan(store, DUNG, DAY - timedelta(minutes=5))  # the evening before only
    scan(store, DUNG, DAY + timedelta(days=1, minutes=5))  # and the next morning
    scan(store, "046090777777", DAY + timedelta(hours=9))  # a visitor, not on the roster
    store.record_manual(  # typed in by the guard with the ID: counts as scanned
        name="Lê Văn Cường",
        id_number=CUONG,
        note="code does not scan",
        guard="guard",
        at=ClockReading(DAY + timedelta(hours=8, minutes=30), True, "boot-1", 2.0),
        direction=Direction.IN,
        keyring=KEYRING,
    )
    store.record_manual(
        name="Khách Lạ",
        id_number=None,
        note="visitor without ID card",
        guard="guard",
        at=ClockReading(DAY + timedelta(hours=10), True, "boot-1", 3.0),
        direction=Direction.IN,
        keyring=KEYRING,
    )

    missing = not_scanned(roster, the_day(store), KEYRING)

    assert [e.name for e in missing] == ["Trần Thị Bích", "Phạm Thị Dung"]
    assert [e.name for e in not_scanned(roster, [], KEYRING)] == [e.name for e in roster.entries]


def test_not_scanned_refuses_to_compare_across_identity_keys(store: Store, tmp_path: Path) -> None:
    roster = staff_roster(tmp_path)
    scan(store, AN, DAY + timedelta(hours=8), key=OLD_KEY)  # recorded before the key was rotated
    with pytest.raises(RosterError, match="import the roster again"):
        not_scanned(roster, the_day(store), KEYRING)
    foreign = Roster("another-province", roster.entries)
    with pytest.raises(RosterError, match="does not hold"):
        foreign.identity_set(KEYRING)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_of_the_not_scanned_list(tmp_path: Path, fmt: str) -> None:
    entries = [
        RosterEntry("Trần Thị Bích", KEY.hash(f"id:{BICH}"), "••••5678", "=1+1"),
        RosterEntry("Phạm Thị Dung", KEY.hash(f"id:{DUNG}"), "••••9999", "Phòng\u202eB"),
    ]
    path = tmp_path / f"not-scanned.{fmt}"

    assert export_not_scanned(entries, path, fmt) == 2

    if fmt == "csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows: list[list[object]] = list(csv.reader(fh))
    else:
        book = load_workbook(path)
        rows = [list(r) for r in book["not scanned"].iter_rows(values_only=True)]
        book.close()
    assert rows == [
        list(EXPORT_COLUMNS),
        ["Trần Thị Bích", "••••5678", "'=1+1"],
        ["Phạm Thị Dung", "••••9999", "Phòng\ufffdB"],
    ]
    with pytest.raises(ValueError, match="format"):
        export_not_scanned(entries, tmp_path / "x.pdf", "pdf")


def test_roster_json_names_its_key(tmp_path: Path) -> None:
    kept = tmp_path / "roster.json"
    save_roster(staff_roster(tmp_path), kept)
    document = json.loads(kept.read_text(encoding="utf-8"))
    assert document["key_id"] == "hue-test-1"
    assert len(document["hashes"]) == 4
