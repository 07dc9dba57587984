"""Layer: core. Text hygiene shared by every payload parser.

Decode bytes as UTF-8 ourselves (decoders and scanners guess code pages badly), strip a BOM and trailing
CR/LF, normalise to NFC, cap the length, and refuse control and bidi-override characters and names that a
spreadsheet would run as a formula.

Two levels of character checks:

- anywhere in a payload (``check_characters``): controls (Cc), format characters (Cf: bidi overrides, zero
  widths, soft hyphen, tags…), surrogates (Cs) and noncharacters. None belongs in any text a card carries,
  and the last two make an Excel export unreadable.
- in a name (``check_name``), an allow-list: letters (L*), combining marks (M*), spaces (any Zs, kept as one
  plain space), ASCII digits and ``' ’ - .``. Invisible letters and marks (Hangul fillers, variation
  selectors), private-use and unassigned code points are refused as CONTROL_CHARS like the above; any other
  visible character (symbols, emoji, other digits) is MALFORMED; a formula start, also in full-width form or
  after NFKC, is FORMULA_NAME.

Numbers and dates are ASCII digits only: ``str.isdigit()``, ``int()`` and ``re``'s ``\\d`` accept any
Unicode digit (full-width ``０``, Arabic-Indic ``٠``, superscript ``²``), which would let a look-alike number
through; use ``ascii_digits`` or an explicit ``[0-9]``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Literal

from kiosk.errors import PayloadError
from kiosk.model import Kind, Reason

#: Longest payload accepted, in bytes. The largest real code seen (a multi-entry DCC) is about 2 KiB;
#: anything bigger is a misread or an attack and is refused before any work is done on it.
MAX_PAYLOAD_BYTES = 4096

#: A cell starting with one of these runs as a formula in a spreadsheet (CSV/Excel injection).
FORMULA_START = ("=", "+", "-", "@")
# Letters and marks by category that show nothing: the Default_Ignorable_Code_Point members outside the C*
# categories (combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian and other
# variation selectors), plus the braille blank, which fonts draw as an empty cell.
_INVISIBLE = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0100, 0xE01EF),
)
# Besides letters and combining marks, a name may hold these: a space (every Unicode space is folded into
# it), ASCII digits (EU DCC specimen names such as "PREZIME01" carry them), apostrophes and hyphens
# ("O'Brien", "D’Arcy", "Jean-Luc") and a dot ("St. John").
_NAME_OTHERS = frozenset(" 0123456789'’-.")
# Combining marks in a row on one letter: NFC Vietnamese needs none, pointed Hebrew or Devanagari up to
# three; a pile of them ("Zalgo" text) spills over the lines above and below on the screen.
_MAX_MARKS = 4
_MAX_NAME_CHARS = 100
_DATE_FORMATS = {
    "DDMMYYYY": re.compile(r"(?P<d>[0-9]{2})(?P<m>[0-9]{2})(?P<y>[0-9]{4})"),
    "DD/MM/YYYY": re.compile(r"(?P<d>[0-9]{2})/(?P<m>[0-9]{2})/(?P<y>[0-9]{4})"),
    "YYYY-MM-DD": re.compile(r"(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})"),
}
DateFormat = Literal["DDMMYYYY", "DD/MM/YYYY", "YYYY-MM-DD"]


def to_text(payload: bytes | str) -> str:
    """Bytes or str → clean NFC text, or PayloadError (kind unknown: we cannot tell yet)."""
    if isinstance(payload, bytes):
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise PayloadError(Reason.TOO_LONG, Kind.UNKNOWN, f"{len(payload)} bytes")
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError(Reason.NOT_UTF8, Kind.UNKNOWN, f"byte {exc.start}") from exc
    else:
        text = payload
        if len(text) > MAX_PAYLOAD_BYTES:
            raise PayloadError(Reason.TOO_LONG, Kind.UNKNOWN, f"{len(text)} characters")
    text = text.removeprefix("\ufeff").rstrip("\r\n")
    text = unicodedata.normalize("NFC", text)
    if not text.strip():
        raise PayloadError(Reason.EMPTY, Kind.UNKNOWN)
    return text


def is_noncharacter(ch: str) -> bool:
    """U+FDD0..U+FDEF and the last two code points of every plane (U+FFFE, U+FFFF, U+1FFFE, …)."""
    code = ord(ch)
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def is_refused_character(ch: str) -> bool:
    """What no payload text may hold: controls, format characters, surrogates and noncharacters."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs") or is_noncharacter(ch)


def is_invisible(ch: str) -> bool:
    """A refused character, or a letter or mark that shows nothing (Hangul filler, variation selector…)."""
    code = ord(ch)
    return is_refused_character(ch) or any(low <= code <= high for low, high in _INVISIBLE)


def ascii_digits(value: str) -> bool:
    """``value`` is one or more of the ASCII digits 0-9 (``str.isdigit`` alone takes ``０``, ``٠``, ``²``…)."""
    return value.isascii() and value.isdigit()


def starts_like_formula(text: str) -> bool:
    """A spreadsheet could run ``text`` as a formula: ``= + - @`` first once leading blanks are skipped and
    full-width or small forms (``＝``, ``﹢``) are folded by NFKC."""
    return unicodedata.normalize("NFKC", text).lstrip().startswith(FORMULA_START)


def check_characters(text: str, kind: Kind) -> None:
    """Refuse controls, format characters (bidi, zero widths, soft hyphen, tags…), surrogates and
    noncharacters anywhere in the payload: CONTROL_CHARS."""
    for ch in text:
        if is_refused_character(ch):
            raise PayloadError(Reason.CONTROL_CHARS, kind, f"U+{ord(ch):04X}")


def check_name(name: str, kind: Kind) -> str:
    """A person's name, cleaned (NFC, every run of spaces one plain space), or PayloadError.

    CONTROL_CHARS for an invisible, private-use, unassigned or line-breaking character; FORMULA_NAME for a
    spreadsheet formula start (``starts_like_formula``); MALFORMED for an empty or over-long name, a name
    without a letter, an accent with no letter under it (or too many on one), or any other character that is
    not part of a name (see the module docstring for the allow-list).
    """
    name = unicodedata.normalize("NFC", name)
    for ch in name:
        if is_invisible(ch) or unicodedata.category(ch) in ("Cn", "Co", "Zl", "Zp"):
            raise PayloadError(Reason.CONTROL_CHARS, kind, f"U+{ord(ch):04X}")
    name = " ".join(name.split())
    if not name:
        raise PayloadError(Reason.MALFORMED, kind, "empty name")
    if starts_like_formula(name):
        raise PayloadError(Reason.FORMULA_NAME, kind)
    if len(name) > _MAX_NAME_CHARS:
        raise PayloadError(Reason.MALFORMED, kind, "name too long")
    marks = _MAX_MARKS  # a mark first has no letter to sit on
    for ch in name:
        category = unicodedata.category(ch)
        if category[0] == "L":
            marks = 0
        elif category[0] == "M":
            marks += 1
            if marks > _MAX_MARKS:
                raise PayloadError(
                    Reason.MALFORMED, kind, f"U+{ord(ch):04X}: accent on no letter, or too many"
                )
        elif ch in _NAME_OTHERS:
            marks = _MAX_MARKS
        else:
            raise PayloadError(Reason.MALFORMED, kind, f"U+{ord(ch):04X} is not part of a name")
    if not any(ch.isalpha() for ch in name):
        raise PayloadError(Reason.MALFORMED, kind, "no letter in the name")
    return name


def parse_date(value: str, fmt: DateFormat, kind: Kind) -> date:
    """``DDMMYYYY``, ``DD/MM/YYYY`` or ``YYYY-MM-DD`` in ASCII digits → date; anything else is BAD_DATE."""
    match = _DATE_FORMATS[fmt].fullmatch(value)
    if match is None:
        raise PayloadError(Reason.BAD_DATE, kind, value)
    try:
        return date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError as exc:
        raise PayloadError(Reason.BAD_DATE, kind, value) from exc
