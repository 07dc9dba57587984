"""Layer: core. Payload parsing: raw bytes from a decoder or scanner → a typed ``Credential``.

``parse`` returns a Credential or raises ``PayloadError`` (with a Reason and the Kind the payload looked
like) — nothing else, for any input. Dispatch order follows payload-formats §0.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from kiosk.errors import PayloadError
from kiosk.model import Credential, Kind, Reason
from kiosk.payloads.bhyt import looks_like_bhyt, parse_bhyt
from kiosk.payloads.cccd import parse_cccd
from kiosk.payloads.location import is_location_code, is_url
from kiosk.payloads.qrqg import looks_like_qrqg, parse_qrqg
from kiosk.payloads.text import check_characters, to_text

if TYPE_CHECKING:
    from kiosk.payloads.trust import TrustList

__all__ = ["classify", "parse"]

_HC_PREFIX = re.compile(r"^HC[0-9A-Z]:")
_CCCD_HEAD = re.compile(r"^\d{9,13}$")


def classify(text: str) -> Kind:
    """What a clean payload text looks like (before any validation)."""
    if _HC_PREFIX.match(text):
        return Kind.DCC
    if is_location_code(text):
        return Kind.LOCATION
    if is_url(text):
        return Kind.UNKNOWN
    fields = text.split("|")
    if len(fields) >= 2:
        if looks_like_qrqg(fields):
            return Kind.QRQG
        if _CCCD_HEAD.match(fields[0]):
            return Kind.CCCD
        if looks_like_bhyt(fields):
            return Kind.BHYT
    return Kind.UNKNOWN


def parse(payload: bytes | str, *, now: datetime, trust: TrustList | None = None) -> Credential:
    """Parse and validate one payload at wall time ``now`` (DCCs are verified against ``trust``)."""
    if isinstance(payload, bytes) and payload.startswith(b"PK\x03\x04"):
        raise PayloadError(Reason.UNKNOWN_FORMAT, Kind.UNKNOWN, "DIVOC certificates are not supported")
    text = to_text(payload)
    kind = classify(text)
    if kind is Kind.DCC:
        from kiosk.payloads.dcc import verify_dcc  # noqa: PLC0415 - crypto stack loads only when needed
        from kiosk.payloads.trust import TrustList  # noqa: PLC0415

        return verify_dcc(text, trust if trust is not None else TrustList.empty(), now)
    check_characters(text, kind)
    if kind is Kind.LOCATION:
        raise PayloadError(Reason.LOCATION_CODE, Kind.LOCATION, "show your personal code")
    if kind is Kind.QRQG:
        return parse_qrqg(text, now)
    if kind is Kind.CCCD:
        return parse_cccd(text, now)
    if kind is Kind.BHYT:
        return parse_bhyt(text, now)
    raise PayloadError(Reason.UNKNOWN_FORMAT, Kind.UNKNOWN)
