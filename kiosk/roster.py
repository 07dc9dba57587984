"""Layer: core. The office's staff roster and the "staff who did not scan today" report.

The province's dispatch sanctions staff who do not scan, so the administrator imports the staff list (CSV
or Excel, as offices keep it) and the kiosk reports, for a day, who on it has no granted visit.

**Import** (``load_roster_file``): a ``.csv`` (UTF-8 with or without a BOM; comma, semicolon or tab
separated) or ``.xlsx`` file. The header row may sit below a title ("DANH SÁCH CÁN BỘ …"): the first row
that names a name column and an ID column is the header. Header names are matched with case and accents
folded: ``Họ và tên`` / ``Họ tên`` / ``name``…, ``Số CCCD`` / ``CCCD`` / ``ID`` / ``id_number``…, optional
``Phòng`` / ``department``…; other columns (``STT``…) are ignored. A name follows the payload rules
(``check_name``); an ID number is the 12 ASCII digits of a CCCD (spaces and a leading apostrophe are
dropped). An Excel cell that holds the ID as a *number* lost its leading zero (nearly every CCCD starts
with 0), so a number of up to 12 digits is padded back to 12; a CSV file keeps text as written, so a short
number there is an error that says why. Every bad row is reported with its row number, in one
``RosterError``, and nothing is imported.

**Kept** (``save_roster`` / ``Roster.load``): a JSON file beside the database, written atomically, holding
the names, the departments, the keyed identity hash of ``id:<12 digits>`` under the identity key current at
import (``kiosk.identity``), and the masked number (``••••1234``) — never the ID number in clear. The file
also carries ``{"key_id": …, "hashes": […]}``, so it is a valid hash list for ``policy.roster``.

**Report** (``not_scanned``): compares hashes made with the same key only. When the day's visits were
hashed with another key than the roster (the province rotated the key), no trustworthy answer exists — a
member of staff who scanned would be listed as absent — so a ``RosterError`` asks for the roster to be
imported again. Staff scanning a code that carries no citizen ID (a PC-Covid QR with a masked ID, a health
insurance card) do not match their roster line: the roster knows their CCCD number only.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Final

from kiosk.errors import PayloadError, RosterError
from kiosk.export import safe_cell, write_table
from kiosk.fileio import replace_atomically
from kiosk.guard import fold
from kiosk.identity import IdentityKey, IdentityKeyring, IdentitySet
from kiosk.model import Kind, Outcome, Reason, Visit, mask_id
from kiosk.payloads.text import ascii_digits, check_name, is_invisible

__all__ = [
    "EXPORT_COLUMNS",
    "Roster",
    "RosterEntry",
    "export_not_scanned",
    "load_roster_file",
    "not_scanned",
    "save_roster",
]

FORMAT: Final = "qr-gate-kiosk roster 1"
ID_DIGITS: Final = 12
MAX_ROWS: Final = 20_000
MAX_CSV_BYTES: Final = 10 * 1024 * 1024
MAX_GROUP_CHARS: Final = 100
#: A header row is looked for in the first rows only (a title and a blank line may come first).
HEADER_SEARCH_ROWS: Final = 20
#: Columns of the "did not scan" export. The masked number only: the kiosk does not hold the ID number.
EXPORT_COLUMNS: Final = ("name", "masked_id", "group")

# Header names, folded (``kiosk.guard.fold``; "_" and "-" read as spaces).
NAME_HEADERS: Final = frozenset(
    {"ho va ten", "ho ten", "ten", "name", "full name", "fullname", "ten nhan vien", "ten can bo"}
)
ID_HEADERS: Final = frozenset(
    {
        "so cccd",
        "cccd",
        "so cccd/cmnd",
        "cccd/cmnd",
        "so can cuoc",
        "so can cuoc cong dan",
        "can cuoc cong dan",
        "so dinh danh",
        "so dinh danh ca nhan",
        "ma dinh danh",
        "id",
        "id number",
        "id no",
        "citizen id",
    }
)
GROUP_HEADERS: Final = frozenset(
    {"phong", "phong ban", "bo phan", "don vi", "khoa", "department", "group", "unit"}
)

_HASH = re.compile(r"[0-9a-f]{64}")
_MASKED = re.compile(r"••••[0-9]{4}")
_BLANK_RUN_END: Final = 1000  # this many empty rows in a row end the sheet (formatted but empty rows)

Cell = str | int | float | bool | datetime | date | time | None


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One member of staff: name, keyed identity hash (the roster's key), masked ID, department."""

    name: str
    identity_hash: str
    masked_id: str
    group: str = ""


@dataclass(frozen=True, slots=True)
class Roster:
    """The staff list, its identity hashes made with identity key ``key_id``."""

    key_id: str
    entries: tuple[RosterEntry, ...]

    @classmethod
    def load(cls, path: Path) -> Roster:
        """Read a roster kept by ``save_roster``; ``RosterError`` when it is missing or damaged."""
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise RosterError(f"no staff roster at {path}: import one first") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise RosterError(f"the staff roster {path} cannot be read ({exc}); import it again") from exc
        try:
            return _from_document(document)
        except (KeyError, TypeError, ValueError) as exc:
            raise RosterError(f"the staff roster {path} is damaged ({exc}); import it again") from exc

    def identity_set(self, keyring: IdentityKeyring) -> IdentitySet:
        """The roster as a hash set for the access policy's allow-list (``LocalState.roster``)."""
        key = _key(self, keyring)
        return IdentitySet(((key, frozenset(e.identity_hash for e in self.entries)),))


def _key(roster: Roster, keyring: IdentityKeyring) -> IdentityKey:
    key = keyring.get(roster.key_id)
    if key is None:
        raise RosterError(
            f"the staff roster was made with identity key {roster.key_id!r}, which this kiosk does not hold "
            f"(it has {', '.join(keyring.key_ids)}): import the roster again"
        )
    return key


def _from_document(document: Any) -> Roster:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError("not a staff roster file")
    key_id = document["key_id"]
    if not isinstance(key_id, str) or not key_id:
        raise ValueError("no key_id")
    entries: list[RosterEntry] = []
    for item in document["entries"]:
        name, identity_hash = str(item["name"]), str(item["identity_hash"])
        masked, group = str(item["masked_id"]), str(item.get("group", ""))
        if not _HASH.fullmatch(identity_hash) or not _MASKED.fullmatch(masked):
            raise ValueError(f"entry {len(entries) + 1} is not a hashed, masked entry")
        entries.append(RosterEntry(name, identity_hash, masked, group))
    return Roster(key_id, tuple(entries))


def save_roster(roster: Roster, path: Path) -> None:
    """Keep ``roster`` at ``path`` as JSON: a temporary file beside it, fsync, rename, fsync the folder — a
    power cut leaves the old roster or the new one, never half of one."""
    path = Path(path)
    document = {
        "format": FORMAT,
        "key_id": roster.key_id,
        # The hash-list form (kiosk.identity.load_hash_list): this file can serve as policy.roster.
        "hashes": sorted({e.identity_hash for e in roster.entries}),
        "entries": [
            {"name": e.name, "identity_hash": e.identity_hash, "masked_id": e.masked_id, "group": e.group}
            for e in roster.entries
        ],
    }
    data = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Names of staff: readable by the kiosk's user and group only.
        replace_atomically(path, data, mode=0o640)
    except OSError as exc:
        raise RosterError(f"cannot keep the staff roster at {path}: {exc.strerror or exc}") from exc


# --------------------------------------------------------------------------------------------------
# import


def load_roster_file(path: Path, keyring: IdentityKeyring) -> Roster:
    """Import a staff list from a ``.csv`` or ``.xlsx`` file, hashing every ID number with the keyring's
    current key. ``RosterError`` (with ``problems``) names every bad row; nothing is imported then."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        rows = _csv_rows(path)
    elif suffix in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(path)
    elif suffix == ".xls":
        raise RosterError(
            f"{path.name} is an old Excel 97 file: save it as .xlsx (Excel Workbook) or CSV UTF-8"
        )
    else:
        raise RosterError(f"{path.name}: a staff list is a .csv or .xlsx file")
    with closing(rows):  # the workbook is closed even when a bad row stops the import
        return _parse(path, rows, keyring.current)


def _parse(path: Path, rows: Iterator[tuple[int, Sequence[Cell]]], key: IdentityKey) -> Roster:
    columns = _find_header(path, rows)
    name_col, id_col, group_col = columns
    problems: list[tuple[int, str]] = []
    entries: list[RosterEntry] = []
    first_row_of: dict[str, int] = {}
    blank_run = 0
    for number, cells in rows:
        if all(_text(c) == "" for c in cells):
            blank_run += 1
            if blank_run >= _BLANK_RUN_END:
                break
            continue
        blank_run = 0
        if len(entries) + len(problems) >= MAX_ROWS:
            raise RosterError(f"{path.name} has more than {MAX_ROWS} staff rows; split it or check the file")
        wrong: list[str] = []
        name = _name(_at(cells, name_col), wrong)
        digits = _id_number(_at(cells, id_col), wrong)
        group = _group(_at(cells, group_col) if group_col is not None else None, wrong)
        if digits is not None:
            if digits in first_row_of:
                wrong.append(f"the same ID number as row {first_row_of[digits]}")
            else:
                first_row_of[digits] = number
        if wrong:
            problems.append((number, "; ".join(wrong)))
        elif name is not None and digits is not None:
            entries.append(RosterEntry(name, key.hash(f"id:{digits}"), mask_id(digits), group))
    if problems:
        listed = "\n".join(f"row {n}: {what}" for n, what in problems)
        raise RosterError(
            f"{path.name}: {len(problems)} {'row is' if len(problems) == 1 else 'rows are'} wrong and nothing "
            f"was imported; correct them and import the file again:\n{listed}",
            tuple(problems),
        )
    if not entries:
        raise RosterError(f"{path.name} has a header but no staff rows", ((0, "no staff rows"),))
    return Roster(key.key_id, tuple(entries))


def _find_header(path: Path, rows: Iterator[tuple[int, Sequence[Cell]]]) -> tuple[int, int, int | None]:
    for _ in range(HEADER_SEARCH_ROWS):
        item = next(rows, None)
        if item is None:
            break
        labels = [_header(c) for c in item[1]]
        name_col = next((i for i, h in enumerate(labels) if h in NAME_HEADERS), None)
        id_col = next((i for i, h in enumerate(labels) if h in ID_HEADERS), None)
        if name_col is not None and id_col is not None:
            group_col = next((i for i, h in enumerate(labels) if h in GROUP_HEADERS), None)
            return name_col, id_col, group_col
    message = (
        f"{path.name}: no header row with a name column (Họ và tên, Họ tên, name) and an ID column "
        f"(Số CCCD, CCCD, ID, id_number) in its first {HEADER_SEARCH_ROWS} rows"
    )
    raise RosterError(message, ((0, message),))


def _header(cell: Cell) -> str:
    return fold(_text(cell).replace("_", " ").replace("-", " ")).strip(" :*")


def _at(cells: Sequence[Cell], column: int) -> Cell:
    return cells[column] if column < len(cells) else None


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


_NAME_PROBLEMS: Final = {
    Reason.CONTROL_CHARS: "the name holds an invisible or control character",
    Reason.FORMULA_NAME: "the name starts like a spreadsheet formula (= + - @)",
}


def _name(cell: Cell, wrong: list[str]) -> str | None:
    if not isinstance(cell, str) or not cell.strip():
        wrong.append("the name is empty" if _text(cell) == "" else "the name is not text")
        return None
    try:
        return check_name(cell, Kind.MANUAL)
    except PayloadError as exc:
        wrong.append(_NAME_PROBLEMS.get(exc.reason, f"the name is not valid ({exc.detail})"))
        return None


def _id_number(cell: Cell, wrong: list[str]) -> str | None:
    """The 12 ASCII digits of a CCCD number, or None with the reason appended to ``wrong``."""
    if isinstance(cell, bool):
        text = ""
    elif isinstance(cell, int) or (isinstance(cell, float) and cell.is_integer() and cell >= 0):
        # An Excel number: the leading zero is gone (a CCCD number starts with its province code, 001-096).
        text = str(int(cell))
        if len(text) <= ID_DIGITS:
            text = text.zfill(ID_DIGITS)
    else:
        text = _text(cell).removeprefix("'").replace(" ", "").replace("\u00a0", "")
    if not text:
        wrong.append("the ID number is empty")
        return None
    if not ascii_digits(text):
        hint = " (the spreadsheet wrote it as a number like 4.6E+10: format the column as Text)"
        wrong.append(f"the ID number must be {ID_DIGITS} digits 0-9" + (hint if "E+" in text.upper() else ""))
        return None
    if len(text) != ID_DIGITS:
        if len(text) == 9:
            wrong.append("an old 9-digit CMND number: the 12-digit CCCD number is needed")
        else:
            lost_zero = (
                " (a spreadsheet drops a leading 0 unless the column is Text)" if len(text) == 11 else ""
            )
            wrong.append(f"the ID number has {len(text)} digits, {ID_DIGITS} are needed{lost_zero}")
        return None
    return text


def _group(cell: Cell, wrong: list[str]) -> str:
    text = " ".join(_text(cell).split())
    if any(is_invisible(ch) for ch in text):
        wrong.append("the department holds an invisible or control character")
        return ""
    if len(text) > MAX_GROUP_CHARS:
        wrong.append(f"the department is longer than {MAX_GROUP_CHARS} characters")
        return ""
    return text


def _csv_rows(path: Path) -> Generator[tuple[int, Sequence[Cell]], None, None]:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_CSV_BYTES + 1)
    except OSError as exc:
        raise RosterError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_CSV_BYTES:
        raise RosterError(f"{path.name} is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB: not a staff list")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError(
            f"{path.name} is not UTF-8 text (byte {exc.start}): in Excel choose Save As › CSV UTF-8"
        ) from exc
    sample = "\n".join(text.splitlines()[:HEADER_SEARCH_ROWS])
    delimiter = max((",", ";", "\t"), key=sample.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        # Row numbers count records, as a spreadsheet program numbers the rows of the opened file.
        yield from enumerate(reader, start=1)
    except csv.Error as exc:
        raise RosterError(f"{path.name} is not a readable CSV file: {exc}") from exc


def _xlsx_rows(path: Path) -> Generator[tuple[int, Sequence[Cell]], None, None]:
    from openpyxl import load_workbook  # noqa: PLC0415 - only the roster import and the export need it
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise RosterError(f"{path.name} is not a readable Excel (.xlsx) file: {exc}") from exc
    try:
        # The first sheet: the staff list as the office keeps it.
        sheet = book.worksheets[0]
        yield from enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)
    finally:
        book.close()


# --------------------------------------------------------------------------------------------------
# report


def not_scanned(roster: Roster, visits: Iterable[Visit], keyring: IdentityKeyring) -> list[RosterEntry]:
    """Staff on ``roster`` with no granted visit among ``visits`` (pass one day's visits), in roster order.

    A visit counts when its hash was made with the roster's key; a granted visit hashed with another key
    means the report cannot be trusted (see the module docstring) and raises ``RosterError``.
    """
    seen: set[str] = set()
    other_keys: set[str] = set()
    for visit in visits:
        if visit.outcome is not Outcome.GRANTED or visit.identity_hash is None:
            continue
        if visit.identity_key_id == roster.key_id:
            seen.add(visit.identity_hash)
        else:
            other_keys.add(visit.identity_key_id or "unknown")
    if other_keys:
        raise RosterError(
            f"visits of that day were recorded with identity key {', '.join(sorted(other_keys))}, the staff "
            f"roster with {roster.key_id!r}: import the roster again (this kiosk now records with "
            f"{keyring.current.key_id!r}); staff cannot be compared across keys"
        )
    return [entry for entry in roster.entries if entry.identity_hash not in seen]


def export_not_scanned(entries: Iterable[RosterEntry], path: Path, fmt: str) -> int:
    """Write the "did not scan" list to ``path`` as ``csv`` or ``xlsx`` (cells cleaned as every export's);
    return the row count. Write to a USB stick with ``kiosk.media.write_file_atomically``."""
    rows = [[safe_cell(e.name), safe_cell(e.masked_id), safe_cell(e.group)] for e in entries]
    write_table(Path(path), fmt, EXPORT_COLUMNS, rows, sheet="not scanned")
    return len(rows)
