"""Layer: server. The device API, version 1, at ``/api/v1/`` (docs/sync-protocol.md), with django-ninja.

Every error is ``{"error": code, "detail": text}``: the handlers below translate ninja's own exceptions and
the server's ``ApiError`` tree at this boundary. The views only validate, call ``server.province`` and shape
the answer; they are the only place (with the CLI) that reads the clock.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
from importlib import metadata
from typing import Any

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.responses import Status
from ninja.security import HttpBearer

from server.errors import ApiError, BatchTooLargeError, TokenError
from server.middleware import MAX_VISITS
from server.province import register
from server.province.configdoc import config_document, etag_matches
from server.province.ingest import store_batch
from server.province.models import Device, Heartbeat
from server.province.secret import sha256_hex
from server.schemas import (
    ConfigOut,
    DeviceOut,
    EnrolIn,
    EnrolOut,
    ErrorOut,
    HealthOut,
    HeartbeatIn,
    ServerTimeOut,
    VisitBatchIn,
    VisitBatchOut,
)

API_VERSION = 1
#: A token is 43 characters; anything far longer is not one of ours and is not worth hashing.
MAX_TOKEN_CHARS = 200

log = logging.getLogger("server.api")


def _server_version() -> str:
    try:
        return metadata.version("qr-gate-kiosk")
    except metadata.PackageNotFoundError:
        return "0.0.0"


class DeviceToken(HttpBearer):
    """``Authorization: Bearer <token>`` → the enrolled ``Device``, or a ``TokenError`` saying why not."""

    def __call__(self, request: HttpRequest) -> Device:
        header = request.headers.get(self.header, "")
        if not header.strip():
            raise TokenError(
                "token_missing", "no 'Authorization: Bearer <token>' header; enrol the kiosk first"
            )
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_CHARS:
            raise TokenError("token_invalid", "the Authorization header is not 'Bearer <token>'")
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str) -> Device:
        device: Device | None = (
            Device.objects.select_related("location").filter(token_hash=sha256_hex(token)).first()
        )
        if device is None:
            raise TokenError(
                "token_invalid", "this token is not known here; enrol the kiosk again with a new code"
            )
        if device.revoked_at is not None:
            raise TokenError(
                "token_revoked", "this device's token was revoked; enrol the kiosk again with a new code"
            )
        return device


api = NinjaAPI(
    title="QR gate kiosk provincial server",
    version=str(API_VERSION),
    description="The kiosk ↔ provincial server protocol, version 1 (docs/sync-protocol.md).",
    urls_namespace="api-v1",
    docs_url=None,
)
bearer = DeviceToken()


def _error(request: HttpRequest, status: int, error: str, detail: str, **extra: object) -> HttpResponse:
    return api.create_response(request, {"error": error, "detail": detail, **extra}, status=status)


def _is_upload(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.url_name == "visits"


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return api.create_response(request, exc.body(), status=exc.status)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """422 invalid_visit with the first bad visit's index for an upload; 400 bad_request elsewhere."""
    problems: list[tuple[int | None, str]] = []
    for err in exc.errors:
        loc = [str(part) for part in err.get("loc", ())[1:] if part != "batch"]
        if _is_upload(request) and loc == ["visits"] and err.get("type") == "too_long":
            return _api_error(request, BatchTooLargeError(f"{err.get('msg')}; send fewer visits", MAX_VISITS))
        index = next(
            (int(part) for before, part in itertools.pairwise(loc) if before == "visits" and part.isdigit()),
            None,
        )
        where = ".".join(loc) or "body"
        problems.append((index, f"{where}: {err.get('msg', 'invalid')}"))
    if not _is_upload(request):
        return _error(request, 400, "bad_request", "; ".join(p for _, p in problems[:3]) or "bad request")
    indexed = sorted((p for p in problems if p[0] is not None), key=lambda p: p[0] or 0)
    index, detail = indexed[0] if indexed else (problems[0] if problems else (None, "malformed body"))
    return _error(request, 422, "invalid_visit", detail, index=index)


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "token_invalid", "the request is not authenticated; enrol the kiosk again")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400 and _is_upload(request):
        return _error(
            request, 422, "invalid_visit", "the body is not a JSON object with 'visits'", index=None
        )
    codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 429: "rate_limited"}
    return _error(request, exc.status_code, codes.get(exc.status_code, "bad_request"), str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "no such resource")


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.error("unhandled error in %s", request.path, exc_info=exc)
    return _error(request, 500, "server_error", "the server failed; retry later")


@api.get("/health", response=HealthOut, summary="Reachability, version and server time", auth=None)
def health(request: HttpRequest) -> dict[str, Any]:
    return {"status": "ok", "version": _server_version(), "api": API_VERSION, "server_time": timezone.now()}


@api.post(
    "/enrol",
    response={201: EnrolOut, 400: ErrorOut, 403: ErrorOut},
    summary="Spend a one-time enrolment code for a device token",
    auth=None,
)
def enrol(request: HttpRequest, body: EnrolIn) -> Status[dict[str, Any]]:
    now = timezone.now()
    device, token = register.enrol(body.code, now=now)
    log.info("device enrolled", extra={"device_id": device.device_id, "location_code": device.location.code})
    return Status(
        201,
        {
            "device_id": device.device_id,
            "token": token,
            "location_code": device.location.code,
            "server_time": now,
        },
    )


@api.get("/device", response={200: DeviceOut, 401: ErrorOut}, summary="Is my token valid?", auth=bearer)
def device(request: HttpRequest) -> dict[str, Any]:
    me: Device = request.auth
    return {"device_id": me.device_id, "location_code": me.location.code, "server_time": timezone.now()}


@api.post(
    "/visits",
    response={200: VisitBatchOut, 401: ErrorOut, 403: ErrorOut, 413: ErrorOut, 422: ErrorOut},
    summary="Upload a batch of visits (idempotent per visit UUID)",
    auth=bearer,
    url_name="visits",
    exclude_none=True,
)
def visits(request: HttpRequest, batch: VisitBatchIn) -> dict[str, Any]:
    me: Device = request.auth
    result = store_batch(me, [v.model_dump() for v in batch.visits], now=timezone.now())
    upload = result.upload
    _die_after_commit_for_crash_tests(upload.pk)
    log.info(
        "visits uploaded",
        extra={
            "device_id": me.device_id,
            "count": upload.count,
            "stored": upload.stored,
            "duplicates": upload.duplicates,
            "conflicts": upload.conflicts,
        },
    )
    return {
        "received_at": result.received_at,
        "results": [{"uuid": r.uuid, "status": r.status, "detail": r.detail} for r in result.results],
    }


#: FOR THE CRASH TESTS ONLY (tests/test_sync_e2e.py); off unless this variable is set, never in production.
DIE_AFTER_COMMIT_ENV = "KIOSK_SERVER_TEST_DIE_AFTER_COMMIT"


def _die_after_commit_for_crash_tests(upload_pk: int) -> None:
    """The crash tests' "server killed between its commit and its reply". Does nothing unless
    ``KIOSK_SERVER_TEST_DIE_AFTER_COMMIT`` is set to upload numbers (``3`` or ``3,7``): when the upload batch
    just committed is one of them (its ``UploadLog`` id: the Nth accepted upload on this database, whichever
    worker took it), this gunicorn worker SIGKILLs itself before a byte of the reply is written. The client
    sees a dropped connection; gunicorn's master starts a new worker.
    """
    wanted = os.environ.get(DIE_AFTER_COMMIT_ENV, "").strip()
    if not wanted:
        return
    if str(upload_pk) in {part.strip() for part in wanted.split(",")}:
        log.warning("crash test: killing this worker after upload %s committed", upload_pk)
        os.kill(os.getpid(), signal.SIGKILL)


@api.post(
    "/heartbeat",
    response={200: ServerTimeOut, 400: ErrorOut, 401: ErrorOut},
    summary="Device health",
    auth=bearer,
)
def heartbeat(request: HttpRequest, beat: HeartbeatIn) -> dict[str, Any]:
    me: Device = request.auth
    now = timezone.now()
    with transaction.atomic():
        Heartbeat.objects.create(
            device=me,
            received_at=now,
            sent_at=beat.sent_at,
            clock_offset_s=(now - beat.sent_at).total_seconds(),
            payload=beat.model_dump(mode="json"),
        )
        fields: dict[str, Any] = {"last_seen_at": now}
        if beat.parked is not None:
            fields["parked_count"] = beat.parked
        Device.objects.filter(pk=me.pk).update(**fields)
    return {"server_time": now}


@api.get(
    "/config",
    response={200: ConfigOut, 304: None, 401: ErrorOut},
    summary="This device's configuration (ETag; If-None-Match gives 304)",
    auth=bearer,
)
def config(request: HttpRequest, response: HttpResponse) -> Status[Any]:
    me: Device = request.auth
    document = config_document(me.location)
    Device.objects.filter(pk=me.pk).update(last_seen_at=timezone.now())
    response["ETag"] = document["etag"]
    if etag_matches(request.headers.get("If-None-Match", ""), document["etag"]):
        return Status(304, None)
    return Status(200, document)
