"""The fault-injecting proxy (tests/faultproxy.py) in front of a tiny real HTTP server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.faultproxy import (
    ACTIONS,
    HTTP_503,
    PASS,
    RESET_AFTER_REQUEST,
    RESET_BEFORE,
    STALL,
    TRUNCATE_REPLY,
    FaultPlan,
    FaultProxy,
    close_reply,
    planned_actions,
    read_request,
)

PADDING = "x" * 2000  # a reply body long enough that a cut is visible


@dataclass
class Backend:
    host: str
    port: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    posts: list[bytes] = field(default_factory=list)
    connection_headers: list[str] = field(default_factory=list)

    def post_count(self) -> int:
        with self.lock:
            return len(self.posts)


def make_handler(backend: Backend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive unless the request says Connection: close

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with backend.lock:
                backend.posts.append(body)
                backend.connection_headers.append(self.headers.get("Connection", ""))
                count = len(backend.posts)
            self._reply({"count": count, "echo": body.decode(), "padding": PADDING})

        def do_GET(self) -> None:
            self._reply({"path": self.path})

        def _reply(self, payload: dict[str, object]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def backend() -> Iterator[Backend]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = Backend("127.0.0.1", server.server_address[1])
    server.RequestHandlerClass = make_handler(state)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def proxy(backend: Backend) -> Iterator[FaultProxy]:
    with FaultProxy(backend.host, backend.port, seed=1, faults=FaultPlan(stall_s=1.5, retry_after_s=7)) as p:
        yield p
        assert p.errors == []


def post(proxy: FaultProxy, body: str = "hello", timeout: float = 5.0) -> requests.Response:
    return requests.post(f"{proxy.url}/echo", data=body.encode(), timeout=timeout)


def test_pass_relays_the_request_and_the_reply(proxy: FaultProxy, backend: Backend) -> None:
    reply = post(proxy, "first")
    assert reply.status_code == 200
    assert reply.json()["echo"] == "first"
    assert reply.headers["Content-Length"] == str(len(reply.content))
    assert reply.headers["Connection"] == "close"  # the reply head says so too: never pooled
    assert backend.connection_headers == ["close"]  # forwarded with Connection: close
    assert proxy.stats[PASS] == 1
    assert proxy.stats["connections"] == 1


def test_keep_alive_sessions_get_one_exchange_per_connection(proxy: FaultProxy, backend: Backend) -> None:
    with requests.Session() as session:
        for i in range(5):
            assert session.post(f"{proxy.url}/echo", data=f"n{i}", timeout=5).json()["echo"] == f"n{i}"
        assert session.get(f"{proxy.url}/status?x=1", timeout=5).json() == {"path": "/status?x=1"}
    assert backend.post_count() == 5
    assert proxy.stats[PASS] == 6
    assert proxy.stats["connections"] == 6


def test_reset_before_resets_without_reaching_the_server(proxy: FaultProxy, backend: Backend) -> None:
    proxy.force([RESET_BEFORE])
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        post(proxy)
    assert "ConnectionResetError" in repr(caught.value)
    assert backend.post_count() == 0
    assert proxy.stats[RESET_BEFORE] == 1


def test_reset_after_request_loses_the_reply_of_a_handled_request(
    proxy: FaultProxy, backend: Backend
) -> None:
    proxy.force([RESET_AFTER_REQUEST])
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        post(proxy, "committed")
    assert "ConnectionResetError" in repr(caught.value)
    assert backend.posts == [b"committed"]  # the server DID receive and handle it
    assert post(proxy, "again").json()["count"] == 2  # the next connection passes


def test_truncate_reply_cuts_the_body_short(proxy: FaultProxy, backend: Backend) -> None:
    proxy.force([TRUNCATE_REPLY])
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        post(proxy)
    assert backend.post_count() == 1

    # Seen raw: complete headers, half the body, then EOF.
    proxy.force([TRUNCATE_REPLY])
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(
        next(ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length")).split(b":")[1]
    )
    assert 0 < len(body) < length
    assert proxy.stats[TRUNCATE_REPLY] == 2


def test_truncate_bytes_relays_exactly_that_many_bytes(backend: Backend) -> None:
    with FaultProxy(backend.host, backend.port, seed=0, faults=FaultPlan(truncate_bytes=10)) as proxy:
        proxy.force([TRUNCATE_REPLY])
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
    assert received == b"HTTP/1.1 2"


def test_stall_outlasts_the_client_read_timeout(proxy: FaultProxy, backend: Backend) -> None:
    proxy.force([STALL])
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        post(proxy, timeout=0.5)
    assert 0.4 < time.monotonic() - started < 1.5
    assert backend.post_count() == 1
    assert proxy.stats[STALL] == 1


def test_stall_ends_with_a_close_after_stall_s(backend: Backend) -> None:
    with FaultProxy(backend.host, backend.port, seed=0, faults=FaultPlan(stall_s=0.3)) as proxy:
        proxy.force([STALL])
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ConnectionError):
            post(proxy, timeout=5)
        assert 0.25 < time.monotonic() - started < 3


def test_http_503_answers_without_the_server(proxy: FaultProxy, backend: Backend) -> None:
    proxy.force([HTTP_503])
    reply = post(proxy)
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "7"
    assert reply.headers["Connection"] == "close"
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json()["error"] == "unavailable"
    assert reply.json()["detail"]
    assert backend.post_count() == 0


def _drive(proxy: FaultProxy, count: int) -> None:
    for i in range(count):
        with contextlib.suppress(requests.exceptions.RequestException):
            post(proxy, f"r{i}", timeout=2)


def test_the_same_seed_gives_the_same_action_sequence(backend: Backend) -> None:
    plan = FaultPlan(reset_before=0.2, reset_after_request=0.2, truncate_reply=0.15, http_503=0.15)
    expected = planned_actions(42, plan, 30)
    assert expected == planned_actions(42, plan, 30)
    assert expected != planned_actions(43, plan, 30)
    assert set(expected) == {PASS, RESET_BEFORE, RESET_AFTER_REQUEST, TRUNCATE_REPLY, HTTP_503}
    for _ in range(2):
        with FaultProxy(backend.host, backend.port, seed=42, faults=plan) as proxy:
            _drive(proxy, 30)
            assert proxy.history == expected
            stats = proxy.stats
            assert proxy.errors == []
        assert {a: stats[a] for a in ACTIONS} == {a: expected.count(a) for a in ACTIONS}
        assert stats["connections"] == 30


def test_forced_actions_come_first_then_the_seeded_sequence_resumes(backend: Backend) -> None:
    plan = FaultPlan(reset_before=0.3, http_503=0.3)
    with FaultProxy(backend.host, backend.port, seed=5, faults=plan) as proxy:
        proxy.force([HTTP_503, RESET_BEFORE, PASS])
        _drive(proxy, 8)
        assert proxy.history == [HTTP_503, RESET_BEFORE, PASS, *planned_actions(5, plan, 5)]
    with pytest.raises(ValueError, match="unknown"):
        proxy.force(["explode"])


def test_plan_validation() -> None:
    with pytest.raises(ValueError):
        FaultPlan(reset_before=0.6, http_503=0.6)
    with pytest.raises(ValueError):
        FaultPlan(stall=-0.1)
    assert planned_actions(1, FaultPlan(), 5) == [PASS] * 5
    assert planned_actions(1, FaultPlan(http_503=1.0), 5) == [HTTP_503] * 5


def test_an_idle_connection_takes_no_decision(proxy: FaultProxy) -> None:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5):
        pass
    deadline = time.monotonic() + 3
    while proxy.stats["empty"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proxy.stats["empty"] == 1
    assert proxy.history == []


def test_an_unreachable_server_resets_the_client() -> None:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        dead_port = spare.getsockname()[1]  # bound, never listening: connections are refused
        with FaultProxy("127.0.0.1", dead_port, seed=0) as proxy:
            with pytest.raises(requests.exceptions.ConnectionError):
                post(proxy)
            assert proxy.stats["upstream_error"] == 1


def test_read_request_rewrites_connection_and_reads_chunked_bodies() -> None:
    left, right = socket.socketpair()
    with left, right:
        right.settimeout(5)
        left.sendall(
            b"POST /x HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nKeep-Alive: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"
        )
        assert read_request(right) == (
            b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"
        )
        left.close()
        assert read_request(right) == b""


def test_close_reply_replaces_connection_headers() -> None:
    reply = (
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok"
    )
    assert close_reply(reply) == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    assert close_reply(b"HTTP/1.1 200") == b"HTTP/1.1 200"


def test_close_interrupts_stalls_and_half_sent_requests_and_joins(backend: Backend) -> None:
    proxy = FaultProxy(backend.host, backend.port, seed=0, faults=FaultPlan(stall=1.0, stall_s=30)).start()
    half = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    stalled = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    try:
        half.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly part")
        stalled.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        deadline = time.monotonic() + 3
        while proxy.stats[STALL] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proxy.stats[STALL] == 1
        started = time.monotonic()
        proxy.close()
        assert time.monotonic() - started < 2
        proxy.close()  # idempotent
        assert not [t for t in threading.enumerate() if t.name.startswith("faultproxy")]
        assert stalled.recv(10) == b""
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", proxy.port), timeout=1).close()
    finally:
        half.close()
        stalled.close()
