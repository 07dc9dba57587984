"""A stub of the national endpoint for the forwarder's tests (``server.province.forwarder`` documents the
contract): the standard library's ``ThreadingHTTPServer`` on 127.0.0.1 in a thread.

- Checks ``Authorization: Bearer <token>`` (401 otherwise, nothing stored).
- Answers ``413`` to a body longer than ``max_body_bytes``.
- Stores each record by its ``id`` idempotently: a record seen before is answered ``duplicate`` and counted
  in ``duplicates``; ``reject(record)`` returning a reason answers ``rejected`` (nothing stored).
- Records what it received: ``records`` (id → the first copy), ``received`` (every copy, in order),
  ``requests`` (status and record count of each request), and the ``Authorization`` values it saw.

``NationalStub(token).start()`` → ``.url``; ``close()`` stops and joins the thread (idempotent; a context
manager).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

Reject = Callable[[dict[str, Any]], str | None]


@dataclass(frozen=True)
class StubRequest:
    status: int
    records: int
    body_bytes: int


class NationalStub:
    def __init__(
        self, token: str, *, max_body_bytes: int = 8 * 1024 * 1024, reject: Reject | None = None
    ) -> None:
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.reject = reject
        self.records: dict[str, dict[str, Any]] = {}
        self.received: list[dict[str, Any]] = []
        self.requests: list[StubRequest] = []
        self.duplicates = 0
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stub first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/records"

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the stub first"
        return int(self._server.server_address[1])

    def count(self) -> int:
        with self.lock:
            return len(self.records)

    def start(self) -> Self:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test reads what the stub recorded instead

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, reply = stub.handle(self.headers.get("Authorization") or "", body)
                data = json.dumps(reply).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="national-stub", daemon=True)
        self._thread.start()
        return self

    def handle(self, authorization: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """One request: (status, JSON reply). Also usable directly (without HTTP)."""
        if authorization != f"Bearer {self.token}":
            return self._log(401, 0, body, {"error": "unauthorised"})
        if len(body) > self.max_body_bytes:
            return self._log(413, 0, body, {"error": "too_large", "max_bytes": self.max_body_bytes})
        try:
            records = json.loads(body.decode("utf-8"))["records"]
        except (UnicodeDecodeError, ValueError, KeyError, TypeError):
            return self._log(400, 0, body, {"error": "bad_request"})
        results: list[dict[str, Any]] = []
        with self.lock:
            for record in records:
                rid = record["id"]
                self.received.append(record)
                reason = self.reject(record) if self.reject is not None else None
                if reason is not None:
                    results.append({"id": rid, "status": "rejected", "reason": reason})
                elif rid in self.records:
                    self.duplicates += 1
                    results.append({"id": rid, "status": "duplicate"})
                else:
                    self.records[rid] = record
                    results.append({"id": rid, "status": "stored"})
        return self._log(200, len(records), body, {"results": results})

    def _log(self, status: int, count: int, body: bytes, reply: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append(StubRequest(status, count, len(body)))
        return status, reply

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
