"""Behaviour of ``kiosk.export.export_visits``: CSV and Excel files as the office administrator opens them.

Visits are built directly from ``kiosk.model`` so that values the parsers would refuse (formula-like names)
still reach the export: it is the last line of defence and must hold on its own.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

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
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_formula_like_cells_are_prefixed_with_an_apostrophe_in_csv(tmp_path: Path, dangerous: str) -> None:
    out = tmp_path / "visits.csv"
    visits = [make_visit(1, name=dangerous, id_number=dangerous), make_visit(2)]

    export_visits(visits, out, "csv")

    rows = read_csv(out)
    assert column(rows, "name") == ["'" + dangerous, "Nguyễn Văn An"]
    assert column(rows, "id_number") == ["'" + dangerous, "046090001234"]


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
