"""A seeded, fault-injecting TCP proxy on loopback, for tests between a real sync client and a real server.

Each accepted TCP connection carries exactly one HTTP/1.1 exchange: the proxy reads the client's whole
request (headers, then a ``Content-Length`` or chunked body), decides one action, and forwards the request
with ``Connection: close`` so that the server closes after its one reply. The actions:

``pass``
    forward the request and relay the reply until the server closes.

Replies that are relayed (``pass``, ``truncate_reply``) get ``Connection: close`` in their head too, so the
client never puts the connection back in its pool.
``reset_before``
    reset the client connection (RST, ``SO_LINGER`` 0) without contacting the server.
``reset_after_request``
    forward the request, wait for the server's whole reply (so the server HAS handled it), then reset the
    client before any reply byte: the server committed, the reply is lost.
``truncate_reply``
    forward the request and relay only the first part of the reply (``FaultPlan.truncate_bytes``, or by
    default the headers and half the body), then close.
``stall``
    forward the request, then hold the reply for ``FaultPlan.stall_s`` seconds (longer than the client's
    read timeout) and close without sending anything.
``http_503``
    do not contact the server; answer ``503 Service Unavailable`` with ``Retry-After`` and a JSON body
    ``{"error": "unavailable", "detail": ...}``, ``Connection: close``.

The action sequence comes from ``random.Random(seed)``: one draw per request, in the order requests arrive
(so a client making one request at a time sees the same sequence for the same seed; ``planned_actions``
predicts it). ``FaultProxy.force`` queues actions for the next requests; forced actions take no draw, so the
seeded sequence resumes where it was afterwards.

Nothing hangs: every socket has a timeout, and ``close()`` shuts all sockets down and joins every thread.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

PASS = "pass"
RESET_BEFORE = "reset_before"
RESET_AFTER_REQUEST = "reset_after_request"
TRUNCATE_REPLY = "truncate_reply"
STALL = "stall"
HTTP_503 = "http_503"

# The faults, in the order a draw is matched against their probabilities; ``pass`` takes the rest.
FAULTS: tuple[str, ...] = (RESET_BEFORE, RESET_AFTER_REQUEST, TRUNCATE_REPLY, STALL, HTTP_503)
ACTIONS: tuple[str, ...] = (PASS, *FAULTS)

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
RECV_BYTES = 64 * 1024
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection"})


class RequestError(Exception):
    """The client's request could not be read (closed early, timed out, malformed)."""


@dataclass(frozen=True)
class FaultPlan:
    """The probability of each fault per request (``pass`` gets the remainder) and the faults' parameters.

    ``truncate_bytes``: how many reply bytes ``truncate_reply`` relays; ``None`` relays the headers and half
    the body (so a client reading a ``Content-Length`` body always sees it cut short).
    """

    reset_before: float = 0.0
    reset_after_request: float = 0.0
    truncate_reply: float = 0.0
    stall: float = 0.0
    http_503: float = 0.0
    stall_s: float = 3.0
    retry_after_s: int = 1
    truncate_bytes: int | None = None

    def __post_init__(self) -> None:
        probabilities = [getattr(self, fault) for fault in FAULTS]
        if any(not 0.0 <= p <= 1.0 for p in probabilities) or sum(probabilities) > 1.0 + 1e-9:
            raise ValueError(f"fault probabilities must be in [0, 1] and sum to at most 1: {self}")
        if self.stall_s < 0 or self.retry_after_s < 0:
            raise ValueError("stall_s and retry_after_s must not be negative")
        if self.truncate_bytes is not None and self.truncate_bytes < 0:
            raise ValueError("truncate_bytes must not be negative")

    def choose(self, rng: random.Random) -> str:
        """The action for one request: one ``rng.random()`` draw."""
        draw = rng.random()
        cumulative = 0.0
        for fault in FAULTS:
            cumulative += getattr(self, fault)
            if draw < cumulative:
                return fault
        return PASS


def planned_actions(seed: int, faults: FaultPlan, count: int) -> list[str]:
    """The first ``count`` actions a proxy with this seed and plan takes (when nothing is forced)."""
    rng = random.Random(seed)
    return [faults.choose(rng) for _ in range(count)]


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN: the peer sees ``ECONNRESET``."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _close_gracefully(sock: socket.socket) -> None:
    """FIN, then close (the request was read whole, so no unread data turns the close into a RST)."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
    sock.close()


class _Reader:
    """Buffered reads from a socket with a timeout; each failure is a ``RequestError``."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def fill(self) -> None:
        try:
            chunk = self.sock.recv(RECV_BYTES)
        except OSError as exc:  # includes TimeoutError
            raise RequestError(f"reading the request: {exc!r}") from exc
        if not chunk:
            raise RequestError("the client closed before the request was complete")
        self.buffer += chunk

    def until(self, marker: bytes, limit: int) -> bytes:
        while (end := self.buffer.find(marker)) < 0:
            if len(self.buffer) > limit:
                raise RequestError("request line or headers too long")
            self.fill()
        end += len(marker)
        data = bytes(self.buffer[:end])
        del self.buffer[:end]
        return data

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self.fill()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


def read_request(sock: socket.socket) -> bytes:
    """One whole HTTP/1.1 request from ``sock``, rewritten with ``Connection: close``.

    Returns b"" when the client closed without sending anything (an idle pooled connection).
    """
    reader = _Reader(sock)
    try:
        reader.fill()
    except RequestError:
        if not reader.buffer:
            return b""
        raise
    head = reader.until(b"\r\n\r\n", MAX_HEADER_BYTES)
    lines = head[:-4].split(b"\r\n")
    request_line, header_lines = lines[0], lines[1:]
    kept: list[bytes] = []
    content_length = 0
    chunked = False
    for line in header_lines:
        name, sep, value = line.partition(b":")
        if not sep:
            raise RequestError(f"malformed header line {line!r}")
        key = name.strip().lower()
        if key in HOP_BY_HOP:
            continue
        if key == b"content-length":
            try:
                content_length = int(value.strip())
            except ValueError as exc:
                raise RequestError(f"bad Content-Length {value!r}") from exc
            if not 0 <= content_length <= MAX_BODY_BYTES:
                raise RequestError(f"Content-Length out of range: {content_length}")
        if key == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        kept.append(line)
    if chunked:
        body = bytearray()
        while True:
            size_line = reader.until(b"\r\n", MAX_HEADER_BYTES)
            body += size_line
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise RequestError(f"bad chunk size {size_line!r}") from exc
            if size == 0:
                while (trailer := reader.until(b"\r\n", MAX_HEADER_BYTES)) != b"\r\n":
                    body += trailer
                body += b"\r\n"
                break
            if len(body) + size > MAX_BODY_BYTES:
                raise RequestError("chunked body too large")
            body += reader.exactly(size + 2)
    else:
        body = bytearray(reader.exactly(content_length))
    return b"\r\n".join([request_line, *kept, b"Connection: close", b"", b""]) + bytes(body)


def close_reply(reply: bytes) -> bytes:
    """``reply`` with its head's ``Connection``/``Keep-Alive`` headers replaced by ``Connection: close``, so
    that a client never returns the connection to its pool (the proxy closes it after this reply)."""
    end = reply.find(b"\r\n\r\n")
    if end < 0:
        return reply
    status, *headers = reply[:end].split(b"\r\n")
    kept = [h for h in headers if h.partition(b":")[0].strip().lower() not in HOP_BY_HOP]
    return b"\r\n".join([status, *kept, b"Connection: close"]) + reply[end:]


def _truncation_point(reply: bytes, truncate_bytes: int | None) -> int:
    if truncate_bytes is not None:
        return min(truncate_bytes, max(len(reply) - 1, 0))
    header_end = reply.find(b"\r\n\r\n")
    if header_end < 0:
        return len(reply) // 2
    body_start = header_end + 4
    body_length = len(reply) - body_start
    if body_length == 0:
        return header_end // 2  # no body to cut: cut the headers
    return body_start + body_length // 2


class FaultProxy:
    """A fault-injecting HTTP-over-TCP proxy on 127.0.0.1 in front of ``target_host:target_port``."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        seed: int,
        faults: FaultPlan | None = None,
        *,
        io_timeout_s: float = 10.0,
        connect_timeout_s: float = 3.0,
    ) -> None:
        self.target = (target_host, target_port)
        self.seed = seed
        self.faults = faults if faults is not None else FaultPlan()
        self.io_timeout_s = io_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._rng = random.Random(seed)
        self._forced: deque[str] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stats: dict[str, int] = dict.fromkeys(
            (*ACTIONS, "connections", "empty", "bad_request", "upstream_error"), 0
        )
        self._history: list[str] = []
        self._errors: list[BaseException] = []
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._closed = False
        self.port = 0

    # -- public API ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def stats(self) -> dict[str, int]:
        """A copy of the counters: each action; ``connections`` accepted; ``empty`` (closed with no
        request), ``bad_request`` (incomplete or malformed request), ``upstream_error`` (server refused or
        failed; the client was reset)."""
        with self._lock:
            return dict(self._stats)

    @property
    def history(self) -> list[str]:
        """The actions taken, in the order the requests were decided."""
        with self._lock:
            return list(self._history)

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected exceptions in handler threads (a bug in the proxy); tests may assert it is empty."""
        with self._lock:
            return list(self._errors)

    def force(self, actions: Iterable[str]) -> None:
        """Take these actions for the next requests, in order, before drawing from the seeded sequence."""
        actions = list(actions)
        unknown = [a for a in actions if a not in ACTIONS]
        if unknown:
            raise ValueError(f"unknown actions {unknown}; known: {ACTIONS}")
        with self._lock:
            self._forced.extend(actions)

    def set_faults(self, faults: FaultPlan) -> None:
        """Change the plan for the following requests (the seeded random stream continues)."""
        with self._lock:
            self.faults = faults

    def start(self) -> Self:
        if self._listener is not None:
            raise RuntimeError("already started")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._accept_thread = threading.Thread(target=self._accept_loop, name=f"faultproxy-{self.port}")
        self._accept_thread.daemon = True
        self._accept_thread.start()
        return self

    def close(self) -> None:
        """Stop accepting, shut every open connection down, join all threads. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        if self._accept_thread is not None:
            self._accept_thread.join(5.0)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
            threads = list(self._threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(5.0)
        stuck = [t.name for t in threads if t.is_alive()]
        if stuck or (self._accept_thread is not None and self._accept_thread.is_alive()):
            raise RuntimeError(f"fault proxy threads did not stop: {stuck}")

    def __enter__(self) -> Self:
        return self.start() if self._listener is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------------

    def _count(self, key: str) -> None:
        with self._lock:
            self._stats[key] += 1

    def _decide(self) -> str:
        with self._lock:
            action = self._forced.popleft() if self._forced else self.faults.choose(self._rng)
            self._history.append(action)
            self._stats[action] += 1
            return action

    def _track(self, sock: socket.socket) -> socket.socket:
        sock.settimeout(self.io_timeout_s)
        with self._lock:
            self._sockets.add(sock)
        return sock

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            self._count("connections")
            thread = threading.Thread(target=self._serve, args=(client,), name=f"faultproxy-conn-{self.port}")
            thread.daemon = True
            with self._lock:
                if self._stop.is_set():
                    client.close()
                    return
                self._threads = {t for t in self._threads if t.is_alive()}
                self._threads.add(thread)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        self._track(client)
        upstream: socket.socket | None = None
        try:
            try:
                request = read_request(client)
            except RequestError:
                self._count("bad_request")
                _reset(client)
                return
            if not request:
                self._count("empty")
                client.close()
                return
            action = self._decide()
            faults = self.faults
            if action == RESET_BEFORE:
                _reset(client)
                return
            if action == HTTP_503:
                client.sendall(self._503(faults))
                _close_gracefully(client)
                return
            try:
                upstream = self._track(socket.create_connection(self.target, timeout=self.connect_timeout_s))
                upstream.settimeout(self.io_timeout_s)
                upstream.sendall(request)
            except OSError:
                self._count("upstream_error")
                _reset(client)
                return
            if action == PASS:
                self._relay(upstream, client)
                _close_gracefully(client)
            elif action == RESET_AFTER_REQUEST:
                self._read_all(upstream)  # the server has handled the request and replied
                _reset(client)
            elif action == TRUNCATE_REPLY:
                reply = close_reply(self._read_all(upstream))
                client.sendall(reply[: _truncation_point(reply, faults.truncate_bytes)])
                _close_gracefully(client)
            elif action == STALL:
                started = time.monotonic()
                self._read_all(upstream)  # let the server finish cleanly; its reply is held, then dropped
                self._stop.wait(max(0.0, faults.stall_s - (time.monotonic() - started)))
                _close_gracefully(client)
        except OSError:
            # The client went away, a timeout, or close() shut the socket down: nothing to relay to.
            pass
        except Exception as exc:  # a bug in the proxy: recorded for the test, never raised in a thread
            with self._lock:
                self._errors.append(exc)
        finally:
            if upstream is not None:
                upstream.close()
                self._untrack(upstream)
            client.close()
            self._untrack(client)

    def _read_all(self, upstream: socket.socket) -> bytes:
        """The server's whole reply (it closes after one: the request said ``Connection: close``)."""
        reply = bytearray()
        with contextlib.suppress(OSError):
            while chunk := upstream.recv(RECV_BYTES):
                reply += chunk
        return bytes(reply)

    def _relay(self, upstream: socket.socket, client: socket.socket) -> None:
        """Stream the reply, its head rewritten with ``Connection: close``."""
        head = bytearray()
        while (end := head.find(b"\r\n\r\n")) < 0 and len(head) <= MAX_HEADER_BYTES:
            chunk = upstream.recv(RECV_BYTES)
            if not chunk:
                client.sendall(head)
                return
            head += chunk
        client.sendall(close_reply(bytes(head)) if end >= 0 else head)
        while chunk := upstream.recv(RECV_BYTES):
            client.sendall(chunk)

    @staticmethod
    def _503(faults: FaultPlan) -> bytes:
        body = json.dumps(
            {"error": "unavailable", "detail": "fault proxy: injected 503 Service Unavailable"}
        ).encode()
        head = (
            "HTTP/1.1 503 Service Unavailable\r\n"
            f"Retry-After: {faults.retry_after_s}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n"
            "\r\n"
        )
        return head.encode("ascii") + body
