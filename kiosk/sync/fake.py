"""Layer: core (a fake shipped beside the real thing, for tests and demos). An in-memory provincial server.

``FakeServer`` is a function from ``HttpRequest`` to ``HttpResponse`` that speaks the protocol of
``docs/sync-protocol.md``: plug it into ``FunctionTransport(server)``. It stores visits idempotently on their
UUID with a content hash (same UUID and content: ``duplicate``; different content: ``conflict``), checks the
bearer token and the device, enforces the batch limit (413), refuses a visit whose fields are not exactly the
protocol's (422 with its index), answers heartbeats and serves a configuration with an ETag (304 when
unchanged).

Faults are injected per call and per path: ``server.fault("/visits", action)`` queues ``action(request,
handle)`` for the next request to that path; ``handle()`` is what the server would have done. Helpers make
the usual ones: ``reply(status, body)``, ``fail(exc)`` (nothing reaches the server) and ``lose_reply(exc)``
(the server stores, then the answer is lost).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from kiosk.sync.protocol import VISIT_FIELDS, content_hash
from kiosk.sync.transport import HttpRequest, HttpResponse

SERVER_TIME: Final = "2026-11-29T08:00:00.000+00:00"

Handle = Callable[[], HttpResponse]
Fault = Callable[[HttpRequest, Handle], HttpResponse]


def json_reply(status: int, body: object = None, headers: Mapping[str, str] | None = None) -> HttpResponse:
    data = b"" if body is None else json.dumps(body).encode("utf-8")
    return HttpResponse(status, {"Content-Type": "application/json", **(headers or {})}, data)


def reply(status: int, body: object = None, headers: Mapping[str, str] | None = None) -> Fault:
    """A fault: answer this instead (nothing is stored)."""
    return lambda _request, _handle: json_reply(status, body, headers)


def fail(exc: BaseException) -> Fault:
    """A fault: the request never reaches the server."""

    def action(_request: HttpRequest, _handle: Handle) -> HttpResponse:
        raise exc

    return action


def lose_reply(exc: BaseException) -> Fault:
    """A fault: the server handles the request (stores the visits), then the answer is lost."""

    def action(_request: HttpRequest, handle: Handle) -> HttpResponse:
        handle()
        raise exc

    return action


class FakeServer:
    """An in-memory server for one device. Call it with a request; look at ``stored``, ``requests``,
    ``heartbeats`` afterwards."""

    def __init__(
        self,
        *,
        token: str = "device-token-0123456789",
        device_id: str = "dev-1",
        location_code: str = "HUE-001",
        max_visits: int = 500,
        codes: tuple[str, ...] = ("ABCD-EFGH-JKLM",),
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self.token = token
        self.device_id = device_id
        self.location_code = location_code
        self.max_visits = max_visits
        self.codes = set(codes)
        self.config: dict[str, Any] = dict(config) if config is not None else default_config(location_code)
        #: uuid → content hash of what is kept
        self.stored: dict[str, str] = {}
        self.conflicting: list[dict[str, Any]] = []
        self.heartbeats: list[dict[str, Any]] = []
        self.requests: list[HttpRequest] = []
        self._faults: dict[str, list[Fault]] = {}

    def fault(self, path: str, *actions: Fault) -> None:
        """Queue ``actions`` for the next requests to ``path`` (e.g. ``"/visits"``), one per request."""
        self._faults.setdefault(path, []).extend(actions)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        path = request.url.split("/api/v1", 1)[-1].split("?", 1)[0]
        queue = self._faults.get(path)
        if queue:
            action = queue.pop(0)
            return action(request, lambda: self._handle(path, request))
        return self._handle(path, request)

    # -- the protocol ---------------------------------------------------------------------------------

    def _handle(self, path: str, request: HttpRequest) -> HttpResponse:
        if path == "/health" and request.method == "GET":
            return json_reply(200, {"status": "ok", "version": "0.1.0", "api": 1, "server_time": SERVER_TIME})
        if path == "/enrol" and request.method == "POST":
            body = _json(request)
            if not isinstance(body, dict) or body.get("code") not in self.codes:
                return json_reply(
                    403, _error("enrolment_code_invalid", "the code is used, expired or unknown")
                )
            self.codes.discard(body["code"])
            return json_reply(
                201,
                {
                    "device_id": self.device_id,
                    "token": self.token,
                    "location_code": self.location_code,
                    "server_time": SERVER_TIME,
                },
            )
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return json_reply(401, _error("token_invalid", "enrol the kiosk again"))
        if path == "/device" and request.method == "GET":
            return json_reply(
                200,
                {
                    "device_id": self.device_id,
                    "location_code": self.location_code,
                    "server_time": SERVER_TIME,
                },
            )
        if path == "/visits" and request.method == "POST":
            return self._visits(request)
        if path == "/heartbeat" and request.method == "POST":
            body = _json(request)
            if not isinstance(body, dict) or "sent_at" not in body:
                return json_reply(422, _error("invalid_heartbeat", "sent_at is required"))
            self.heartbeats.append(body)
            return json_reply(200, {"server_time": SERVER_TIME})
        if path == "/config" and request.method == "GET":
            etag = self.etag
            if request.headers.get("If-None-Match") == etag:
                return HttpResponse(304, {"ETag": etag}, b"")
            return json_reply(200, {"etag": etag, **self.config}, {"ETag": etag})
        return json_reply(404, _error("not_found", f"no {request.method} {path}"))

    @property
    def etag(self) -> str:
        return '"' + content_hash(self.config)[:16] + '"'

    def _visits(self, request: HttpRequest) -> HttpResponse:
        if request.body is not None and len(request.body) > 1024 * 1024:
            return json_reply(
                413, {**_error("batch_too_large", "at most 1 MiB"), "max_visits": self.max_visits}
            )
        body = _json(request)
        visits = body.get("visits") if isinstance(body, dict) else None
        if not isinstance(visits, list):
            return json_reply(422, _error("invalid_visit", "visits: a list is required"))
        if len(visits) > self.max_visits:
            detail = f"at most {self.max_visits} visits per request"
            return json_reply(413, {**_error("batch_too_large", detail), "max_visits": self.max_visits})
        for index, visit in enumerate(visits):
            if not isinstance(visit, dict) or set(visit) != set(VISIT_FIELDS):
                return json_reply(
                    422, _error("invalid_visit", f"visit {index}: the fields are not the protocol's")
                )
            if visit["device_id"] != self.device_id:
                return json_reply(403, _error("wrong_device", "every visit must name this device"))
        results = []
        for visit in visits:
            uuid, digest = visit["uuid"], content_hash(visit)
            kept = self.stored.get(uuid)
            if kept is None:
                self.stored[uuid] = digest
                results.append({"uuid": uuid, "status": "stored"})
            elif kept == digest:
                results.append({"uuid": uuid, "status": "duplicate"})
            else:
                self.conflicting.append(visit)
                detail = "a different visit with this UUID is already stored"
                results.append({"uuid": uuid, "status": "conflict", "detail": detail})
        return json_reply(200, {"received_at": SERVER_TIME, "results": results})


def default_config(location_code: str) -> dict[str, Any]:
    return {
        "location": {
            "code": location_code,
            "name": "UBND phường Vĩnh Ninh",
            "address": "",
            "district": "Huế",
        },
        "policy": {"mode": "log", "repeat_window_s": 30},
        "retention": {"days": 30},
        "trust_list": None,
        "deny_list": {"key_id": "hue-2026", "hashes": []},
        "roster": None,
    }


def _error(code: str, detail: str) -> dict[str, str]:
    return {"error": code, "detail": detail}


def _json(request: HttpRequest) -> object:
    try:
        return json.loads((request.body or b"").decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
