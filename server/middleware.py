"""Layer: server. Two small middlewares for the API: the access log and the request body limit.

The body limit is checked from ``Content-Length`` before anything reads or parses the body, so a 50 MB upload
costs the server nothing; a body without a length (chunked) is read to at most the limit plus one byte.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from server.errors import BatchTooLargeError

#: The largest request body the API accepts (docs/sync-protocol.md).
MAX_BODY_BYTES = 1024 * 1024
#: The most visits one upload may carry (docs/sync-protocol.md).
PROTOCOL_MAX_VISITS = 500


def _max_visits() -> int:
    """``PROTOCOL_MAX_VISITS``, or less when ``KIOSK_SERVER_MAX_VISITS`` says so (read once at start-up).

    Only lowering is allowed: the end-to-end tests use it to make the kiosk split its batches on a 413.
    """
    text = os.environ.get("KIOSK_SERVER_MAX_VISITS", "").strip()
    if not text:
        return PROTOCOL_MAX_VISITS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= PROTOCOL_MAX_VISITS:
        raise ValueError(f"KIOSK_SERVER_MAX_VISITS must be from 1 to {PROTOCOL_MAX_VISITS}, not {text!r}")
    return value


MAX_VISITS = _max_visits()
API_PREFIX = "/api/"

access_log = logging.getLogger("server.access")


def error_response(status: int, error: str, detail: str, **extra: object) -> JsonResponse:
    """The protocol's error shape: ``{"error": code, "detail": text, …}``."""
    return JsonResponse({"error": error, "detail": detail, **extra}, status=status)


def too_large() -> JsonResponse:
    error = BatchTooLargeError(
        f"the request body is larger than {MAX_BODY_BYTES} bytes; send fewer visits per request", MAX_VISITS
    )
    return JsonResponse(error.body(), status=error.status)


class BodyLimitMiddleware:
    """Refuses an API request whose body is larger than ``MAX_BODY_BYTES`` with 413, unread."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            refusal = self._check(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    @staticmethod
    def _check(request: HttpRequest) -> HttpResponse | None:
        raw_length = request.META.get("CONTENT_LENGTH") or ""
        if raw_length:
            try:
                length = int(raw_length)
            except ValueError:
                return error_response(400, "bad_request", "the Content-Length header is not a number")
            if length < 0:
                return error_response(400, "bad_request", "the Content-Length header is negative")
            if length > MAX_BODY_BYTES:
                return too_large()
            return None
        stream = request.META.get("wsgi.input")
        if request.META.get("wsgi.input_terminated") and stream is not None:
            # A chunked body (gunicorn ends the stream for us): read no more than the limit plus one byte.
            body = stream.read(MAX_BODY_BYTES + 1)
            if len(body) > MAX_BODY_BYTES:
                return too_large()
            # Django reads a body only up to Content-Length, which this request lacks: hand it the bytes.
            request.META["CONTENT_LENGTH"] = str(len(body))
            request._stream = io.BytesIO(body)
        return None


class RequestLogMiddleware:
    """One JSON log line per API request: method, path, status, duration and the authenticated device.

    Never the body, the query string or any header (a token lives in ``Authorization``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        started = time.monotonic()
        response = self.get_response(request)
        device = getattr(request, "auth", None)
        extra: dict[str, object] = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "device_id": getattr(device, "device_id", None),
        }
        if response.status_code >= 400 and response.get("Content-Type", "").startswith("application/json"):
            with contextlib.suppress(ValueError, AttributeError):
                extra["error"] = json.loads(response.content).get("error")
        level = logging.WARNING if response.status_code >= 500 else logging.INFO
        access_log.log(level, "%s %s %s", request.method, request.path, response.status_code, extra=extra)
        return response
