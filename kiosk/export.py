"""Layer: core. Export recorded visits to CSV or Excel for the office administrator.

Times are shown in Vietnam time (UTC+7, no daylight saving). Text cells that a spreadsheet would run as
a formula are prefixed with an apostrophe, even though the parsers already refuse such names: an export
is the last line of defence for anything a future record kind lets through.

For the same reason every text cell is cleaned at write time: a database recorded before today's parser
rules may hold names with controls, lone surrogates or noncharacters (U+FFFF), which XML 1.0 forbids
(openpyxl raises IllegalCharacterError, Excel refuses the file) or UTF-8 cannot encode. Those, and the
other characters the parsers refuse anywhere (format and invisible characters), become U+FFFD so the
administrator sees that something was there; a cell longer than Excel's 32,767 characters is cut.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import timedelta, timezone
from pathlib import Path

from kiosk.model import Visit
from kiosk.payloads.text import is_invisible, starts_like_formula

VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")
COLUMNS = (
    "seq",
    "time",
    "direction",
    "kind",
    "id_number",
    "name",
    "outcome",
    "reason",
    "manual",
    "clock_synchronised",
    "location",
    "device",
    "uploaded",
    "uuid",
)
REPLACEMENT = "\ufffd"
# Excel's limit on the characters in one cell (counted in UTF-16 code units), less one for an apostrophe.
_MAX_CELL_UTF16 = 32_767 - 1


def visit_row(visit: Visit) -> list[str | int | bool]:
    return [
        visit.seq,
        visit.at.wall.astimezone(VIETNAM_TIME).strftime("%Y-%m-%d %H:%M:%S"),
        visit.direction.value,
        visit.kind.value,
        visit.id_number or "",
        visit.name or "",
        visit.outcome.value,
        visit.reason.value,
        visit.manual,
        visit.at.synchronised,
        visit.location_code,
        visit.device_id,
        visit.uploaded,
        visit.uuid,
    ]


def clean_text(text: str) -> str:
    """``text`` as it can go into any spreadsheet: unsafe characters → U+FFFD, cut to fit one Excel cell.

    Tab, CR and LF are replaced too (they are controls): a tab or CR in front also starts a formula in some
    spreadsheet programs, and a line break inside a name is never genuine.
    """
    text = "".join(REPLACEMENT if is_invisible(ch) else ch for ch in text)
    if len(text) > _MAX_CELL_UTF16 // 2:
        # errors="ignore" drops a surrogate pair the cut splits in half.
        text = text.encode("utf-16-le")[: 2 * _MAX_CELL_UTF16].decode("utf-16-le", errors="ignore")
    return text


def safe_cell(value: str | int | bool) -> str | int | bool:
    """A cell as any export writes it: text cleaned (``clean_text``), a formula start behind an apostrophe."""
    if not isinstance(value, str):
        return value
    value = clean_text(value)
    return "'" + value if starts_like_formula(value) else value


def export_visits(visits: Iterable[Visit], path: Path, fmt: str) -> int:
    """Write ``visits`` (oldest first) to ``path`` as ``csv`` or ``xlsx``; return the row count."""
    rows = [[safe_cell(v) for v in visit_row(visit)] for visit in sorted(visits, key=lambda v: v.seq)]
    write_table(path, fmt, COLUMNS, rows, sheet="visits")
    return len(rows)


def write_table(
    path: Path, fmt: str, columns: Sequence[str], rows: Sequence[Sequence[object]], *, sheet: str
) -> None:
    """Write a header and rows (already passed through ``safe_cell``) as ``csv`` or ``xlsx``."""
    if fmt == "csv":
        _write_csv(path, columns, rows)
    elif fmt == "xlsx":
        _write_xlsx(path, columns, rows, sheet)
    else:
        raise ValueError(f"unknown export format {fmt!r}")


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    # UTF-8 with a BOM so that Excel on Windows shows Vietnamese names correctly when double-clicked.
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(rows)


def _write_xlsx(path: Path, columns: Sequence[str], rows: Sequence[Sequence[object]], title: str) -> None:
    from openpyxl import Workbook  # noqa: PLC0415 - only the export needs it

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append(list(columns))
    for row in rows:
        sheet.append(list(row))
    book.save(path)
