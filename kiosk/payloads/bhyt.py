"""Layer: core. Health-insurance card (BHYT) QR: ``|``-separated, name and address as hex UTF-8, ends in ``$``.

Unsigned; the shape follows public hospital-software parsers (payload-formats §2.4). Only the card number and
name are kept.
"""

from __future__ import annotations

import binascii
import re
import unicodedata
from datetime import datetime

from kiosk.errors import PayloadError
from kiosk.model import Credential, Kind, Reason
from kiosk.payloads.text import ascii_digits, check_characters, check_name, parse_date

CARD_RE = re.compile(r"[A-Z]{2}[0-9]{13}")
# Recognising the shape is deliberately looser (any Unicode digit) than validating it (CARD_RE, ASCII only):
# a card number in full-width digits is then refused as a BHYT BAD_ID rather than as an unknown code.
_CARD_SHAPE = re.compile(r"[A-Z]{2}\d{13}")


def looks_like_bhyt(fields: list[str]) -> bool:
    return _CARD_SHAPE.fullmatch(fields[0]) is not None


def _hex_text(value: str, what: str) -> str:
    try:
        text = binascii.unhexlify(value).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise PayloadError(Reason.MALFORMED, Kind.BHYT, f"{what} is not hex UTF-8") from exc
    text = unicodedata.normalize("NFC", text)
    check_characters(text, Kind.BHYT)
    return text


def parse_bhyt(text: str, now: datetime) -> Credential:
    fields = text.split("|")
    if len(fields) < 9 or fields[-1] != "$":
        raise PayloadError(Reason.MALFORMED, Kind.BHYT, "need at least 8 fields and a final $")
    card, name_hex, dob_s, sex = fields[0], fields[1], fields[2], fields[3]
    if not CARD_RE.fullmatch(card):
        raise PayloadError(Reason.BAD_ID, Kind.BHYT, "card number")
    name = check_name(_hex_text(name_hex, "name"), Kind.BHYT)
    _hex_text(fields[4], "address")  # validated for shape only, never kept
    birth = None
    if len(dob_s) == 4 and ascii_digits(dob_s):
        if not 1900 <= int(dob_s) <= now.year:
            raise PayloadError(Reason.BAD_DATE, Kind.BHYT, dob_s)
    else:
        birth = parse_date(dob_s, "DD/MM/YYYY", Kind.BHYT)
    if sex not in ("0", "1", "2"):
        raise PayloadError(Reason.MALFORMED, Kind.BHYT, "sex code")
    valid_from = parse_date(fields[6], "DD/MM/YYYY", Kind.BHYT)
    valid_to = parse_date(fields[7], "DD/MM/YYYY", Kind.BHYT)
    if valid_to < valid_from:
        raise PayloadError(Reason.BAD_DATE, Kind.BHYT, "valid-to before valid-from")
    # An expired insurance card still identifies its holder: warn, do not refuse.
    warnings = ("bhyt_expired",) if valid_to < now.date() else ()
    return Credential(
        kind=Kind.BHYT,
        identity_key=f"bhyt:{card}",
        id_number=card,
        name=name,
        birth_date=birth,
        warnings=warnings,
    )
