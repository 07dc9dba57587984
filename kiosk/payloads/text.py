"""Layer: core. Text hygiene shared by every payload parser.

Decode bytes as UTF-8 ourselves (decoders and scanners guess code pages badly), strip a BOM and trailing
CR/LF, normalise to NFC, cap the length, and refuse control and bidi-override characters and names that a
spreadsheet would run as a formula.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from kiosk.errors import PayloadError
from kiosk.model import Kind, Reason

#: Longest payload accepted, in bytes. The largest real code seen (a multi-entry DCC) is about 2 KiB;
#: anything bigger is a misread or an attack and is refused before any work is done on it.
MAX_PAYLOAD_BYTES = 4096

# Bidi overrides/embeddings/isolates and invisible marks: they can make a name display as something else.
_BIDI = frozenset(
    "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u2060\ufeff"
)
#: A cell starting with one of these runs as a formula in a spreadsheet (CSV/Excel injection).
FORMULA_START = ("=", "+", "-", "@")


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


def check_characters(text: str, kind: Kind) -> None:
    """Refuse C0/C1 controls and bidi/invisible formatting characters anywhere in the payload."""
    for ch in text:
        if ch in _BIDI or unicodedata.category(ch) == "Cc":
            raise PayloadError(Reason.CONTROL_CHARS, kind, f"U+{ord(ch):04X}")


def check_name(name: str, kind: Kind) -> str:
    """A person's name: non-empty, contains a letter, never starts like a spreadsheet formula."""
    name = " ".join(name.split())
    if not name or not any(ch.isalpha() for ch in name):
        raise PayloadError(Reason.MALFORMED, kind, "empty name")
    if name.startswith(FORMULA_START):
        raise PayloadError(Reason.FORMULA_NAME, kind)
    if len(name) > 100:
        raise PayloadError(Reason.MALFORMED, kind, "name too long")
    return name


def parse_date(value: str, fmt: str, kind: Kind) -> date:
    """``DDMMYYYY``, ``DD/MM/YYYY`` or ``YYYY-MM-DD`` → date; an impossible date is BAD_DATE."""
    try:
        if fmt == "DDMMYYYY" and len(value) == 8 and value.isdigit():
            return date(int(value[4:]), int(value[2:4]), int(value[:2]))
        if fmt == "DD/MM/YYYY" and len(value) == 10 and value[2] == value[5] == "/":
            return date(int(value[6:]), int(value[3:5]), int(value[:2]))
        if fmt == "YYYY-MM-DD" and len(value) == 10 and value[4] == value[7] == "-":
            return date(int(value[:4]), int(value[5:7]), int(value[8:]))
    except ValueError as exc:
        raise PayloadError(Reason.BAD_DATE, kind, value) from exc
    raise PayloadError(Reason.BAD_DATE, kind, value)
