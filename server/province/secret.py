"""Layer: server. Device tokens and one-time enrolment codes: made here, kept only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets

#: No 0/O, 1/I/L, so a code read aloud or typed from paper comes out right.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_GROUPS = 3
CODE_GROUP_LEN = 4


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A device token: 256 random bits, URL-safe. Shown once; the server keeps ``sha256_hex(token)``."""
    return secrets.token_urlsafe(32)


def new_enrolment_code() -> str:
    """``ABCD-EFGH-JKMN``: 12 characters from a 31-letter alphabet (about 59 bits)."""
    groups = (
        "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LEN)) for _ in range(CODE_GROUPS)
    )
    return "-".join(groups)


def enrolment_code_hash(code: str) -> str:
    """The hash of a code as typed: case, spaces and dashes do not matter."""
    normalised = "".join(ch for ch in code.upper() if ch not in " -\t")
    return sha256_hex("enrol:" + normalised)
