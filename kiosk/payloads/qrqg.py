"""Layer: core. The national personal QR (QRQG: PC-Covid, Hue-S, Sổ sức khỏe điện tử).

``Doc|NAME|YYYY-MM-DD|0/1|QID|EXT`` (payload-formats §2.1); the document number and date may be masked with
``*``. Unsigned. The EXT part (phone, insurance number) is never kept.
"""

from __future__ import annotations

import re
from datetime import datetime

from kiosk.errors import PayloadError
from kiosk.model import Credential, Kind, Reason
from kiosk.payloads.text import ascii_digits, check_name, parse_date

# Explicit ASCII classes throughout: ``\d`` in a str pattern also matches full-width and other digits.
_DOC = re.compile(r"[0-9A-Z*]{6,20}")
_NAME = re.compile(r"[A-Z][A-Z ']*")
_DOB = re.compile(r"([0-9]{4})-([0-9]{2}|\*\*)-([0-9]{2}|\*\*)")
_QID = re.compile(r"[0-9A-Za-z]{1,40}")
# Recognising the shape is deliberately looser (any Unicode digit) than validating it: a year written in
# full-width digits is then refused as this kind's BAD_DATE rather than as an unknown code.
_DOB_SHAPE = re.compile(r"\d{4}-.*")


def looks_like_qrqg(fields: list[str]) -> bool:
    return len(fields) == 6 and _DOB_SHAPE.fullmatch(fields[2]) is not None


def parse_qrqg(text: str, now: datetime) -> Credential:
    fields = text.split("|")
    if len(fields) != 6:
        raise PayloadError(Reason.MALFORMED, Kind.QRQG, f"{len(fields)} fields, need 6")
    doc, raw_name, dob_s, declared, qid, _ext = fields
    if not _DOC.fullmatch(doc):
        raise PayloadError(Reason.BAD_ID, Kind.QRQG, "document number")
    if not _QID.fullmatch(qid):
        raise PayloadError(Reason.BAD_ID, Kind.QRQG, "QID")
    name = check_name(raw_name, Kind.QRQG)
    if not _NAME.fullmatch(name):
        raise PayloadError(Reason.MALFORMED, Kind.QRQG, "name must be upper case without diacritics")
    match = _DOB.fullmatch(dob_s)
    if match is None:
        raise PayloadError(Reason.BAD_DATE, Kind.QRQG, dob_s)
    birth = None
    if "*" not in dob_s:
        birth = parse_date(dob_s, "YYYY-MM-DD", Kind.QRQG)
        if not 1900 <= birth.year <= now.year or birth > now.date():
            raise PayloadError(Reason.BAD_DATE, Kind.QRQG, dob_s)
    elif not 1900 <= int(match.group(1)) <= now.year:
        raise PayloadError(Reason.BAD_DATE, Kind.QRQG, dob_s)
    if declared not in ("0", "1"):
        raise PayloadError(Reason.MALFORMED, Kind.QRQG, "declaration type must be 0 or 1")

    unmasked_citizen_id = len(doc) == 12 and ascii_digits(doc)
    # An unmasked 12-digit number is the citizen ID: same identity as the person's CCCD scan.
    identity_key = f"id:{doc}" if unmasked_citizen_id else f"qid:{qid}"
    return Credential(
        kind=Kind.QRQG,
        identity_key=identity_key,
        id_number=doc if unmasked_citizen_id else qid,
        name=name,
        birth_date=birth,
        warnings=() if unmasked_citizen_id else ("qrqg_masked",),
    )
