"""Layer: core. Chip citizen-ID card (CCCD / thẻ căn cước) QR payloads.

``ID12|oldID9?|Name|DDMMYYYY|Nam/Nữ|Address|DDMMYYYY(|extra…)`` (payload-formats §1). Unsigned: only
syntax and plausibility can be checked. The address is read past and never kept.
"""

from __future__ import annotations

from datetime import date, datetime

from kiosk.errors import PayloadError
from kiosk.model import Credential, Kind, Reason
from kiosk.payloads.text import ascii_digits, check_name, parse_date

# Province codes of the 12-digit number (Circular 07/2016/TT-BCA). 046 = Thừa Thiên Huế.
PROVINCE_CODES = frozenset(
    [
        "001",
        "002",
        "004",
        "006",
        "008",
        "010",
        "011",
        "012",
        "014",
        "015",
        "017",
        "019",
        "020",
        "022",
        "024",
        "025",
        "026",
        "027",
        "030",
        "031",
        "033",
        "034",
        "035",
        "036",
        "037",
        "038",
        "040",
        "042",
        "044",
        "045",
        "046",
        "048",
        "049",
        "051",
        "052",
        "054",
        "056",
        "058",
        "060",
        "062",
        "064",
        "066",
        "067",
        "068",
        "070",
        "072",
        "074",
        "075",
        "077",
        "079",
        "080",
        "082",
        "083",
        "084",
        "086",
        "087",
        "089",
        "091",
        "092",
        "093",
        "094",
        "095",
        "096",
    ]
)
CHIP_CARDS_FROM = date(2021, 1, 1)
_SEX = {"nam": "M", "nữ": "F", "nu": "F"}
# Digit 4 of the ID: century and sex (0/1 → 1900s M/F, 2/3 → 2000s, 4/5 → 2100s).
_CENTURY_SEX = {"0": (1900, "M"), "1": (1900, "F"), "2": (2000, "M"), "3": (2000, "F")}


def parse_cccd(text: str, now: datetime) -> Credential:
    """Parse a canonical CCCD payload; raise PayloadError(kind=cccd) with the first problem found."""
    fields = text.split("|")
    if len(fields) < 7:
        raise PayloadError(Reason.MALFORMED, Kind.CCCD, f"{len(fields)} fields, need 7 (partial read?)")
    id_number, old_id, raw_name, dob_s, sex_s, _address, issued_s = fields[:7]
    # ASCII digits only: a look-alike number in full-width or Arabic-Indic digits shows the real card's last
    # four digits on screen yet is another identity.
    if len(id_number) != 12 or not ascii_digits(id_number):
        raise PayloadError(Reason.BAD_ID, Kind.CCCD, "ID must be 12 ASCII digits")
    if old_id and not (ascii_digits(old_id) and len(old_id) in (9, 12)):
        raise PayloadError(Reason.BAD_ID, Kind.CCCD, "old ID must be 9 or 12 ASCII digits")
    name = check_name(raw_name, Kind.CCCD)
    dob = parse_date(dob_s, "DDMMYYYY", Kind.CCCD)
    issued = parse_date(issued_s, "DDMMYYYY", Kind.CCCD)
    today = now.date()
    if not date(1900, 1, 1) <= dob <= issued:
        raise PayloadError(Reason.BAD_DATE, Kind.CCCD, "birth date after issue date")
    # A day of slack: the kiosk clock may be a little behind the issuing office's.
    if not CHIP_CARDS_FROM <= issued <= date.fromordinal(today.toordinal() + 1):
        raise PayloadError(Reason.BAD_DATE, Kind.CCCD, "issue date outside the chip-card era")
    sex = _SEX.get(sex_s.strip().lower())
    if sex is None:
        raise PayloadError(Reason.BAD_SEX, Kind.CCCD, "expected Nam or Nữ")

    warnings: list[str] = []
    if sex_s.strip() not in ("Nam", "Nữ"):
        warnings.append("cccd_sex_spelling")
    century_sex = _CENTURY_SEX.get(id_number[3])
    if century_sex is None or century_sex != (dob.year // 100 * 100, sex):
        # Flag, never block: typos on legacy records exist and the guard can look at the card.
        warnings.append("cccd_id_mismatch")
    if id_number[:3] not in PROVINCE_CODES:
        warnings.append("cccd_unknown_province")
    if len(fields) > 7:
        warnings.append(f"cccd_fields_{len(fields)}")
    return Credential(
        kind=Kind.CCCD,
        identity_key=f"id:{id_number}",
        id_number=id_number,
        name=name,
        birth_date=dob,
        warnings=tuple(warnings),
    )
