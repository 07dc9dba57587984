"""Layer: server. The API's request and response bodies (django-ninja schemas), as docs/sync-protocol.md says.

Constraints sit on the fields. ``kind`` and ``reason`` accept any short lower-case token, so a kiosk with a
new reason code needs no server release; ``direction`` and ``outcome`` are the core's enums.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AwareDatetime, Field, PlainSerializer

from kiosk.model import Outcome, PolicyMode
from server.middleware import MAX_VISITS
from server.province.register import CODE_PATTERN

TOKEN_PATTERN = r"^[a-z0-9_]{1,40}$"
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

#: A reason or kind code: lower-case letters, digits and ``_``.
Token = Annotated[str, Field(pattern=TOKEN_PATTERN)]
#: A time as the protocol writes it: ISO 8601 with milliseconds and an offset.
Time = Annotated[datetime, PlainSerializer(lambda t: t.isoformat(timespec="milliseconds"), return_type=str)]
ShortText = Annotated[str, Field(max_length=200)]


class ErrorOut(Schema):
    error: str = Field(description="a stable machine code (docs/sync-protocol.md)")
    detail: str = Field(description="for people and logs; never personal data")


class HealthOut(Schema):
    status: Literal["ok"]
    version: str
    api: int
    server_time: Time


class EnrolIn(Schema):
    code: str = Field(min_length=1, max_length=40, description="the one-time code, e.g. ABCD-EFGH-JKMN")
    kiosk_version: str | None = Field(default=None, max_length=40)
    hostname: str | None = Field(default=None, max_length=100)


class EnrolOut(Schema):
    device_id: str
    token: str = Field(description="shown once; send as 'Authorization: Bearer <token>'")
    location_code: str
    server_time: Time


class DeviceOut(Schema):
    device_id: str
    location_code: str
    server_time: Time


class VisitIn(Schema):
    uuid: str = Field(pattern=UUID_PATTERN)
    seq: int = Field(ge=0, le=2**63 - 1, strict=True)
    device_id: str = Field(pattern=CODE_PATTERN)
    location_code: str = Field(pattern=CODE_PATTERN)
    kind: Token
    identity_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    identity_key_id: str | None = Field(default=None, max_length=64)
    id_number: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    direction: Literal["in", "out"]
    outcome: Outcome
    reason: Token
    wall_time: AwareDatetime
    clock_synchronised: bool = Field(strict=True)
    boot_id: str = Field(max_length=64)
    monotonic_s: float = Field(ge=0, allow_inf_nan=False)
    privacy_notice_version: str = Field(max_length=40)
    manual: bool = Field(default=False, strict=True)
    warnings: list[Annotated[str, Field(max_length=80)]] = Field(default_factory=list, max_length=20)
    guard: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=400)
    original_outcome: Outcome | None = None
    original_reason: Token | None = None
    overrides_uuid: str | None = Field(
        default=None,
        pattern=UUID_PATTERN,
        description="a guard override: the UUID of the refused visit it replaced (absent or null otherwise)",
    )


class VisitBatchIn(Schema):
    #: more is 413 batch_too_large (``server.api``), not 422: the kiosk halves its batch
    visits: list[VisitIn] = Field(max_length=MAX_VISITS)


class VisitResultOut(Schema):
    uuid: str
    status: Literal["stored", "duplicate", "conflict"]
    detail: str | None = None


class VisitBatchOut(Schema):
    received_at: Time
    results: list[VisitResultOut]


class LocationIn(Schema):
    code: str | None = Field(default=None, max_length=64)
    name: ShortText | None = None
    address: str | None = Field(default=None, max_length=300)
    district: ShortText | None = None


class HeartbeatIn(Schema):
    sent_at: AwareDatetime
    clock_synchronised: bool | None = None
    version: str | None = Field(default=None, max_length=40)
    camera_state: str | None = Field(default=None, max_length=40)
    frame_rate: float | None = Field(default=None, allow_inf_nan=False)
    decode_ms_p50: float | None = Field(default=None, allow_inf_nan=False)
    backlog: int | None = Field(default=None, ge=0)
    oldest_pending_at: AwareDatetime | None = None
    parked: int | None = Field(default=None, ge=0)
    disk_free_mb: float | None = Field(default=None, allow_inf_nan=False)
    location: LocationIn | None = None


class ServerTimeOut(Schema):
    server_time: Time


class LocationOut(Schema):
    code: str
    name: str
    address: str
    district: str


class PolicyOut(Schema):
    mode: PolicyMode
    repeat_window_s: int


class RetentionOut(Schema):
    days: int


class ForgetOut(Schema):
    key_id: str
    hash: str


class ConfigOut(Schema):
    etag: str = Field(description="the same quoted tag as the ETag header")
    location: LocationOut
    policy: PolicyOut
    retention: RetentionOut
    trust_list: dict[str, Any] | None
    deny_list: dict[str, Any] | None
    roster: dict[str, Any] | None
    forget: list[ForgetOut] = Field(
        default_factory=list,
        description="identity hashes of people deleted on a verified request: the kiosk deletes their visits",
    )
