"""Layer: core. What both ends of the sync protocol (docs/sync-protocol.md) must agree on, written once: the
fields of an uploaded visit and the content hash that tells a retry (``duplicate``) from a different visit
with the same UUID (``conflict``). The kiosk's fake server and the provincial server both use it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["HASH_OMITS_NULL", "VISIT_FIELDS", "content_hash"]

#: The protocol's visit fields, in the order docs/sync-protocol.md lists them: what the content hash covers.
VISIT_FIELDS: Final = (
    "uuid",
    "seq",
    "device_id",
    "location_code",
    "kind",
    "identity_hash",
    "identity_key_id",
    "id_number",
    "name",
    "direction",
    "outcome",
    "reason",
    "wall_time",
    "clock_synchronised",
    "boot_id",
    "monotonic_s",
    "privacy_notice_version",
    "manual",
    "warnings",
    "guard",
    "note",
    "original_outcome",
    "original_reason",
    "overrides_uuid",
)
#: Fields added after version 1 of the protocol first shipped: an older kiosk leaves them out, and a null one
#: is left out of the hash, so a visit without them (absent or null) hashes exactly as it did before they
#: existed — an older kiosk's retry stays a duplicate.
HASH_OMITS_NULL: Final = frozenset({"overrides_uuid"})


def content_hash(visit: Mapping[str, Any]) -> str:
    """SHA-256 of the visit's canonical JSON: sorted keys, compact separators, UTF-8, a null field of
    ``HASH_OMITS_NULL`` left out. ``visit`` holds JSON values (``wall_time`` as UTC ISO text with microseconds)."""
    doc = {k: v for k, v in visit.items() if not (k in HASH_OMITS_NULL and v is None)}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
