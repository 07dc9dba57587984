"""Layer: server. A location's configuration document for its kiosks, and its ETag.

``forget``: the identity hashes (with the key that made each) of the people whose data was deleted on a
verified request (``kiosk-server forget``) in the last ``location.retention_days + FORGET_MARGIN_DAYS`` days;
a kiosk deletes its own visits of them when it applies the document. A new request changes the ETag.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from server.province.models import DeletionRequest, Location

#: How long past the kiosks' own retention a deletion request stays in their configuration: a kiosk that was
#: offline meanwhile still learns of it when it comes back.
FORGET_MARGIN_DAYS = 30


def forget_list(location: Location, now: datetime) -> list[dict[str, str]]:
    """``[{"key_id", "hash"}]`` of the recent deletion requests, sorted (so the ETag is stable)."""
    since = now - timedelta(days=location.retention_days + FORGET_MARGIN_DAYS)
    pairs: set[tuple[str, str]] = set()
    for key_id, digest, counts in DeletionRequest.objects.filter(at__gte=since).values_list(
        "identity_key_id", "identity_hash", "counts"
    ):
        pairs.add((key_id, digest))
        also = counts.get("also_hashed_as") if isinstance(counts, dict) else None
        if isinstance(also, dict):  # the hashes under the keyring's older keys (server.province.retention)
            pairs.update((str(k), str(v)) for k, v in also.items())
    return [{"key_id": key_id, "hash": digest} for key_id, digest in sorted(pairs)]


def config_document(location: Location, now: datetime | None = None) -> dict[str, Any]:
    """The document ``GET /api/v1/config`` answers, with ``etag`` = the quoted hash of everything else."""
    if now is None:
        now = timezone.now()
    body: dict[str, Any] = {
        "location": {
            "code": location.code,
            "name": location.name,
            "address": location.address,
            "district": location.district,
        },
        "policy": {"mode": location.policy_mode, "repeat_window_s": location.repeat_window_s},
        "retention": {"days": location.retention_days},
        "trust_list": location.trust_list,
        "deny_list": location.deny_list,
        # The location's own roster, else its office's: rosters kept per office reach every kiosk of it.
        "roster": location.roster if location.roster is not None else _office_roster(location),
        "forget": forget_list(location, now),
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    etag = '"' + hashlib.sha256(text.encode("utf-8")).hexdigest() + '"'
    return {"etag": etag, **body}


def _office_roster(location: Location) -> Any:
    return location.office.roster if location.office_id is not None else None


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak tags compare equal, ``*`` matches any)."""
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        tag = tag.removeprefix("W/")
        if tag == etag:
            return True
    return False
