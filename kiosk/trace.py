"""Layer: core. Contact tracing: which visits are one person's, and who was at the same place at the same time.

The province's server (``server.province.tracing``, over its database) and the kiosk (``kiosk trace``, over
its own record) ask the same question with the same rules, written once here:

- **Who.** A ``Subject`` is an ID number or a name with a birth year (``Subject.parse``). An ID number is
  matched by its keyed hash (``kiosk.identity``) under every key of the keyring, so visits hashed before a
  key rotation still match; the number itself is never compared. A name matches with case and accents
  folded (``Nguyễn`` = ``nguyen``, ``hòa`` = ``hoà``) and the birth year read from the visit's 12-digit
  citizen ID (``birth_year_of``); a visit without a number cannot match on a birth year and does not.
- **When.** Each of the person's visits opens a window of ``margin`` either side at its location; an entry
  followed by an exit at the same location (no other entry between, at most ``MAX_STAY`` apart) makes one
  window from entry − margin to exit + margin. Windows are instants, not days: one that straddles
  midnight finds contacts on both sides of it. Days are Vietnam's (``VIETNAM_TIME``).
- **Contacts.** Every other visit at the window's location with its time inside the window, grouped per
  contact (``contact_key``: the ID number, else the keyed hash, else the folded name) with the times they
  overlapped; visits with no identity at all (an unreadable code) are nobody to trace and are left out.

The caller supplies the visits as ``TraceVisit`` values: the server with the province's event time (the
device's clock when it was synchronised, else the server's receive time), the kiosk with its wall time.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Final

from kiosk.errors import UsageError
from kiosk.export import VIETNAM_TIME
from kiosk.guard import fold
from kiosk.identity import IdentityKeyring
from kiosk.model import Direction, Outcome, Visit, mask_id, mask_name

__all__ = [
    "COLUMNS",
    "DEFAULT_MARGIN",
    "MAX_MARGIN",
    "MAX_PERIOD_DAYS",
    "MAX_STAY",
    "Contact",
    "Period",
    "Subject",
    "TraceProblem",
    "TraceQueryError",
    "TraceResult",
    "TraceVisit",
    "Window",
    "WindowContacts",
    "birth_year_of",
    "build_result",
    "check_margin",
    "contact_key",
    "from_kiosk_visit",
    "identity_hashes",
    "merged_ranges",
    "person_windows",
    "result_rows",
    "trace_visits",
]

DEFAULT_MARGIN: Final = timedelta(minutes=15)
#: The widest margin a query may ask for: beyond a day "the same time" means nothing.
MAX_MARGIN: Final = timedelta(hours=24)
#: The longest period one query covers (an incubation period with room to spare).
MAX_PERIOD_DAYS: Final = 62
#: The longest stay an entry and an exit at one location are paired into: a later exit belongs to another
#: visit whose entry was not scanned.
MAX_STAY: Final = timedelta(hours=14)
CCCD_DIGITS: Final = 12


class TraceProblem(StrEnum):
    """Why a tracing question was refused (``TraceQueryError.reason``); the web form translates it."""

    NO_SUBJECT = "no_subject"  # neither an ID number nor a name and birth year
    BAD_ID = "bad_id"  # not 12 ASCII digits
    NO_BIRTH_YEAR = "no_birth_year"  # a name without a birth year (or the reverse)
    BAD_BIRTH_YEAR = "bad_birth_year"
    BAD_NAME = "bad_name"
    BAD_PERIOD = "bad_period"  # the last day before the first, or a period too long
    BAD_MARGIN = "bad_margin"


class TraceQueryError(UsageError):
    """A tracing question that cannot be asked; ``reason`` says why (a ``UsageError``: exit status 2)."""

    def __init__(self, reason: TraceProblem, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def birth_year_of(id_number: str | None) -> int | None:
    """The birth year a 12-digit citizen ID encodes, or None for anything else.

    Digits 1-3 are the province, digit 4 the century and sex (0/1: 1900s, 2/3: 2000s, 4/5: 2100s, ...: even
    for men, odd for women; Circular 07/2016/TT-BCA), digits 5-6 the last two digits of the year.
    """
    if (
        id_number is None
        or len(id_number) != CCCD_DIGITS
        or not (id_number.isascii() and id_number.isdigit())
    ):
        return None
    return 1900 + 100 * (int(id_number[3]) // 2) + int(id_number[4:6])


def _name_key(name: str) -> str:
    return fold(unicodedata.normalize("NFC", name))


@dataclass(frozen=True, slots=True)
class Subject:
    """The person a query is about: ``id_number``, or ``name`` with ``birth_year``. Build it with ``parse``."""

    id_number: str | None = None
    name: str | None = None
    birth_year: int | None = None

    @classmethod
    def parse(
        cls, id_number: str | None = None, name: str | None = None, birth_year: str | int | None = None
    ) -> Subject:
        """From what an officer typed: an ID number (spaces ignored) or a name and a birth year."""
        number = "".join((id_number or "").split())
        clean_name = " ".join(unicodedata.normalize("NFC", name or "").split())
        year_text = str(birth_year).strip() if birth_year is not None else ""
        if number:
            if len(number) != CCCD_DIGITS or not (number.isascii() and number.isdigit()):
                raise TraceQueryError(TraceProblem.BAD_ID, "an ID number is 12 digits (the citizen ID card)")
            return cls(id_number=number)
        if not clean_name and not year_text:
            raise TraceQueryError(TraceProblem.NO_SUBJECT, "give an ID number, or a name and a birth year")
        if not clean_name or not year_text:
            raise TraceQueryError(
                TraceProblem.NO_BIRTH_YEAR, "a name needs a birth year, and a birth year a name"
            )
        if len(clean_name) > 200 or not any(ch.isalpha() for ch in clean_name):
            raise TraceQueryError(
                TraceProblem.BAD_NAME, "the name must have letters and at most 200 characters"
            )
        if not (year_text.isascii() and year_text.isdigit() and 1900 <= int(year_text) <= 2299):
            raise TraceQueryError(TraceProblem.BAD_BIRTH_YEAR, "a birth year is four digits, e.g. 1990")
        return cls(name=clean_name, birth_year=int(year_text))

    @property
    def by_id(self) -> bool:
        return self.id_number is not None

    @property
    def identity_key(self) -> str | None:
        """``id:<12 digits>``: the identity key a citizen ID is hashed under (``kiosk.payloads.cccd``)."""
        return f"id:{self.id_number}" if self.id_number is not None else None

    def marker(self, keyring: IdentityKeyring) -> str:
        """What an audit entry or a file name may say about the subject: the keyed hash, never the number or
        the name (``<key id>:<hash>``, or ``name+year``)."""
        key = self.identity_key
        if key is None:
            return "name+year"
        return f"{keyring.current.key_id}:{keyring.hash(key)}"

    def masked(self) -> str:
        if self.id_number is not None:
            return mask_id(self.id_number)
        return f"{mask_name(self.name or '')} ({self.birth_year})"

    def full(self) -> str:
        if self.id_number is not None:
            return self.id_number
        return f"{self.name} ({self.birth_year})"

    def matches(self, visit: TraceVisit, hashes: frozenset[tuple[str, str]]) -> bool:
        """Whether ``visit`` is this person's: by keyed hash (``hashes`` from ``identity_hashes``) for an ID
        number; by folded name and the birth year in the visit's ID number otherwise."""
        if self.id_number is not None:
            return (visit.identity_key_id or "", visit.identity_hash or "") in hashes
        if visit.name is None or self.name is None:
            return False
        return birth_year_of(visit.id_number) == self.birth_year and _name_key(visit.name) == _name_key(
            self.name
        )


def identity_hashes(subject: Subject, keyring: IdentityKeyring) -> frozenset[tuple[str, str]]:
    """(key id, hash) of the subject's identity key under every key of ``keyring`` (empty for a name)."""
    key = subject.identity_key
    if key is None:
        return frozenset()
    return frozenset((k.key_id, k.hash(key)) for k in keyring.keys)


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days ``first`` to ``last`` (inclusive), Vietnam time."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise TraceQueryError(TraceProblem.BAD_PERIOD, "the last day is before the first")
        if (self.last - self.first).days + 1 > MAX_PERIOD_DAYS:
            raise TraceQueryError(TraceProblem.BAD_PERIOD, f"a period is at most {MAX_PERIOD_DAYS} days")

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, VIETNAM_TIME)

    @property
    def end(self) -> datetime:
        """The first instant after the period (midnight after ``last``)."""
        return datetime.combine(self.last + timedelta(days=1), time.min, VIETNAM_TIME)

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end


def check_margin(margin: timedelta) -> timedelta:
    if not timedelta(0) <= margin <= MAX_MARGIN:
        raise TraceQueryError(TraceProblem.BAD_MARGIN, "the margin is 0 to 1440 minutes")
    return margin


@dataclass(frozen=True, slots=True)
class TraceVisit:
    """One visit as tracing sees it: where, when (the time the caller trusts), which way, who."""

    uuid: str
    location: str  # the location's code
    time: datetime  # timezone-aware
    direction: Direction
    outcome: Outcome
    kind: str
    identity_hash: str | None
    identity_key_id: str | None
    id_number: str | None
    name: str | None
    location_name: str = ""
    #: the time is the device's clock while it was not synchronised (kiosk records only: the server uses its
    #: receive time then)
    clock_unsynchronised: bool = False

    @property
    def day(self) -> date:
        return self.time.astimezone(VIETNAM_TIME).date()

    @property
    def local_time(self) -> datetime:
        return self.time.astimezone(VIETNAM_TIME)


def contact_key(visit: TraceVisit) -> str | None:
    """Who a visit is, for grouping contacts: the ID number, else the keyed hash, else the folded name;
    None for a visit with no identity (an unreadable or refused code)."""
    if visit.id_number:
        return f"id:{visit.id_number}"
    if visit.identity_hash:
        return f"hash:{visit.identity_key_id}:{visit.identity_hash}"
    if visit.name and _name_key(visit.name):
        return f"name:{_name_key(visit.name)}"
    return None


@dataclass(frozen=True, slots=True)
class Window:
    """Where and when the person was: ``visits`` (an entry and its exit, or one visit) widened by the margin."""

    location: str
    location_name: str
    start: datetime
    end: datetime
    visits: tuple[TraceVisit, ...]

    def covers(self, visit: TraceVisit) -> bool:
        return visit.location == self.location and self.start <= visit.time <= self.end


def person_windows(visits: Iterable[TraceVisit], margin: timedelta) -> tuple[Window, ...]:
    """The windows of the person's ``visits`` (see the module docstring), in time order."""
    by_location: dict[str, list[TraceVisit]] = {}
    for visit in visits:
        by_location.setdefault(visit.location, []).append(visit)
    windows: list[Window] = []
    for location, located in by_location.items():
        located.sort(key=lambda v: (v.time, v.uuid))
        i = 0
        while i < len(located):
            visit = located[i]
            after = located[i + 1] if i + 1 < len(located) else None
            if (
                visit.direction is Direction.IN
                and after is not None
                and after.direction is Direction.OUT
                and after.time - visit.time <= MAX_STAY
            ):
                group: tuple[TraceVisit, ...] = (visit, after)
                i += 2
            else:
                group = (visit,)
                i += 1
            windows.append(
                Window(location, visit.location_name, group[0].time - margin, group[-1].time + margin, group)
            )
    windows.sort(key=lambda w: (w.start, w.location))
    return tuple(windows)


def merged_ranges(windows: Iterable[Window]) -> list[tuple[str, datetime, datetime]]:
    """(location, start, end) covering every window, overlapping ones merged: what to ask a database for."""
    ranges: list[tuple[str, datetime, datetime]] = []
    for w in sorted(windows, key=lambda w: (w.location, w.start)):
        if ranges and ranges[-1][0] == w.location and w.start <= ranges[-1][2]:
            last = ranges[-1]
            ranges[-1] = (last[0], last[1], max(last[2], w.end))
        else:
            ranges.append((w.location, w.start, w.end))
    return ranges


@dataclass(frozen=True, slots=True)
class Contact:
    """Someone at the same place and time: who (from their latest overlapping visit) and those visits."""

    key: str
    id_number: str | None
    name: str | None
    identity_hash: str | None
    visits: tuple[TraceVisit, ...]

    def shown(self, *, full: bool) -> tuple[str, str]:
        """(ID number, name), full or masked (``••••1234``, ``Nguyễn V. A``)."""
        if full:
            return self.id_number or "", self.name or ""
        return (mask_id(self.id_number) if self.id_number else ""), (
            mask_name(self.name) if self.name else ""
        )


def _contacts(visits: Iterable[TraceVisit]) -> tuple[Contact, ...]:
    grouped: dict[str, list[TraceVisit]] = {}
    for visit in visits:
        key = contact_key(visit)
        if key is not None:
            grouped.setdefault(key, []).append(visit)
    contacts = []
    for key, group in grouped.items():
        group.sort(key=lambda v: (v.time, v.uuid))
        named = next((v for v in reversed(group) if v.name or v.id_number), group[-1])
        contacts.append(
            Contact(key, named.id_number, named.name, named.identity_hash, tuple(dict.fromkeys(group)))
        )
    contacts.sort(key=lambda c: (c.visits[0].time, c.key))
    return tuple(contacts)


@dataclass(frozen=True, slots=True)
class WindowContacts:
    window: Window
    contacts: tuple[Contact, ...]


@dataclass(frozen=True, slots=True)
class TraceResult:
    """The answer: the person's visits in the period, each window with its contacts, and every contact once."""

    subject: Subject
    period: Period
    margin: timedelta
    visits: tuple[TraceVisit, ...]
    windows: tuple[WindowContacts, ...]
    contacts: tuple[Contact, ...] = field(default=())

    @property
    def days(self) -> tuple[tuple[date, tuple[TraceVisit, ...]], ...]:
        """The person's visits grouped by day (Vietnam time)."""
        out: dict[date, list[TraceVisit]] = {}
        for visit in self.visits:
            out.setdefault(visit.day, []).append(visit)
        return tuple((day, tuple(vs)) for day, vs in out.items())

    def counts(self) -> dict[str, int]:
        """What an audit entry records about a result: counts only."""
        return {
            "visits": len(self.visits),
            "windows": len(self.windows),
            "contacts": len(self.contacts),
            "contact_visits": sum(len(c.visits) for c in self.contacts),
        }


def build_result(
    subject: Subject,
    period: Period,
    margin: timedelta,
    person: Sequence[TraceVisit],
    candidates: Iterable[TraceVisit],
    hashes: frozenset[tuple[str, str]],
) -> TraceResult:
    """The result from the person's visits in the period and every visit near them (``candidates``: at least
    those inside the windows; the person's own and those outside any window are left out here)."""
    person = sorted(person, key=lambda v: (v.time, v.uuid))
    own = {v.uuid for v in person}
    windows = person_windows(person, margin)
    others = [v for v in candidates if v.uuid not in own and not subject.matches(v, hashes)]
    by_location: dict[str, list[TraceVisit]] = {}
    for visit in others:
        by_location.setdefault(visit.location, []).append(visit)
    per_window = []
    everyone: dict[str, TraceVisit] = {}
    for window in windows:
        inside = [v for v in by_location.get(window.location, ()) if window.covers(v)]
        per_window.append(WindowContacts(window, _contacts(inside)))
        everyone.update((v.uuid, v) for v in inside)
    return TraceResult(
        subject=subject,
        period=period,
        margin=margin,
        visits=tuple(person),
        windows=tuple(per_window),
        contacts=_contacts(everyone.values()),
    )


def trace_visits(
    subject: Subject,
    period: Period,
    margin: timedelta,
    visits: Iterable[TraceVisit],
    keyring: IdentityKeyring,
) -> TraceResult:
    """Trace over visits already in memory (the kiosk's record): the person's are those matching ``subject``
    inside ``period``; every visit is a candidate contact."""
    check_margin(margin)
    hashes = identity_hashes(subject, keyring)
    everything = list(visits)
    person = [v for v in everything if v.time in period and subject.matches(v, hashes)]
    return build_result(subject, period, margin, person, everything, hashes)


def from_kiosk_visit(visit: Visit) -> TraceVisit:
    """A kiosk's recorded visit for tracing: its wall time is the only time it has."""
    return TraceVisit(
        uuid=visit.uuid,
        location=visit.location_code,
        time=visit.at.wall,
        direction=visit.direction,
        outcome=visit.outcome,
        kind=visit.kind.value,
        identity_hash=visit.identity_hash,
        identity_key_id=visit.identity_key_id,
        id_number=visit.id_number,
        name=visit.name,
        clock_unsynchronised=not visit.at.synchronised,
    )


#: The columns of a tracing export (CSV, Excel, ``kiosk trace --format csv``): one row per visit of the
#: person (``row`` = ``person``), then one per overlapping visit of a contact (``row`` = ``contact``, with the
#: window of the person's it fell in).
COLUMNS: Final = (
    "row",
    "day",
    "time",
    "location",
    "location_name",
    "direction",
    "outcome",
    "kind",
    "id_number",
    "name",
    "window_start",
    "window_end",
    "clock_unsynchronised",
)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(VIETNAM_TIME).strftime("%Y-%m-%d %H:%M:%S")


def _shown(visit: TraceVisit, full: bool) -> tuple[str, str]:
    if full:
        return visit.id_number or "", visit.name or ""
    return (mask_id(visit.id_number) if visit.id_number else ""), (
        mask_name(visit.name) if visit.name else ""
    )


def result_rows(result: TraceResult, *, full: bool) -> list[list[str | bool]]:
    """The result as export rows (``COLUMNS``), identities masked unless ``full``; not yet ``safe_cell``-ed."""
    rows: list[list[str | bool]] = []

    def row(kind: str, v: TraceVisit, window: Window | None) -> list[str | bool]:
        number, name = _shown(v, full)
        return [
            kind,
            v.day.isoformat(),
            _stamp(v.time),
            v.location,
            v.location_name,
            v.direction.value,
            v.outcome.value,
            v.kind,
            number,
            name,
            _stamp(window.start) if window else "",
            _stamp(window.end) if window else "",
            v.clock_unsynchronised,
        ]

    rows.extend(row("person", v, None) for v in result.visits)
    for entry in result.windows:
        for contact in entry.contacts:
            rows.extend(row("contact", v, entry.window) for v in contact.visits)
    return rows
