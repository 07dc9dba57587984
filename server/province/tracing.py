"""Layer: server. Contact tracing over the province's database, with the kiosk's rules (``kiosk.trace``).

``trace(identity, period, margin, locations)`` → ``TraceResult``: the person's visits in ``period`` at the
``locations`` an account may see, and everyone at the same location within ``margin`` of them. Times are
``Visit.event_time`` (the device's clock when it was synchronised, else the server's receive time), so an
unsynchronised kiosk's visits are placed where the server saw them arrive.

Two queries, whatever the period: the person's visits (by keyed hash: the ``identity_hash`` index, one
``(key id, hash)`` pair per key of the province's keyring; by name and birth year: the period on the
``event_time`` index with the ID number's birth-year digits compared in SQL, the folded name in Python),
then every window's contacts in one OR of ``(location, event_time range)`` terms on the
``(location, event_time)`` index, overlapping windows merged first.

The identity key is the province's (``province_keyring``: the key file named by
``KIOSK_SERVER_IDENTITY_KEY_FILE``, else the public demo key), read by the caller and passed in.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta
from functools import reduce
from operator import or_
from pathlib import Path
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Length, Substr

from kiosk.identity import DEMO_KEYRING, IdentityKeyring
from kiosk.model import Direction, Outcome
from kiosk.trace import (
    DEFAULT_MARGIN,
    Period,
    Subject,
    TraceResult,
    TraceVisit,
    build_result,
    check_margin,
    identity_hashes,
    merged_ranges,
    person_windows,
)
from server.province.models import Location, Visit

__all__ = ["DEFAULT_MARGIN", "KEY_FILE_ENV", "Period", "Subject", "TraceResult", "province_keyring", "trace"]

KEY_FILE_ENV = "KIOSK_SERVER_IDENTITY_KEY_FILE"
#: Ranges per contact query: an OR of more terms is split (SQLite binds at most 32,766 parameters).
_RANGES_PER_QUERY = 300
_FIELDS = (
    "uuid",
    "location__code",
    "location__name",
    "event_time",
    "direction",
    "outcome",
    "kind",
    "identity_hash",
    "identity_key_id",
    "id_number",
    "name",
)


def province_keyring(environ: Mapping[str, str] | None = None) -> IdentityKeyring:
    """The province's identity keys: the key file ``$KIOSK_SERVER_IDENTITY_KEY_FILE``, else the demo key."""
    env = os.environ if environ is None else environ
    path = env.get(KEY_FILE_ENV, "").strip()
    if not path:
        return DEMO_KEYRING
    return IdentityKeyring.from_file(Path(path), KEY_FILE_ENV)


def trace(
    identity: Subject,
    period: Period,
    margin: timedelta = DEFAULT_MARGIN,
    locations: QuerySet[Location] | None = None,
    *,
    keyring: IdentityKeyring | None = None,
) -> TraceResult:
    """Every visit of ``identity`` in ``period`` and its contacts, at ``locations`` only (None: all of them;
    pass ``server.web.scope.visible_locations(user)``). ``keyring`` defaults to ``province_keyring()``."""
    check_margin(margin)
    keys = keyring if keyring is not None else province_keyring()
    hashes = identity_hashes(identity, keys)
    visible = Visit.objects.filter(event_time__isnull=False)
    if locations is not None:
        visible = visible.filter(location__in=locations.values("pk"))
    in_period = visible.filter(event_time__gte=period.start, event_time__lt=period.end)
    if identity.by_id:
        person_rows = in_period.filter(
            reduce(or_, (Q(identity_key_id=key_id, identity_hash=digest) for key_id, digest in hashes))
        )
    else:
        person_rows = _birth_year_rows(in_period, identity.birth_year or 0)
    person = [v for v in _values(person_rows) if identity.matches(v, hashes)]
    candidates = list(_contact_candidates(visible, person, margin))
    return build_result(identity, period, margin, person, candidates, hashes)


def _birth_year_rows(rows: QuerySet[Visit], year: int) -> QuerySet[Visit]:
    """Visits whose 12-digit ID number encodes ``year`` (``kiosk.trace.birth_year_of``), compared in SQL."""
    century_digits = [str(2 * ((year - 1900) // 100)), str(2 * ((year - 1900) // 100) + 1)]
    return (
        rows.filter(id_number__isnull=False, name__isnull=False)
        .annotate(_len=Length("id_number"), _cs=Substr("id_number", 4, 1), _yy=Substr("id_number", 5, 2))
        .filter(_len=12, _cs__in=century_digits, _yy=f"{year % 100:02d}")
    )


def _contact_candidates(
    visible: QuerySet[Visit], person: list[TraceVisit], margin: timedelta
) -> Iterator[TraceVisit]:
    ranges = merged_ranges(person_windows(person, margin))
    if not ranges:
        return
    codes = {code for code, _, _ in ranges}
    ids = dict(Location.objects.filter(code__in=codes).values_list("code", "pk"))
    for start in range(0, len(ranges), _RANGES_PER_QUERY):
        chunk = ranges[start : start + _RANGES_PER_QUERY]
        terms = (Q(location_id=ids[code], event_time__gte=lo, event_time__lte=hi) for code, lo, hi in chunk)
        yield from _values(visible.filter(reduce(or_, terms)))


def _values(rows: QuerySet[Visit]) -> Iterable[TraceVisit]:
    for row in rows.order_by("event_time", "uuid").values(*_FIELDS).iterator(chunk_size=2000):
        yield _to_trace_visit(row)


def _to_trace_visit(row: dict[str, Any]) -> TraceVisit:
    return TraceVisit(
        uuid=row["uuid"],
        location=row["location__code"],
        location_name=row["location__name"],
        time=row["event_time"],
        direction=_enum(Direction, row["direction"], Direction.BOTH),
        outcome=_enum(Outcome, row["outcome"], Outcome.REFUSED),
        kind=row["kind"],
        identity_hash=row["identity_hash"],
        identity_key_id=row["identity_key_id"],
        id_number=row["id_number"],
        name=row["name"],
    )


def _enum(kind: Any, value: str, default: Any) -> Any:
    try:
        return kind(value)
    except ValueError:  # validated at upload; a future kiosk's new value shows as the neutral one
        return default
