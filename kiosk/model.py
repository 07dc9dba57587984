"""Layer: core. Frozen value objects and enums that cross layers.

``Symbol`` (decoder output) → ``Credential`` (parser output) → ``Decision`` (policy output) → ``Visit``
(what the store recorded). No raw dicts or ORM rows leave the core; the UI and adapters see only these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

import numpy as np
import numpy.typing as npt

#: A grayscale image: 2-D uint8, what the camera hands over and the decoder reads.
Gray = npt.NDArray[np.uint8]
Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]


class Kind(StrEnum):
    """What a payload is."""

    CCCD = "cccd"
    QRQG = "qrqg"
    BHYT = "bhyt"
    DCC = "dcc"
    LOCATION = "location"
    UNKNOWN = "unknown"
    MANUAL = "manual"


class Reason(StrEnum):
    """Machine-readable reason codes. The UI translates them, the log prints them, the record stores them."""

    OK = "ok"
    # text-level refusals (any kind)
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NOT_UTF8 = "not_utf8"
    CONTROL_CHARS = "control_chars"
    FORMULA_NAME = "formula_name"
    # structure and semantics
    MALFORMED = "malformed"
    BAD_ID = "bad_id"
    BAD_DATE = "bad_date"
    BAD_SEX = "bad_sex"
    LOCATION_CODE = "location_code"
    UNKNOWN_FORMAT = "unknown_format"
    # EU DCC verification
    DCC_PREFIX = "dcc_prefix"
    DCC_BASE45 = "dcc_base45"
    DCC_COMPRESSION = "dcc_compression"
    DCC_CBOR = "dcc_cbor"
    DCC_UNKNOWN_KID = "dcc_unknown_kid"
    DCC_BAD_ALGORITHM = "dcc_bad_algorithm"
    DCC_SIGNATURE = "dcc_signature"
    DCC_NOT_YET_VALID = "dcc_not_yet_valid"
    DCC_EXPIRED = "dcc_expired"
    DCC_SIGNER_NOT_YET_VALID = "dcc_signer_not_yet_valid"  # the DSC's notBefore is after the clock or iat
    DCC_SIGNER_EXPIRED = "dcc_signer_expired"  # the DSC's notAfter is before the clock or iat
    DCC_KEY_USAGE = "dcc_key_usage"
    DCC_INVALID_CONTENT = "dcc_invalid_content"
    # access policy
    DENY_LIST = "deny_list"
    NOT_ON_ROSTER = "not_on_roster"
    HEALTH_CERT_REQUIRED = "health_cert_required"
    REPEAT = "repeat"
    # recording
    NOT_RECORDED = "not_recorded"
    OUT_OF_SERVICE = "out_of_service"
    # the guard (kiosk.guard): a visitor typed in by hand, a refusal the guard overrode
    MANUAL_ENTRY = "manual_entry"
    GUARD_OVERRIDE = "guard_override"


class Outcome(StrEnum):
    """What the gate does."""

    GRANTED = "granted"
    REFUSED = "refused"
    NEEDS_GUARD = "needs_guard"


class Direction(StrEnum):
    """Which way a gate counts visitors."""

    IN = "in"
    OUT = "out"
    BOTH = "both"


class PolicyMode(StrEnum):
    """Access policy modes (see ``kiosk.policy``)."""

    LOG = "log"
    HEALTH = "health"
    ALLOWLIST = "allowlist"


@dataclass(frozen=True, slots=True)
class Symbol:
    """One decoded QR symbol: text (UTF-8 decoded, lossless where possible), raw bytes and position."""

    text: str
    raw: bytes
    quad: Quad
    decoder: str = "zxing"


@dataclass(frozen=True, slots=True)
class Credential:
    """A parsed, validated identity or certificate. Holds only what the kiosk may keep or show.

    ``identity_key`` is the stable string whose keyed hash (``kiosk.identity``) deny lists, rosters, the
    repeat filter and the record use (``id:<12 digits>`` for a citizen ID wherever it appears, ``qid:…``,
    ``bhyt:…``, ``dcc:…``). The key itself is never stored.
    """

    kind: Kind
    identity_key: str
    id_number: str | None = None
    name: str | None = None
    birth_date: date | None = None  # used for checks only; never stored
    is_health_certificate: bool = False
    country: str | None = None
    certificate_type: str | None = None  # DCC: "v", "t" or "r"
    expires_at: datetime | None = None
    warnings: tuple[str, ...] = ()

    def masked_subject(self) -> dict[str, str]:
        """Fields safe to print or show on screen (``Nguyễn V. A``, ``••••1234``)."""
        out: dict[str, str] = {}
        if self.name:
            out["name"] = mask_name(self.name)
        if self.id_number:
            out["id"] = mask_id(self.id_number)
        if self.country:
            out["country"] = self.country
        if self.certificate_type:
            out["certificate_type"] = self.certificate_type
        if self.expires_at is not None:
            out["expires_at"] = self.expires_at.isoformat()
        return out


def mask_name(name: str) -> str:
    """``Nguyễn Văn An`` → ``Nguyễn V. A``: the family name in full, initials for the rest."""
    parts = name.split()
    if len(parts) <= 1:
        return name[:1] + "." if name else ""
    middle = [p[0] + "." for p in parts[1:-1]]
    return " ".join([parts[0], *middle, parts[-1][0]])


def mask_id(number: str) -> str:
    """Keep the last four characters only: ``046090001234`` → ``••••1234``."""
    return "••••" + number[-4:]


@dataclass(frozen=True, slots=True)
class Decision:
    """The access decision for one credential (or a refused payload)."""

    outcome: Outcome
    reason: Reason
    kind: Kind
    credential: Credential | None = None
    repeat: bool = False  # the same code again within the repeat window: not a second visit
    #: the credential's identity key hashed with the current identity key (``kiosk.identity``), and that
    #: key's id; None for a refused payload
    identity_hash: str | None = None
    identity_key_id: str | None = None


@dataclass(frozen=True, slots=True)
class ClockReading:
    """Everything the record keeps about when something happened (a Pi has no battery clock)."""

    wall: datetime  # timezone-aware
    synchronised: bool
    boot_id: str
    monotonic_s: float


@dataclass(frozen=True, slots=True)
class Visit:
    """One recorded visit, as stored. Minimised: never the address, the raw payload or health details."""

    uuid: str
    seq: int
    device_id: str
    location_code: str
    kind: Kind
    identity_hash: str | None
    id_number: str | None
    name: str | None
    direction: Direction
    outcome: Outcome
    reason: Reason
    at: ClockReading
    privacy_notice_version: str
    manual: bool = False
    uploaded: bool = False
    warnings: tuple[str, ...] = field(default=())
    #: which identity key made ``identity_hash`` (``"sha256"``: an unkeyed hash recorded before schema 3)
    identity_key_id: str | None = None
    #: who recorded a manual entry or an override (the guard's role or name, never a PIN); None otherwise
    guard: str | None = None
    #: the reason the guard gave for a manual entry or an override (cleaned, at most 200 characters)
    note: str | None = None
    #: the verdict an override replaced (``Reason.GUARD_OVERRIDE`` visits only)
    original_outcome: Outcome | None = None
    original_reason: Reason | None = None
    #: the UUID of the refused visit an override replaced (``Reason.GUARD_OVERRIDE`` visits only; a refusal is
    #: overridden at most once)
    overrides: str | None = None


class PinProblem(StrEnum):
    """Why a new guard or admin PIN was refused (``kiosk.errors.PinError.reason``); the UI translates it."""

    LENGTH = "pin_length"  # not 4 to 8 characters
    NOT_DIGITS = "pin_not_digits"  # only the ASCII digits 0-9
    TRIVIAL = "pin_trivial"  # one digit repeated, a run like 1234 or 9876, a pattern like 1212
    SAME_AS_OTHER_ROLE = "pin_same_as_other_role"  # the guard and admin PINs must differ
