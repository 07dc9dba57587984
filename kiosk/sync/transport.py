"""Layer: core (the one module of the core that talks to the network). The sync client's transport seam.

httpx's idea on ``requests``: the client builds an ``HttpRequest`` value and hands it to a ``Transport``,
which returns an ``HttpResponse`` value or raises a ``kiosk.errors.TransportError``:

- ``RequestsTransport(ca_file)``: the real one. TLS is verified against ``ca_file`` (or the system's CAs),
  never turned off; every request has an explicit ``(connect, read)`` timeout; urllib3 never retries (the
  outbox loop does, with back-off); redirects are not followed; at most ``max_reply_bytes`` of a reply are
  read.
- ``FunctionTransport(fn)``: a transport that is just a function from request to response, for tests and
  demos (shipped here, beside the real one).

The bearer token never appears in a ``repr`` or a log line: it shows as ``Bearer ***``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Final, Protocol, Self

from kiosk.errors import ConnectFailed, ReplyTooLarge, TimedOut, TlsFailed, TransportError

log = logging.getLogger(__name__)

#: The most of a reply any transport reads (the largest is a configuration with a trust list and roster).
MAX_REPLY_BYTES: Final = 4 * 1024 * 1024
_CHUNK: Final = 64 * 1024


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with the Authorization value replaced by ``Bearer ***`` (for reprs and logs)."""
    return {k: ("Bearer ***" if k.lower() == "authorization" else v) for k, v in headers.items()}


def _frozen(headers: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(headers))


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as the client means it. ``repr`` hides the bearer token."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", _frozen(self.headers))

    def __repr__(self) -> str:
        size = "no body" if self.body is None else f"{len(self.body)} bytes"
        return f"HttpRequest({self.method} {self.url}, headers={redact_headers(self.headers)!r}, {size})"


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """One reply: status, headers (looked up without regard to case with ``header``) and the body read."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", _frozen({k.lower(): v for k, v in self.headers.items()}))

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def __repr__(self) -> str:
        return f"HttpResponse({self.status}, {len(self.body)} bytes)"


class Transport(Protocol):
    """Sends one request and returns the reply, or raises ``TransportError`` (no HTTP answer at all)."""

    def send(
        self, request: HttpRequest, *, connect_timeout_s: float, read_timeout_s: float
    ) -> HttpResponse: ...

    def close(self) -> None: ...


class FunctionTransport:
    """A transport that is a function from request to response (tests, demos). The function may raise
    ``TransportError`` subclasses to play a network fault. Records the timeouts of the last request."""

    def __init__(self, fn: Callable[[HttpRequest], HttpResponse]) -> None:
        self._fn = fn
        self.last_timeouts: tuple[float, float] | None = None
        self.closed = False

    def send(self, request: HttpRequest, *, connect_timeout_s: float, read_timeout_s: float) -> HttpResponse:
        self.last_timeouts = (connect_timeout_s, read_timeout_s)
        return self._fn(request)

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class RequestsTransport:
    """The real transport: a ``requests.Session`` with TLS verified, no hidden retries, no redirects.

    ``ca_file``: the CA certificate(s) the server must verify against; None = the system's CAs. Verification
    is never turned off. Call ``close()`` (or use ``with``) to drop the pooled connections.
    """

    def __init__(self, ca_file: Path | None = None, *, max_reply_bytes: int = MAX_REPLY_BYTES) -> None:
        if ca_file is not None and not Path(ca_file).is_file():
            raise TlsFailed(f"the CA file {ca_file} does not exist (sync.ca_file)")
        self._verify: str | bool = str(ca_file) if ca_file is not None else True
        self._max_reply_bytes = max_reply_bytes
        # requests loads only when a real transport is made: the app's other commands never pay for it.
        import requests  # noqa: PLC0415
        from requests.adapters import HTTPAdapter  # noqa: PLC0415

        self._session = requests.Session()
        # Retries belong to the outbox loop (with back-off and Retry-After), not hidden in urllib3.
        adapter = HTTPAdapter(max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._closed = False

    def send(self, request: HttpRequest, *, connect_timeout_s: float, read_timeout_s: float) -> HttpResponse:
        import requests  # noqa: PLC0415 - loaded by __init__ already

        if self._closed:
            raise TransportError("the transport is closed")
        try:
            with self._session.request(
                request.method,
                request.url,
                headers=dict(request.headers),
                data=request.body,
                timeout=(connect_timeout_s, read_timeout_s),
                verify=self._verify,
                allow_redirects=False,
                stream=True,
            ) as reply:
                body = bytearray()
                for chunk in reply.iter_content(chunk_size=_CHUNK):
                    body += chunk
                    if len(body) > self._max_reply_bytes:
                        raise ReplyTooLarge(
                            f"{request.method} {request.url}: the reply is longer than "
                            f"{self._max_reply_bytes // 1024} KiB"
                        )
                status, headers = reply.status_code, dict(reply.headers)
        except requests.exceptions.SSLError as exc:
            raise TlsFailed(f"{request.method} {request.url}: TLS failed: {_first_line(exc)}") from exc
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout) as exc:
            raise TimedOut(f"{request.method} {request.url}: timed out ({_first_line(exc)})") from exc
        except requests.exceptions.ConnectionError as exc:
            if "Connection aborted" in str(exc):  # connected and sent, then the answer never came whole
                raise TransportError(
                    f"{request.method} {request.url}: the connection dropped before the answer: {_first_line(exc)}"
                ) from exc
            raise ConnectFailed(
                f"{request.method} {request.url}: cannot connect: {_first_line(exc)}"
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise TransportError(f"{request.method} {request.url}: {_first_line(exc)}") from exc
        except OSError as exc:
            raise TransportError(f"{request.method} {request.url}: {exc}") from exc
        log.debug("%s %s -> %d (%d bytes)", request.method, request.url, status, len(body))
        return HttpResponse(status, headers, bytes(body))

    def close(self) -> None:
        """Close the pooled connections. Idempotent."""
        if not self._closed:
            self._closed = True
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RequestsTransport(verify={self._verify!r})"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__
