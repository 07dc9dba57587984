"""Layer: server. The national forwarder: the province's visits pushed onward to the national endpoint.

``kiosk-server forward [--once]`` drains the forwarder's outbox (``ForwardItem``: one row per stored visit,
written in the upload's own transaction by ``server.province.ingest``) to ``KIOSK_SERVER_FORWARD_URL``, with the
same guarantees as kiosk → province (docs/sync-protocol.md):

- **At least once, acknowledged per record.** Unsent, unparked items go in id order, in batches of
  ``KIOSK_SERVER_FORWARD_BATCH``. An item is marked sent only after the endpoint's answer names it
  ``stored`` or ``duplicate``; a kill at any moment loses nothing, it only sends some records again.
- **Exactly once from the endpoint's point of view** = at-least-once delivery + an idempotent endpoint: every
  record carries our visit UUID as ``id``, its idempotency key; the endpoint stores each ``id`` once and
  answers a repeat ``duplicate``.
- ``rejected`` records are **parked** with the endpoint's reason: never sent again, counted, shown.
- ``413`` halves the batch (down to one record; one refused alone is parked as too large).
- No answer, a truncated or malformed reply, ``408``, ``429``, ``5xx``: the cycle ends and the next attempt
  waits for capped exponential back-off with full jitter (``kiosk.sync.backoff``), at least ``Retry-After``.
  The back-off lives in ``ForwarderState``, so a restart neither forgets it nor hammers the endpoint.
  ``401``, ``403`` and any other answer: wait the cap (retrying soon cannot change it).
- Explicit connect and read timeouts on every request; TLS verified against ``KIOSK_SERVER_FORWARD_CA_FILE``
  (else the system's CAs), never turned off; plain ``http://`` only to a loopback address (tests, a local
  relay). The bearer token is read from ``KIOSK_SERVER_FORWARD_TOKEN_FILE`` and never logged.

The endpoint's contract (what a national system, or ``tests/national_stub.py``, implements)::

    POST <url>   Authorization: Bearer <token>   Content-Type: application/json
    {"records": [{"id": "<visit UUID>", "<national field>": <value>, ...}, ...]}
    → 200 {"results": [{"id": "<visit UUID>", "status": "stored" | "duplicate" | "rejected",
                        "reason": "<why, for rejected>"}]}
    → 413 when the body is too large; 408/429/5xx with an optional Retry-After

The field mapping (``KIOSK_SERVER_FORWARD_MAPPING``, a JSON file ``{"<national field>": "<our field>"}``;
``DEFAULT_MAPPING`` without it) names what each record carries; ``OUR_FIELDS`` lists what may be mapped.
``id`` is always the visit UUID and may not be mapped to anything else.
"""

# Django's modules load inside the functions: ``add_arguments`` runs before ``django.setup()``.
# ruff: noqa: PLC0415

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from kiosk.config import plain_http_allowed
from kiosk.errors import RetryableError, SyncError, TransportError
from kiosk.sync.backoff import Backoff, BackoffState
from kiosk.sync.client import retry_after_s
from kiosk.sync.transport import HttpRequest, HttpResponse, Transport
from server.errors import RegisterError

if TYPE_CHECKING:
    from server.province.models import ForwardItem

log = logging.getLogger(__name__)

#: The fields of a stored visit a mapping may name (``visit_fields`` builds them).
OUR_FIELDS: Final = (
    "uuid",
    "seq",
    "device_id",
    "location_code",
    "location_name",
    "district",
    "kiosk_location_code",
    "kind",
    "identity_hash",
    "identity_key_id",
    "id_number",
    "name",
    "direction",
    "outcome",
    "reason",
    "wall_time",
    "event_time",
    "received_at",
    "clock_synchronised",
    "manual",
    "privacy_notice_version",
    "guard",
    "note",
    "original_outcome",
    "original_reason",
    "overrides_uuid",
    "warnings",
)
#: National field name → our field, when ``KIOSK_SERVER_FORWARD_MAPPING`` names no file.
DEFAULT_MAPPING: Final[Mapping[str, str]] = MappingProxyType(
    {
        "location_code": "location_code",
        "location_name": "location_name",
        "district": "district",
        "device_id": "device_id",
        "checkin_time": "event_time",
        "direction": "direction",
        "credential_type": "kind",
        "id_number": "id_number",
        "full_name": "name",
        "identity_hash": "identity_hash",
        "identity_key_id": "identity_key_id",
        "result": "outcome",
        "clock_synchronised": "clock_synchronised",
        "received_at": "received_at",
    }
)
#: The idempotency key's field in every record: our visit UUID.
ID_FIELD: Final = "id"
STORED: Final = "stored"
DUPLICATE: Final = "duplicate"
REJECTED: Final = "rejected"
_MAX_ERROR_CHARS: Final = 300
_MAX_MAPPING_BYTES: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class ForwardSettings:
    """What the forwarder needs, read once from the environment (``from_environ``). ``token`` is never in a
    ``repr``."""

    url: str
    token: str = field(repr=False)
    ca_file: Path | None = None
    mapping: Mapping[str, str] = field(default_factory=lambda: DEFAULT_MAPPING)
    batch_size: int = 200
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 300.0
    #: how long the long-running command waits before looking at an empty outbox again
    idle_s: float = 10.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ForwardSettings:
        """The settings from ``KIOSK_SERVER_FORWARD_*``; a ``RegisterError`` naming the variable otherwise."""
        url = check_url(environ.get("KIOSK_SERVER_FORWARD_URL", "").strip())
        token = read_token(environ.get("KIOSK_SERVER_FORWARD_TOKEN_FILE", "").strip())
        ca_text = environ.get("KIOSK_SERVER_FORWARD_CA_FILE", "").strip()
        ca_file = Path(ca_text) if ca_text else None
        if ca_file is not None and not ca_file.is_file():
            raise RegisterError(f"KIOSK_SERVER_FORWARD_CA_FILE: {ca_text!r} is not a readable file")
        mapping_text = environ.get("KIOSK_SERVER_FORWARD_MAPPING", "").strip()
        mapping = load_mapping(Path(mapping_text)) if mapping_text else DEFAULT_MAPPING

        def number(name: str, default: float, low: float, high: float) -> float:
            text = environ.get(name, "").strip()
            if not text:
                return default
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not low <= value <= high:
                raise RegisterError(f"{name}: {text!r} is not a number from {low:g} to {high:g}")
            return value

        base = number("KIOSK_SERVER_FORWARD_BACKOFF_BASE_S", 1.0, 0.01, 3600.0)
        cap = number("KIOSK_SERVER_FORWARD_BACKOFF_CAP_S", 300.0, 0.01, 86400.0)
        if cap < base:
            raise RegisterError(
                f"KIOSK_SERVER_FORWARD_BACKOFF_CAP_S ({cap:g}) must not be less than the base ({base:g})"
            )
        return cls(
            url=url,
            token=token,
            ca_file=ca_file,
            mapping=mapping,
            batch_size=int(number("KIOSK_SERVER_FORWARD_BATCH", 200, 1, 5000)),
            connect_timeout_s=number("KIOSK_SERVER_FORWARD_CONNECT_TIMEOUT_S", 5.0, 0.1, 120.0),
            read_timeout_s=number("KIOSK_SERVER_FORWARD_READ_TIMEOUT_S", 30.0, 0.1, 600.0),
            backoff_base_s=base,
            backoff_cap_s=cap,
            idle_s=number("KIOSK_SERVER_FORWARD_IDLE_S", 10.0, 0.05, 3600.0),
        )


def check_url(url: str) -> str:
    """``url`` if it is ``https://``, or ``http://`` to this machine (``kiosk.config.plain_http_allowed``, the
    kiosks' rule too); else a ``RegisterError``."""
    name = "KIOSK_SERVER_FORWARD_URL"
    if not url:
        raise RegisterError(f"{name} is not set: the national endpoint's https:// URL")
    try:
        allowed = plain_http_allowed(url) and bool(urlsplit(url).hostname)
    except ValueError:
        allowed = False
    if not allowed:
        raise RegisterError(
            f"{name}: {url!r} must be an https:// URL (http:// only to 127.0.0.1 or localhost, for tests)"
        )
    return url


def read_token(path_text: str) -> str:
    """The bearer token from its file (one line); the error never shows the token."""
    name = "KIOSK_SERVER_FORWARD_TOKEN_FILE"
    if not path_text:
        raise RegisterError(f"{name} is not set: a file holding the national endpoint's bearer token")
    try:
        token = Path(path_text).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise RegisterError(f"{name}: cannot read {path_text!r}: {exc.__class__.__name__}") from exc
    if not token or not token.isprintable() or any(c.isspace() for c in token) or len(token) > 4096:
        raise RegisterError(f"{name}: {path_text!r} must hold one token of printable ASCII without spaces")
    return token


def load_mapping(path: Path) -> Mapping[str, str]:
    """A mapping file ``{"<national field>": "<our field>", ...}``, checked; a ``RegisterError`` naming the
    variable, the entry and what is accepted otherwise."""
    name = "KIOSK_SERVER_FORWARD_MAPPING"
    try:
        raw = path.read_bytes()[: _MAX_MAPPING_BYTES + 1]
        document = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise RegisterError(f"{name}: cannot read {str(path)!r}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise RegisterError(f"{name}: {str(path)!r} is not a JSON file: {exc}") from exc
    return check_mapping(document, where=f"{name} ({path})")


def check_mapping(document: object, *, where: str = "mapping") -> Mapping[str, str]:
    if not isinstance(document, dict) or not document:
        raise RegisterError(f'{where}: expected a JSON object {{"<national field>": "<our field>", ...}}')
    for national, ours in document.items():
        if not national or national == ID_FIELD:
            raise RegisterError(
                f"{where}: {national!r} cannot be mapped ({ID_FIELD!r} is always the visit UUID)"
            )
        if ours not in OUR_FIELDS:
            raise RegisterError(
                f"{where}: {national!r} → {ours!r} is not one of our fields: {', '.join(OUR_FIELDS)}"
            )
    return MappingProxyType(dict(document))


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="microseconds") if moment is not None else None


def visit_fields(item: ForwardItem) -> dict[str, Any]:
    """Our fields of the item's visit, as JSON values (times in UTC ISO 8601 with offset)."""
    visit = item.visit
    location = visit.location
    return {
        "uuid": visit.uuid,
        "seq": visit.seq,
        "device_id": visit.device.device_id,
        "location_code": location.code,
        "location_name": location.name,
        "district": location.district,
        "kiosk_location_code": visit.kiosk_location_code,
        "kind": visit.kind,
        "identity_hash": visit.identity_hash,
        "identity_key_id": visit.identity_key_id,
        "id_number": visit.id_number,
        "name": visit.name,
        "direction": visit.direction,
        "outcome": visit.outcome,
        "reason": visit.reason,
        "wall_time": _iso(visit.wall_time),
        "event_time": _iso(visit.event_time or visit.received_at),
        "received_at": _iso(visit.received_at),
        "clock_synchronised": visit.clock_synchronised,
        "manual": visit.manual,
        "privacy_notice_version": visit.privacy_notice_version,
        "guard": visit.guard,
        "note": visit.note,
        "original_outcome": visit.original_outcome,
        "original_reason": visit.original_reason,
        "overrides_uuid": visit.overrides_uuid,
        "warnings": list(visit.warnings or []),
    }


def national_record(item: ForwardItem, mapping: Mapping[str, str]) -> dict[str, Any]:
    """One record as the endpoint receives it: ``id`` (the visit UUID), then each mapped field."""
    ours = visit_fields(item)
    record: dict[str, Any] = {ID_FIELD: ours["uuid"]}
    for national, our_field in mapping.items():
        record[national] = ours[our_field]
    return record


# -- one cycle ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ForwardReport:
    """What one cycle did. ``attempted`` is False when the back-off said "not yet"."""

    attempted: bool = True
    contacted: bool = False
    sent: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    #: requests to be sent again: a 413 split, a retryable failure that ended the cycle
    retries: int = 0
    backlog: int = 0
    parked: int = 0
    error: str | None = None
    next_attempt_at: datetime | None = None

    @property
    def drained(self) -> bool:
        return self.attempted and self.error is None and self.backlog == 0

    def line(self) -> str:
        if not self.attempted:
            when = self.next_attempt_at.isoformat(timespec="seconds") if self.next_attempt_at else "soon"
            return f"forward: backing off until {when}; backlog {self.backlog}, parked {self.parked}"
        text = (
            f"forward: sent {self.sent}, stored {self.stored}, duplicates {self.duplicates}, "
            f"rejected {self.rejected}, retries {self.retries}; backlog {self.backlog}, parked {self.parked}"
        )
        if self.error:
            text += f"; error: {self.error}"
            if self.next_attempt_at is not None:
                text += f"; next attempt at {self.next_attempt_at.isoformat(timespec='seconds')}"
        return text


@dataclass
class _Counts:
    contacted: bool = False
    sent: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    retries: int = 0


class _TooLargeError(SyncError):
    """413: halve the batch."""


class Forwarder:
    """Drains ``ForwardItem`` through ``transport``. ``clock`` gives the wall time (back-off, acknowledgements),
    ``rng`` the jitter. Runs on the caller's thread; the caller owns and closes ``transport``."""

    def __init__(
        self,
        settings: ForwardSettings,
        transport: Transport,
        clock: Callable[[], datetime],
        rng: random.Random,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._clock = clock
        self._backoff = Backoff(settings.backoff_base_s, settings.backoff_cap_s, rng)
        self._stop: threading.Event | None = None

    # -- the persisted back-off ------------------------------------------------------------------------

    @staticmethod
    def _state_row() -> Any:
        from server.province.models import ForwarderState

        row, _ = ForwarderState.objects.get_or_create(pk=1)
        return row

    def saved_backoff(self) -> BackoffState:
        row = self._state_row()
        return BackoffState(int(row.attempt), row.next_attempt_at)

    def _save(self, backoff: BackoffState, *, success_at: datetime | None, error: str | None) -> None:
        from server.province.models import ForwarderState

        fields: dict[str, Any] = {
            "attempt": backoff.attempt,
            "next_attempt_at": backoff.next_attempt_at,
            "last_error": (error or "")[:_MAX_ERROR_CHARS],
        }
        if success_at is not None:
            fields["last_success_at"] = success_at
        self._state_row()  # exists
        ForwarderState.objects.filter(pk=1).update(**fields)

    # -- counts -----------------------------------------------------------------------------------------

    @staticmethod
    def backlog() -> int:
        from server.province.models import ForwardItem

        return int(ForwardItem.objects.filter(sent_at__isnull=True, parked_at__isnull=True).count())

    @staticmethod
    def parked() -> int:
        from server.province.models import ForwardItem

        return int(ForwardItem.objects.filter(parked_at__isnull=False).count())

    # -- the cycle ---------------------------------------------------------------------------------------

    def run_once(self, *, force: bool = False) -> ForwardReport:
        """One cycle: send every unsent, unparked item unless the back-off says "not yet" (``force`` ignores
        it). A network or endpoint problem is in the report; a database error is raised."""
        now = self._clock()
        saved = self.saved_backoff()
        if not force and saved.wait_s(now, longest_s=self._backoff.longest_s) > 0:
            return ForwardReport(
                attempted=False,
                backlog=self.backlog(),
                parked=self.parked(),
                next_attempt_at=saved.next_attempt_at,
            )
        counts = _Counts()
        error: str | None = None
        backoff = saved
        try:
            self._drain(counts)
            if counts.contacted:
                backoff = self._backoff.succeeded()
                self._save(backoff, success_at=self._clock(), error=None)
        except RetryableError as exc:
            counts.retries += 1
            error = str(exc)
            # Batches got through before the fault: the link works, so the back-off starts from its first
            # step again (as on the kiosk).
            previous = BackoffState() if counts.sent else saved
            backoff = self._backoff.failed(previous, self._clock(), exc.retry_after_s)
            self._save(backoff, success_at=None, error=error)
        except SyncError as exc:  # 401, 403, an unexpected answer: retrying soon cannot change it
            error = str(exc)
            backoff = self._backoff.gave_up(saved, self._clock())
            self._save(backoff, success_at=None, error=error)
        report = ForwardReport(
            attempted=True,
            contacted=counts.contacted,
            sent=counts.sent,
            stored=counts.stored,
            duplicates=counts.duplicates,
            rejected=counts.rejected,
            retries=counts.retries,
            backlog=self.backlog(),
            parked=self.parked(),
            error=error,
            next_attempt_at=backoff.next_attempt_at,
        )
        if error is not None:
            log.warning("%s", report.line())
        elif counts.contacted:
            log.info("%s", report.line())
        return report

    def _pending(self, limit: int) -> list[ForwardItem]:
        from server.province.models import ForwardItem

        return list(
            ForwardItem.objects.filter(sent_at__isnull=True, parked_at__isnull=True)
            .select_related("visit", "visit__device", "visit__location")
            .order_by("id")[:limit]
        )

    def _drain(self, counts: _Counts) -> None:
        from django.db.models import F

        from server.province.models import ForwardItem

        batch = self._settings.batch_size
        while not self._stopping():
            items = self._pending(batch)
            if not items:
                return
            counts.contacted = True
            ForwardItem.objects.filter(pk__in=[i.pk for i in items]).update(attempts=F("attempts") + 1)
            try:
                results = self._post([national_record(i, self._settings.mapping) for i in items])
            except _TooLargeError:
                counts.retries += 1
                if len(items) == 1:
                    self._park(items, "too_large: refused by the endpoint even alone")
                    counts.rejected += 1
                    continue
                batch = max(1, len(items) // 2)
                log.info("forward: a batch of %d records is too large; trying %d", len(items), batch)
                continue
            except RetryableError as exc:
                ForwardItem.objects.filter(pk__in=[i.pk for i in items]).update(
                    last_error=str(exc)[:_MAX_ERROR_CHARS]
                )
                raise
            counts.sent += len(items)
            by_uuid = {i.visit.uuid: i for i in items}
            now = self._clock()
            acknowledged: list[int] = []
            rejected: list[tuple[ForwardItem, str]] = []
            for result in results:
                item = by_uuid.pop(result[0], None)
                if item is None:
                    continue  # not ours, or named twice: only what we sent is acknowledged, once
                if result[1] == STORED:
                    counts.stored += 1
                    acknowledged.append(item.pk)
                elif result[1] == DUPLICATE:
                    counts.duplicates += 1
                    acknowledged.append(item.pk)
                else:
                    rejected.append((item, result[2]))
            # Only after the endpoint's answer: a kill before this line sends them again ("duplicate").
            ForwardItem.objects.filter(pk__in=acknowledged, sent_at__isnull=True).update(
                sent_at=now, last_error=""
            )
            for item, reason in rejected:
                self._park([item], f"rejected: {reason}")
            counts.rejected += len(rejected)
            if not acknowledged and not rejected:
                raise RetryableError(f"the endpoint answered none of the {len(items)} records sent")

    def _park(self, items: Sequence[ForwardItem], reason: str) -> None:
        from server.province.models import ForwardItem

        now = self._clock()
        ForwardItem.objects.filter(pk__in=[i.pk for i in items], parked_at__isnull=True).update(
            parked_at=now, last_error=reason[:_MAX_ERROR_CHARS]
        )
        for item in items:
            log.warning("forward: visit %s parked (never sent again): %s", item.visit.uuid, reason)

    # -- HTTP -------------------------------------------------------------------------------------------

    def _post(self, records: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
        """POST ``records``; the endpoint's ``(id, status, reason)`` per record it answered."""
        body = json.dumps({"records": records}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        request = HttpRequest(
            "POST",
            self._settings.url,
            {
                "Authorization": f"Bearer {self._settings.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            body,
        )
        reply = self._transport.send(
            request,
            connect_timeout_s=self._settings.connect_timeout_s,
            read_timeout_s=self._settings.read_timeout_s,
        )
        what = f"POST {self._settings.url}: {reply.status}"
        if reply.status == 413:
            raise _TooLargeError(what, status=413)
        if reply.status in (408, 429) or 500 <= reply.status <= 599:
            raise RetryableError(what, status=reply.status, retry_after_s=retry_after_s(reply, self._clock()))
        if reply.status != 200:
            raise SyncError(f"{what}: not retried before the back-off's cap", status=reply.status)
        return parse_results(reply)

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    # -- the loop ----------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> ForwardReport:
        """Cycles until ``stop`` is set (checked between batches too); waits with ``stop.wait``."""
        self._stop = stop
        report = ForwardReport(attempted=False)
        try:
            while not stop.is_set():
                report = self.run_once()
                if report.next_attempt_at is not None:
                    wait = self.saved_backoff().wait_s(self._clock(), longest_s=self._backoff.longest_s)
                elif report.backlog:
                    wait = 0.0  # stopped between batches, or more came in meanwhile
                else:
                    wait = self._settings.idle_s
                stop.wait(wait)
        finally:
            self._stop = None
        return report


def parse_results(reply: HttpResponse) -> list[tuple[str, str, str]]:
    """``{"results": [{"id", "status", "reason"?}]}`` → ``[(id, status, reason)]``; a reply that is not that
    shape is retryable (a truncated reply, a proxy's page)."""
    try:
        body = json.loads(reply.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RetryableError(
            f"the endpoint's reply ({reply.status}, {len(reply.body)} bytes) is not valid JSON: "
            "truncated or malformed",
            status=reply.status,
        ) from exc
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        raise RetryableError("the endpoint's reply has no results list", status=reply.status)
    out: list[tuple[str, str, str]] = []
    for entry in results:
        if not isinstance(entry, dict):
            continue
        rid, status = entry.get("id"), entry.get("status")
        if not isinstance(rid, str) or status not in (STORED, DUPLICATE, REJECTED):
            continue  # an answer we cannot read acknowledges nothing: the record is sent again
        reason = entry.get("reason") or entry.get("detail") or "no reason given"
        out.append((rid, str(status), str(reason)[:200]))
    return out


# -- the command ------------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.description = (
        "Push the province's visits to the national endpoint (KIOSK_SERVER_FORWARD_URL, "
        "KIOSK_SERVER_FORWARD_TOKEN_FILE, KIOSK_SERVER_FORWARD_CA_FILE, KIOSK_SERVER_FORWARD_MAPPING; "
        "see server/settings.py). Runs until stopped (SIGTERM) unless --once."
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="one pass over the outbox, ignoring the back-off; exit 0 when everything went, 1 otherwise",
    )


def run(args: argparse.Namespace) -> int:
    """``kiosk-server forward [--once]``: the composition root of the forwarder (environment, real clock)."""
    from kiosk.sync.transport import RequestsTransport

    settings = ForwardSettings.from_environ(os.environ)
    try:
        transport = RequestsTransport(settings.ca_file)
    except TransportError as exc:
        raise RegisterError(f"KIOSK_SERVER_FORWARD_CA_FILE: {exc}") from exc
    with transport:
        forwarder = Forwarder(settings, transport, lambda: datetime.now(UTC), random.Random())
        if args.once:
            report = forwarder.run_once(force=True)
            print(report.line())
            return 0 if report.drained else 1
        stop = threading.Event()

        def stopping(signum: int, _frame: object) -> None:
            log.info("forward: signal %d, stopping after this batch", signum)
            stop.set()

        signal.signal(signal.SIGTERM, stopping)
        signal.signal(signal.SIGINT, stopping)
        log.info("forward: forwarding to %s", settings.url)
        report = forwarder.run(stop)
        print(report.line())
    return 0
