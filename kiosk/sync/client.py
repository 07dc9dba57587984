"""Layer: core. The kiosk's client of the provincial server's API (``docs/sync-protocol.md``, version 1).

``ServerClient`` builds each request, sends it through a ``Transport`` (``kiosk.sync.transport``) with the
configured timeouts, and turns the answer into a typed value, or into an error of the ``SyncError`` tree
(``kiosk.errors``)::

    401            AuthError          stop uploading; enrol again
    403            ForbiddenError     not retried as is
    413            BatchTooLarge      halve the batch
    422            InvalidVisit       park the visit at ``index``, send the rest again
    400, 408, 429, 5xx, a malformed or truncated JSON reply
                   RetryableError     back-off; ``retry_after_s`` from ``Retry-After`` (seconds or an HTTP
                                      date, capped at an hour)
    anything else  ProtocolError

Visits go to the server in the protocol's JSON (``visit_json``). The bearer token is never logged.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Final

from kiosk.errors import (
    AuthError,
    BatchTooLarge,
    ForbiddenError,
    InvalidVisit,
    ProtocolError,
    RetryableError,
)
from kiosk.model import Visit
from kiosk.sync.backoff import MAX_RETRY_AFTER_S
from kiosk.sync.transport import HttpRequest, HttpResponse, Transport

log = logging.getLogger(__name__)

API_PREFIX: Final = "/api/v1"
_USER_AGENT: Final = "qr-gate-kiosk-sync"
_INDEX: Final = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Every request has both (seconds)."""

    connect_s: float = 5.0
    read_s: float = 30.0


class VisitStatus(StrEnum):
    """The server's answer for one uploaded visit."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class VisitResult:
    uuid: str
    status: VisitStatus
    detail: str = ""


@dataclass(frozen=True, slots=True)
class UploadResult:
    """The per-visit answer to one upload. Only UUIDs that were sent are kept; unknown statuses are dropped
    (those visits stay pending and are sent again)."""

    results: tuple[VisitResult, ...]
    received_at: str | None = None

    def uuids(self, *statuses: VisitStatus) -> list[str]:
        return [r.uuid for r in self.results if r.status in statuses]


@dataclass(frozen=True, slots=True)
class Health:
    status: str
    version: str
    api: int | None
    server_time: str | None


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    device_id: str
    location_code: str
    server_time: str | None


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What enrolment returned. ``repr`` hides the token."""

    device_id: str
    token: str = field(repr=False)
    location_code: str
    server_time: str | None


@dataclass(frozen=True, slots=True)
class ConfigResult:
    """A new device configuration and its ETag."""

    etag: str
    document: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class NotModified:
    """``304``: the configuration with this ETag is still current."""

    etag: str


def visit_json(visit: Visit) -> dict[str, Any]:
    """One visit in the protocol's upload form. Deterministic: a visit sent again has the same content (the
    server's content hash), so a retry is answered "duplicate", never "conflict"."""
    at = visit.at
    return {
        "uuid": visit.uuid,
        "seq": visit.seq,
        "device_id": visit.device_id,
        "location_code": visit.location_code,
        "kind": visit.kind.value,
        "identity_hash": visit.identity_hash,
        "identity_key_id": visit.identity_key_id,
        "id_number": visit.id_number,
        "name": visit.name,
        "direction": visit.direction.value,
        "outcome": visit.outcome.value,
        "reason": visit.reason.value,
        "wall_time": at.wall.astimezone(UTC).isoformat(timespec="microseconds"),
        "clock_synchronised": at.synchronised,
        "boot_id": at.boot_id,
        "monotonic_s": at.monotonic_s,
        "privacy_notice_version": visit.privacy_notice_version,
        "manual": visit.manual,
        "warnings": list(visit.warnings),
        "guard": visit.guard,
        "note": visit.note,
        "original_outcome": visit.original_outcome.value if visit.original_outcome else None,
        "original_reason": visit.original_reason.value if visit.original_reason else None,
        "overrides_uuid": visit.overrides,
    }


def api_base(server_url: str) -> str:
    """``https://host[/prefix]`` → ``https://host[/prefix]/api/v1`` (a URL already ending there is kept)."""
    base = server_url.rstrip("/")
    return base if base.endswith(API_PREFIX) else base + API_PREFIX


class ServerClient:
    """The server's API as methods. ``token`` None: only ``health`` and ``enrol`` work.

    ``wall`` (optional) gives the current time for a ``Retry-After`` HTTP date when the reply has no ``Date``
    header. Not thread-safe: one worker uses one client. ``close()`` closes the transport.
    """

    def __init__(
        self,
        base_url: str,
        transport: Transport,
        token: str | None,
        timeouts: Timeouts = Timeouts(),
        *,
        wall: Callable[[], datetime] | None = None,
    ) -> None:
        self.base_url = api_base(base_url)
        self._transport = transport
        self._token = token
        self._timeouts = timeouts
        self._wall = wall

    def __repr__(self) -> str:
        return f"ServerClient({self.base_url!r}, token={'***' if self._token else None})"

    # -- endpoints ----------------------------------------------------------------------------------

    def health(self) -> Health:
        body = self._json_object(self._call("GET", "/health", auth=False))
        return Health(
            status=str(body.get("status", "")),
            version=str(body.get("version", "")),
            api=body["api"] if isinstance(body.get("api"), int) else None,
            server_time=_opt_str(body.get("server_time")),
        )

    def enrol(self, code: str, *, kiosk_version: str, hostname: str) -> Enrolment:
        payload = {"code": code, "kiosk_version": kiosk_version, "hostname": hostname}
        body = self._json_object(self._call("POST", "/enrol", payload, auth=False, ok=(200, 201)))
        device_id, token, location = body.get("device_id"), body.get("token"), body.get("location_code")
        if (
            not (isinstance(device_id, str) and isinstance(token, str) and isinstance(location, str))
            or not token
        ):
            raise RetryableError("enrolment reply lacks device_id, token or location_code")
        return Enrolment(device_id, token, location, _opt_str(body.get("server_time")))

    def device(self) -> DeviceInfo:
        body = self._json_object(self._call("GET", "/device"))
        return DeviceInfo(
            str(body.get("device_id", "")),
            str(body.get("location_code", "")),
            _opt_str(body.get("server_time")),
        )

    def upload(self, visits: Sequence[Visit]) -> UploadResult:
        """Send one batch. Raises ``BatchTooLarge``, ``InvalidVisit``, and the rest of the tree."""
        sent = {v.uuid for v in visits}
        body = self._json_object(self._call("POST", "/visits", {"visits": [visit_json(v) for v in visits]}))
        raw = body.get("results")
        if not isinstance(raw, list):
            raise RetryableError("upload reply has no results list")
        results: list[VisitResult] = []
        for item in raw:
            if not isinstance(item, Mapping):
                continue
            uuid, status = item.get("uuid"), item.get("status")
            if uuid not in sent or status not in tuple(VisitStatus):
                log.warning("upload reply: ignoring an answer for %r with status %r", uuid, status)
                continue
            results.append(VisitResult(str(uuid), VisitStatus(str(status)), str(item.get("detail") or "")))
        return UploadResult(tuple(results), _opt_str(body.get("received_at")))

    def heartbeat(self, payload: Mapping[str, Any]) -> str | None:
        """Report device health; returns the server's time."""
        body = self._json_object(self._call("POST", "/heartbeat", payload))
        return _opt_str(body.get("server_time"))

    def config(self, etag: str | None) -> ConfigResult | NotModified:
        """The device configuration, or ``NotModified`` when ``etag`` is still current."""
        headers = {"If-None-Match": etag} if etag else {}
        reply = self._call("GET", "/config", headers=headers, ok=(200, 304))
        if reply.status == 304:
            return NotModified(etag or "")
        body = self._json_object(reply)
        tag = reply.header("ETag") or _opt_str(body.get("etag"))
        if not tag:
            raise RetryableError("configuration reply has no ETag")
        return ConfigResult(tag, body)

    def close(self) -> None:
        self._transport.close()

    # -- plumbing -----------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        payload: object = None,
        *,
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> HttpResponse:
        all_headers = {"Accept": "application/json", "User-Agent": _USER_AGENT, **(headers or {})}
        if auth:
            if not self._token:
                raise AuthError("no device token: enrol the kiosk first (kiosk enroll)", code="token_missing")
            all_headers["Authorization"] = f"Bearer {self._token}"
        body = None
        if payload is not None:
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        request = HttpRequest(method, self.base_url + path, all_headers, body)
        reply = self._transport.send(
            request, connect_timeout_s=self._timeouts.connect_s, read_timeout_s=self._timeouts.read_s
        )
        if reply.status in ok:
            return reply
        raise self._error(method, path, reply)

    def _error(self, method: str, path: str, reply: HttpResponse) -> Exception:
        status = reply.status
        code, detail, body = _error_body(reply)
        what = (
            f"{method} {API_PREFIX}{path}: {status}"
            + (f" {code}" if code else "")
            + (f": {detail}" if detail else "")
        )
        if status == 401:
            return AuthError(
                f"{what} — the token was refused; enrol the kiosk again", code=code, status=status
            )
        if status == 403:
            return ForbiddenError(what, code=code, status=status)
        if status == 413:
            limit = body.get("max_visits")
            return BatchTooLarge(what, max_visits=limit if isinstance(limit, int) and limit > 0 else None)
        if status == 422:
            index = body.get("index")
            if not isinstance(index, int):
                found = _INDEX.search(detail)
                index = int(found.group()) if found else None
            return InvalidVisit(what, index=index, detail=detail)
        if status in (400, 408, 429) or 500 <= status <= 599:
            return RetryableError(
                what,
                code=code,
                status=status,
                retry_after_s=retry_after_s(reply, self._wall() if self._wall else None),
            )
        return ProtocolError(what, code=code, status=status)

    @staticmethod
    def _json_object(reply: HttpResponse) -> dict[str, Any]:
        """The reply's JSON object; a malformed or truncated reply is retryable (the next try may be whole)."""
        try:
            body = json.loads(reply.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise RetryableError(
                f"the server's reply ({reply.status}, {len(reply.body)} bytes) is not valid JSON: "
                "truncated or malformed",
                status=reply.status,
            ) from exc
        if not isinstance(body, dict):
            raise RetryableError("the server's reply is not a JSON object", status=reply.status)
        return body


def retry_after_s(reply: HttpResponse, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds, capped at ``MAX_RETRY_AFTER_S``: a number, or an HTTP date measured against
    the reply's own ``Date`` (else ``now``, the caller's clock); None when absent or unreadable. The kiosk's
    client and the province's national forwarder both read it here."""
    text = (reply.header("Retry-After") or "").strip()
    if not text:
        return None
    seconds: float | None
    if text.isascii() and text.isdigit():
        seconds = float(text[:12])
    else:
        seconds = None
        when = _http_date(text)
        reference = _http_date(reply.header("Date") or "") or now
        if when is not None and reference is not None:
            seconds = (when - reference).total_seconds()
    if seconds is None or math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _error_body(reply: HttpResponse) -> tuple[str | None, str, dict[str, Any]]:
    """``(error code, detail, body)`` of an error reply; whatever the body holds, never an exception."""
    try:
        body = json.loads(reply.body.decode("utf-8")) if reply.body else {}
    except (UnicodeDecodeError, ValueError, RecursionError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = body.get("error")
    detail = body.get("detail")
    return (
        code[:64] if isinstance(code, str) else None,
        detail[:300] if isinstance(detail, str) else "",
        body,
    )


def _http_date(text: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None
