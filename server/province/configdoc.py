"""Layer: server. A location's configuration document for its kiosks, and its ETag."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from server.province.models import Location


def config_document(location: Location) -> dict[str, Any]:
    """The document ``GET /api/v1/config`` answers, with ``etag`` = the quoted hash of everything else."""
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
        "roster": location.roster,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    etag = '"' + hashlib.sha256(text.encode("utf-8")).hexdigest() + '"'
    return {"etag": etag, **body}


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
