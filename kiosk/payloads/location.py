"""Layer: core. Premises (location) codes: a visitor showing one has the wrong code.

Recognised: URLs on the pandemic check-in platforms (PC-Covid, tokhaiyte, Hue-S) and this product's own
location code ``QRGATE:LOC:<code>`` (the code the scan screen shows). URLs are never opened.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

LOCATION_PREFIX = "QRGATE:LOC:"
_LOCATION_HOSTS = ("pccovid.gov.vn", "tokhaiyte.vn", "hue-s.vn", "hues.vn", "thuathienhue.gov.vn")
_URL = re.compile(r"(?i)^https?://")


def is_url(text: str) -> bool:
    return _URL.match(text) is not None


def is_location_code(text: str) -> bool:
    if text.startswith(LOCATION_PREFIX):
        return True
    if not is_url(text):
        return False
    try:
        host = (urlsplit(text).hostname or "").lower()
    except ValueError:
        return False
    return any(host == h or host.endswith("." + h) for h in _LOCATION_HOSTS)


def location_payload(code: str) -> str:
    """The text of this product's own location QR for a location code."""
    return LOCATION_PREFIX + code
