"""Behaviour of ``kiosk.export.export_visits``: CSV and Excel files as the office administrator opens them.

Visits are built directly from ``kiosk.model`` so that values the parsers would refuse (formula-like names)
still reach the export: it is the last line of defence and must hold on its own.
"""

from __future__ import annotations

import csv
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from kiosk.export import COLUMNS, export_visits
from kiosk.model import ClockReading, Direction, Kind, Outcome, Reason, Visit

WALL = datetime(2026, 3, 1, 20, 30, 15, tzinfo=UTC)  # 2026-03-02 03:30:15 in Vietnam


def make_visit(
    seq: int,
    *,
    name: str | None = "Nguyễn Văn An",
    id_number: str | None = "046090001234",
    wall: datetime = WALL,
    kind: Kind = Kind.CCCD,
) -> Visit:
    return Visit(
        uuid=f"00000000-0000-4000-8000-{seq:012d}",
        seq=seq,
        device_id="gate-1",
        location_code="HUE-0001",
        kind=kind,
        identity_hash=None,
        id_number=id_number,
        name=name,
        direction=Direction.IN,
        outcome=Outcome.GRANTED,
        reason=Reason.OK,
        at=ClockReading(wall=wall, synchronised=True, boot_id="boot-1", monotonic_s=100.0 + seq),
        privacy_notice_version="2026-01",
    )


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def read_xlsx(path: Path) -> list[list[object]]:
    book = load_workbook(path)
    try:
        sheet = book["visits"]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def column(rows: list[list[str]] | list[list[object]], name: str) -> list[object]:
    index = COLUMNS.index(name)
    return [row[index] for row in rows[1:]]


@pytest.mark.parametrize(
    "dangerous",
    [
        "=cmd|' /C calc'!A0",
        "+SUM(1,2)",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1,2)",
        "＝1+1",  # full-width signs, and signs behind a blank, are formula starts after NFKC
        "＋SUM(1,2)",
        "－1+1",
        "＠SUM(1,2)",
        "﹦1+1",
        " =1+1",
        "\u3000=1+1",
    ],
)
def test_formula_like_cells_are_prefixed_with_an_apostrophe_in_csv(tmp_path: Path, dangerous: str) -> None:
    out = tmp_path / "visits.csv"
    visits = [make_visit(1, name=dangerous, id_number=dangerous), make_visit(2)]

    export_visits(visits, out, "csv")

    rows = read_csv(out)
    assert column(rows, "name") == ["'" + dangerous, "Nguyễn Văn An"]
    assert column(rows, "id_number") == ["'" + dangerous, "046090001234"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("control", ["\t", "\r", "\n"])
def test_a_tab_or_line_break_in_front_of_a_formula_is_replaced(
    tmp_path: Path, fmt: str, control: str
) -> None:
    # Some spreadsheet programs run "\t=..." as a formula; the tab becomes U+FFFD, which starts no formula.
    out = tmp_path / f"visits.{fmt}"

    export_visits([make_visit(1, name=control + "=1+1")], out, fmt)

    rows = read_csv(out) if fmt == "csv" else read_xlsx(out)
    assert column(rows, "name") == ["\ufffd=1+1"]


def test_formula_like_name_is_text_not_a_formula_in_xlsx(tmp_path: Path) -> None:
    out = tmp_path / "visits.xlsx"
    dangerous = "=cmd|' /C calc'!A0"

    export_visits([make_visit(1, name=dangerous), make_visit(2, name="An = Bình")], out, "xlsx")

    book = load_workbook(out)
    try:
        sheet = book["visits"]
        name_col = COLUMNS.index("name") + 1
        cell = sheet.cell(row=2, column=name_col)
        assert cell.value == "'" + dangerous
        assert cell.data_type == "s"  # a string cell: Excel will not evaluate it
        # An "=" that does not start the cell is harmless and left alone.
        assert sheet.cell(row=3, column=name_col).value == "An = Bình"
    finally:
        book.close()


def test_ordinary_vietnamese_names_are_not_prefixed(tmp_path: Path) -> None:
    out = tmp_path / "visits.csv"

    export_visits([make_visit(1, name="Trần Thị Bình")], out, "csv")

    assert column(read_csv(out), "name") == ["Trần Thị Bình"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_times_are_shown_in_vietnam_time(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"visits.{fmt}"
    new_york_morning = datetime(2026, 3, 1, 10, 0, 0, tzinfo=timezone(timedelta(hours=-5)))
    visits = [make_visit(1, wall=WALL), make_visit(2, wall=new_york_morning)]

    export_visits(visits, out, fmt)

    rows = read_csv(out) if fmt == "csv" else read_xlsx(out)
    # 20:30:15 UTC is 03:30:15 the next day at UTC+7; 10:00 at UTC-5 is 15:00 UTC, 22:00 at UTC+7.
    assert column(rows, "time") == ["2026-03-02 03:30:15", "2026-03-01 22:00:00"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_rows_are_sorted_by_seq_under_the_header(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"visits.{fmt}"
    visits = [make_visit(3, name="Ba"), make_visit(1, name="Một"), make_visit(2, name="Hai")]

    count = export_visits(visits, out, fmt)

    assert count == 3
    rows = read_csv(out) if fmt == "csv" else read_xlsx(out)
    assert list(rows[0]) == list(COLUMNS)
    assert [str(s) for s in column(rows, "seq")] == ["1", "2", "3"]
    assert column(rows, "name") == ["Một", "Hai", "Ba"]


def test_csv_has_a_bom_for_excel_and_only_a_header_when_there_are_no_visits(
    tmp_path: Path,
) -> None:
    out = tmp_path / "visits.csv"

    assert export_visits([], out, "csv") == 0

    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_csv(out) == [list(COLUMNS)]


def test_unknown_format_is_a_value_error_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "visits.pdf"

    with pytest.raises(ValueError, match="pdf"):
        export_visits([make_visit(1)], out, "pdf")

    assert not out.exists()


# -- names an older database may hold, recorded before the parsers refused them (issue 6) -------------

STORED_BAD = {
    "NUL": "\x00",
    "bell": "\x07",
    "vertical tab": "\x0b",
    "escape": "\x1b",
    "DEL": "\x7f",
    "C1 next line": "\x85",
    "lone high surrogate": "\ud800",
    "lone low surrogate": "\udfff",
    "noncharacter U+FFFF": "\uffff",
    "noncharacter U+FFFE": "\ufffe",
    "noncharacter U+FDD0": "\ufdd0",
    "noncharacter U+10FFFF": "\U0010ffff",
    "bidi override": "\u202e",
    "soft hyphen": "\u00ad",
    "tag letter": "\U000e0041",
    "Hangul filler": "\u3164",
}


def assert_xml_parts_are_well_formed(path: Path) -> None:
    # A strict XML 1.0 parser, as Excel is: openpyxl's own reader is more lenient than Excel.
    with zipfile.ZipFile(path) as archive:
        for part in archive.namelist():
            if part.endswith((".xml", ".rels")):
                ElementTree.fromstring(archive.read(part))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("bad", STORED_BAD.values(), ids=STORED_BAD.keys())
def test_a_stored_name_with_a_bad_character_exports_to_a_file_that_opens(
    tmp_path: Path, fmt: str, bad: str
) -> None:
    out = tmp_path / f"visits.{fmt}"
    visits = [
        make_visit(1, name="Nguyễn" + bad + "Văn An", id_number="0460" + bad + "90001234"),
        make_visit(2, name=bad + "=1+1"),
        make_visit(3, name="=1+1" + bad),
    ]

    assert export_visits(visits, out, fmt) == 3

    if fmt == "csv":
        out.read_bytes().decode("utf-8-sig")  # strict: raises on anything that is not UTF-8
        rows: list[list[str]] | list[list[object]] = read_csv(out)
    else:
        assert_xml_parts_are_well_formed(out)
        rows = read_xlsx(out)
    # Each bad character is shown as U+FFFD, the rest of the name is kept, formula escaping still holds.
    assert column(rows, "name") == ["Nguyễn\ufffdVăn An", "\ufffd=1+1", "'=1+1\ufffd"]
    assert column(rows, "id_number") == ["0460\ufffd90001234", "046090001234", "046090001234"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_name_with_every_bad_character_at_once_exports(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"visits.{fmt}"
    everything = "".join(STORED_BAD.values())

    export_visits([make_visit(1, name="An" + everything + "Bình")], out, fmt)

    rows = read_csv(out) if fmt == "csv" else read_xlsx(out)
    assert column(rows, "name") == ["An" + "\ufffd" * len(everything) + "Bình"]


def test_an_overlong_cell_is_cut_to_fit_excels_limit(tmp_path: Path) -> None:
    out = tmp_path / "visits.xlsx"
    visits = [
        make_visit(1, name="A" * 40_000),
        make_visit(2, name="😀" * 20_000),
        make_visit(3, name="=" * 40_000),
    ]

    export_visits(visits, out, "xlsx")

    names = [str(name) for name in column(read_xlsx(out), "name")]
    # Excel holds 32,767 UTF-16 code units in a cell; an emoji is two, and is never cut in half.
    assert [len(name.encode("utf-16-le")) // 2 for name in names] == [32_766, 32_766, 32_767]
    assert names[1] == "😀" * 16_383
    assert names[2].startswith("'=")
