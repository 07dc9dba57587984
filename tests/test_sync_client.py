"""The server client: requests as the protocol has them, answers mapped to typed results and errors; and the
real requests transport against a tiny local HTTP server (timeouts, no redirects, the reply size cap)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.errors import (
    AuthError,
    BatchTooLarge,
    ConnectFailed,
    ForbiddenError,
    InvalidVisit,
    ProtocolError,
    ReplyTooLarge,
    RetryableError,
    TlsFailed,
    TransportError,
)
from kiosk.sync.client import (
    ConfigResult,
    NotModified,
    ServerClient,
    Timeouts,
    VisitStatus,
    api_base,
    visit_json,
)
from kiosk.sync.fake import VISIT_FIELDS, FakeServer, json_reply
from kiosk.sync.transport import FunctionTransport, HttpRequest, HttpResponse, RequestsTransport
from tests.sync_support import T0, TOKEN, open_store, record, sync_config


def client_for(fn: object, token: str | None = TOKEN) -> tuple[ServerClient, FunctionTransport]:
    transport = FunctionTransport(fn)  # type: ignore[arg-type]
    return ServerClient(
        "https://province.example", transport, token, Timeouts(3.0, 20.0), wall=lambda: T0
    ), transport


def answering(status: int, body: object = None, headers: dict[str, str] | None = None) -> object:
    return lambda _request: json_reply(status, body, headers)


def test_visits_are_sent_with_the_protocol_field_names(tmp_path: Path) -> None:
    from kiosk.clock import FakeClock

    with open_store(sync_config(tmp_path)) as store:
        (visit,) = record(store, FakeClock(T0), 1)
    body = visit_json(visit)
    assert list(body) == list(VISIT_FIELDS)  # every field, in the protocol document's order
    assert body["wall_time"] == "2026-11-29T08:00:00.000000+00:00"
    assert body["kind"] == "unknown" and body["warnings"] == [] and body["clock_synchronised"] is True
    assert visit_json(visit) == body  # the same content every time: a retry is a duplicate


def test_upload_returns_per_uuid_status_and_ignores_strangers(tmp_path: Path) -> None:
    from kiosk.clock import FakeClock

    with open_store(sync_config(tmp_path)) as store:
        visits = record(store, FakeClock(T0), 2)
    body = {
        "received_at": "t",
        "results": [
            {"uuid": visits[0].uuid, "status": "stored"},
            {"uuid": visits[1].uuid, "status": "conflict", "detail": "different"},
            {"uuid": "not-sent", "status": "stored"},
            {"uuid": visits[0].uuid, "status": "weird"},
        ],
    }
    client, transport = client_for(answering(200, body))
    result = client.upload(visits)
    assert result.uuids(VisitStatus.STORED) == [visits[0].uuid]
    assert result.uuids(VisitStatus.CONFLICT) == [visits[1].uuid]
    assert transport.last_timeouts == (3.0, 20.0)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, {"error": "token_revoked", "detail": "enrol again"}, AuthError),
        (403, {"error": "wrong_device", "detail": "x"}, ForbiddenError),
        (404, {"error": "not_found", "detail": "x"}, ProtocolError),
        (302, None, ProtocolError),
        (400, {"error": "bad_request", "detail": "x"}, RetryableError),
        (408, None, RetryableError),
        (429, {"error": "rate_limited", "detail": "x"}, RetryableError),
        (500, "<html>oops</html>", RetryableError),
        (503, None, RetryableError),
    ],
)
def test_statuses_map_to_the_error_tree(status: int, body: object, error: type[Exception]) -> None:
    client, _ = client_for(answering(status, body))
    with pytest.raises(error) as err:
        client.device()
    if body and isinstance(body, dict):
        assert body["error"] in str(err.value)


def test_413_and_422_carry_the_limit_and_the_index() -> None:
    client, _ = client_for(answering(413, {"error": "batch_too_large", "detail": "x", "max_visits": 100}))
    with pytest.raises(BatchTooLarge) as too_large:
        client.upload([])
    assert too_large.value.max_visits == 100
    client, _ = client_for(answering(422, {"error": "invalid_visit", "detail": "visit 7: kind is unknown"}))
    with pytest.raises(InvalidVisit) as invalid:
        client.upload([])
    assert invalid.value.index == 7


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"Retry-After": "999999"}, 3600.0),  # capped
        ({"Retry-After": "Sun, 29 Nov 2026 08:02:00 GMT", "Date": "Sun, 29 Nov 2026 08:00:00 GMT"}, 120.0),
        ({"Retry-After": "Sun, 29 Nov 2026 08:05:00 GMT"}, 300.0),  # against the passed-in clock
        ({"Retry-After": "Sun, 29 Nov 2026 07:00:00 GMT"}, 0.0),  # in the past
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_in_seconds_or_as_a_date(headers: dict[str, str], seconds: float | None) -> None:
    client, _ = client_for(answering(503, {"error": "unavailable", "detail": "x"}, headers))
    with pytest.raises(RetryableError) as err:
        client.heartbeat({"sent_at": "t"})
    assert err.value.retry_after_s == seconds


@pytest.mark.parametrize("body", [b'{"results": [{"uuid": "a", "sta', b"", b"[1, 2]", b"\xff\xfe"])
def test_a_malformed_or_truncated_reply_is_retryable(body: bytes) -> None:
    client, _ = client_for(lambda _r: HttpResponse(200, {}, body))
    with pytest.raises(RetryableError, match="JSON"):
        client.upload([])


def test_config_etag_and_304() -> None:
    server = FakeServer(token=TOKEN)
    client, _ = client_for(server)
    first = client.config(None)
    assert isinstance(first, ConfigResult) and first.etag == server.etag
    assert first.document["retention"] == {"days": 30}
    assert client.config(first.etag) == NotModified(first.etag)
    assert server.requests[-1].headers["If-None-Match"] == first.etag


def test_enrol_health_and_device() -> None:
    server = FakeServer(token=TOKEN)
    client, _ = client_for(server, token=None)
    assert client.health().api == 1
    enrolment = client.enrol("ABCD-EFGH-JKLM", kiosk_version="0.1.0", hostname="gate-1")
    assert (enrolment.device_id, enrolment.location_code, enrolment.token) == ("dev-1", "HUE-001", TOKEN)
    assert TOKEN not in repr(enrolment)
    assert "Authorization" not in server.requests[-1].headers
    with pytest.raises(ForbiddenError, match="enrolment_code_invalid"):
        client.enrol("ABCD-EFGH-JKLM", kiosk_version="0.1.0", hostname="gate-1")  # one time only
    with pytest.raises(AuthError, match="kiosk enroll"):
        client.device()  # no token yet
    assert ServerClient("https://p.example", FunctionTransport(server), TOKEN).device().device_id == "dev-1"


def test_reprs_hide_the_token() -> None:
    request = HttpRequest("GET", "https://p.example/api/v1/device", {"Authorization": f"Bearer {TOKEN}"})
    assert TOKEN not in repr(request) and "Bearer ***" in repr(request)
    client, _ = client_for(FakeServer())
    assert TOKEN not in repr(client)


def test_api_base() -> None:
    assert api_base("https://p.example/") == "https://p.example/api/v1"
    assert api_base("https://p.example/kiosk/api/v1") == "https://p.example/kiosk/api/v1"


# -- the real transport ------------------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.endswith("/big"):
            body = b"x" * (5 * 1024 * 1024)
            self.send_response(200)
        elif self.path.endswith("/moved"):
            body = b""
            self.send_response(302)
            self.send_header("Location", "/api/v1/health")
        else:
            body = json.dumps({"status": "ok", "version": "0.1.0", "api": 1, "server_time": "t"}).encode()
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_requests_transport_reads_caps_and_does_not_follow_redirects(local_server: str) -> None:
    with RequestsTransport() as transport:
        ok = transport.send(
            HttpRequest("GET", f"{local_server}/api/v1/health"), connect_timeout_s=2, read_timeout_s=5
        )
        assert ok.status == 200 and json.loads(ok.body)["api"] == 1
        moved = transport.send(
            HttpRequest("GET", f"{local_server}/moved"), connect_timeout_s=2, read_timeout_s=5
        )
        assert moved.status == 302 and moved.header("location") == "/api/v1/health"
        with pytest.raises(ReplyTooLarge):
            transport.send(HttpRequest("GET", f"{local_server}/big"), connect_timeout_s=2, read_timeout_s=5)
    transport.close()  # idempotent


def test_requests_transport_connect_failure_and_missing_ca(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with RequestsTransport() as transport, pytest.raises(ConnectFailed):
        transport.send(HttpRequest("GET", f"http://127.0.0.1:{port}/"), connect_timeout_s=2, read_timeout_s=2)
    with pytest.raises(TlsFailed, match=r"sync\.ca_file"):
        RequestsTransport(tmp_path / "missing-ca.pem")


def test_a_connection_dropped_after_the_request_is_not_called_a_connect_failure() -> None:
    """The server took the request and vanished (it may have stored the visits): retried, and said as it is."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_once() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)

    thread = threading.Thread(target=serve_once)
    thread.start()
    try:
        with RequestsTransport() as transport, pytest.raises(TransportError) as err:
            transport.send(
                HttpRequest("POST", f"http://127.0.0.1:{port}/api/v1/visits", {}, b"{}"),
                connect_timeout_s=3,
                read_timeout_s=3,
            )
    finally:
        thread.join(5)
        listener.close()
    assert not isinstance(err.value, ConnectFailed)
    assert "dropped before the answer" in str(err.value)
