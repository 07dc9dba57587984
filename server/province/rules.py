"""Layer: server. The signs of violation: six rules evaluated per location per day, written as
``ViolationFlag`` rows with the evidence behind each; the daily "staff who did not scan" report; and the
``kiosk-server flags`` command.

A day is a calendar day in the province's time zone (``PROVINCE_TZ``, Asia/Ho_Chi_Minh). A location's office
hours are its ``office_hours`` (``{"days": [0..6], "open": "07:30", "close": "17:00"}``, Monday = 0) or, when
None, the province's default (``working_days``, ``office_open``, ``office_close`` below). Visits are counted by
their ``event_time`` (the province's time of the visit); heartbeats by the server's ``received_at``.

The rules (the thresholds are ``Thresholds``' fields; defaults here, overridden by ``RuleSettings.thresholds``,
a JSON object with the same keys):

``device_silent``
    A kiosk of the location went more than ``device_silent_min`` minutes (60) without a heartbeat during the
    location's office hours on one of its working days. The window starts at the opening time (or when the
    device was registered) and ends at closing time (or now, for today; or when it was revoked). Evidence:
    per silent device, the longest gap (minutes, from, to) and the heartbeats counted.
``no_visits``
    A location with a kiosk recorded no visit at all on one of its working days, once the day's office hours
    are over. A location without a kiosk is not flagged (the dashboard shows it has none).
``details_mismatch``
    The location details a kiosk reports in its heartbeats (code, name, address, district) differ from the
    register's (after Unicode NFC and whitespace normalisation). Evidence: each differing field, the register's
    value, the kiosk's, the device and when it was reported. Any day.
``manual_share``
    The share of manual entries and guard overrides (``Visit.manual`` or reason ``guard_override``) among the
    day's visits is above ``manual_share_max`` (0.30) with at least ``manual_share_min_visits`` visits (10).
    Any day.
``staff_compliance``
    The share of the roster who scanned (a granted visit whose identity hash, made with the roster's key, is
    on the roster) is below ``staff_compliance_min`` (0.80) on a working day, once office hours are over. The
    roster is the location's own (scans at that location count), else its office's: then scans at any of the
    office's locations count and the flag goes to the office's first location by code (its main gate), once
    per office. Evidence: roster size, scanned, compliance, and the absentees (masked names and IDs).
``clock_unsynced``
    A kiosk of the location reported an unsynchronised clock in a heartbeat, or a clock offset whose magnitude
    is above ``clock_offset_max_s`` (300 s), or recorded visits with an unsynchronised clock, that day.

Re-evaluating a day is idempotent: a flag that still holds gets its evidence updated and keeps its handled
state (a handled flag is never un-handled); an open flag that no longer holds (thresholds changed, late
uploads arrived) is removed; a handled one is kept as it was.

This module is also a ``kiosk-server`` command module (``server.cli.PLUGGED``): no Django import at module
level, since ``add_arguments`` runs before ``django.setup()``.
"""

# ruff: noqa: PLC0415

from __future__ import annotations

import argparse
import dataclasses
import time as monotime
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from kiosk.model import mask_name
from kiosk.roster import Roster, RosterEntry
from server.errors import RegisterError

if TYPE_CHECKING:
    from server.province.models import Location, Office

__all__ = [
    "PROVINCE_TZ",
    "BeatInfo",
    "DeviceDay",
    "EvaluationSummary",
    "OfficeHours",
    "Rule",
    "StaffDay",
    "Thresholds",
    "clock_unsynced",
    "details_mismatch",
    "device_silent",
    "evaluate_day",
    "load_thresholds",
    "manual_share",
    "no_visits",
    "not_scanned",
    "roster_of",
    "staff_compliance",
    "staff_report",
]

PROVINCE_TZ: Final = ZoneInfo("Asia/Ho_Chi_Minh")
GUARD_OVERRIDE: Final = "guard_override"
GRANTED: Final = "granted"
ROSTER_FORMAT: Final = "qr-gate-kiosk roster 1"
#: the register's fields a kiosk reports back in its heartbeats
DETAIL_FIELDS: Final = ("code", "name", "address", "district")


class Rule(StrEnum):
    DEVICE_SILENT = "device_silent"
    NO_VISITS = "no_visits"
    DETAILS_MISMATCH = "details_mismatch"
    MANUAL_SHARE = "manual_share"
    STAFF_COMPLIANCE = "staff_compliance"
    CLOCK_UNSYNCED = "clock_unsynced"


# -- thresholds -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The rules' thresholds; each field's range and meaning sit next to it (``RuleSettings.thresholds``
    uses the same keys)."""

    device_silent_min: float = dataclasses.field(
        default=60.0,
        metadata={"low": 1, "high": 24 * 60, "what": "minutes without a heartbeat during office hours"},
    )
    manual_share_max: float = dataclasses.field(
        default=0.30,
        metadata={"low": 0, "high": 1, "what": "largest share of manual entries and overrides (0-1)"},
    )
    manual_share_min_visits: int = dataclasses.field(
        default=10, metadata={"low": 1, "high": 100_000, "what": "visits a day before manual_share applies"}
    )
    staff_compliance_min: float = dataclasses.field(
        default=0.80, metadata={"low": 0, "high": 1, "what": "smallest share of the roster who scanned (0-1)"}
    )
    clock_offset_max_s: float = dataclasses.field(
        default=300.0, metadata={"low": 0, "high": 86_400, "what": "largest |clock offset| in seconds"}
    )
    working_days: tuple[int, ...] = dataclasses.field(
        default=(0, 1, 2, 3, 4), metadata={"what": "default working days, Monday = 0"}
    )
    office_open: str = dataclasses.field(default="07:30", metadata={"what": "default opening time HH:MM"})
    office_close: str = dataclasses.field(default="17:00", metadata={"what": "default closing time HH:MM"})

    @classmethod
    def from_settings(cls, document: Mapping[str, Any] | None) -> Thresholds:
        """The defaults overridden by ``document``; a ``RegisterError`` names a bad key, its value and what
        would be accepted."""
        if not document:
            return cls()
        if not isinstance(document, Mapping):
            raise RegisterError("rule thresholds must be a JSON object of threshold names and values")
        known = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in document.items():
            spec = known.get(key)
            if spec is None:
                raise RegisterError(f"rule threshold {key!r} is unknown; known: {', '.join(sorted(known))}")
            values[key] = _checked(key, value, spec)
        made = cls(**values)
        OfficeHours.parse(None, made)  # the default hours must make sense
        return made


def _checked(key: str, value: Any, spec: dataclasses.Field[Any]) -> Any:
    what = spec.metadata.get("what", "")
    if key == "working_days":
        if not (isinstance(value, list | tuple) and all(isinstance(d, int) and 0 <= d <= 6 for d in value)):
            raise RegisterError(f"rule threshold working_days={value!r}: a list of days 0-6 (Monday = 0)")
        return tuple(sorted(set(value)))
    if key in ("office_open", "office_close"):
        _clock(value, key)
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RegisterError(f"rule threshold {key}={value!r}: a number is needed ({what})")
    low, high = spec.metadata["low"], spec.metadata["high"]
    if not low <= value <= high:
        raise RegisterError(f"rule threshold {key}={value!r}: from {low} to {high} ({what})")
    if spec.type in ("int", int):
        if int(value) != value:
            raise RegisterError(f"rule threshold {key}={value!r}: a whole number is needed ({what})")
        return int(value)
    return float(value)


def load_thresholds() -> Thresholds:
    """The thresholds in force: the defaults, overridden by the ``RuleSettings`` row (if any)."""
    from server.province.models import RuleSettings

    row = RuleSettings.objects.order_by("pk").first()
    return Thresholds.from_settings(row.thresholds if row is not None else None)


# -- office hours -----------------------------------------------------------------------------------------


def _clock(text: Any, key: str) -> time:
    try:
        hours, minutes = str(text).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise RegisterError(f"{key} {text!r}: a time HH:MM, e.g. 07:30") from None


@dataclass(frozen=True, slots=True)
class OfficeHours:
    days: frozenset[int]
    open: time
    close: time

    @classmethod
    def parse(cls, document: Any, thresholds: Thresholds) -> OfficeHours:
        """A location's ``office_hours`` JSON, or the default hours when it is None."""
        if document is None:
            days, opening, closing = thresholds.working_days, thresholds.office_open, thresholds.office_close
        elif isinstance(document, Mapping):
            days = document.get("days", thresholds.working_days)
            opening = document.get("open", thresholds.office_open)
            closing = document.get("close", thresholds.office_close)
        else:
            raise RegisterError(f"office hours {document!r}: an object with days, open and close")
        if not (isinstance(days, list | tuple) and all(isinstance(d, int) and 0 <= d <= 6 for d in days)):
            raise RegisterError(f"office hours days {days!r}: a list of days 0-6 (Monday = 0)")
        hours = cls(frozenset(days), _clock(opening, "open"), _clock(closing, "close"))
        if hours.close <= hours.open:
            raise RegisterError(f"office hours {opening}-{closing}: closing must come after opening")
        return hours

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.days

    def window(self, day: date) -> tuple[datetime, datetime]:
        """Opening and closing time on ``day``, aware, in the province's time zone."""
        return (
            datetime.combine(day, self.open, tzinfo=PROVINCE_TZ),
            datetime.combine(day, self.close, tzinfo=PROVINCE_TZ),
        )

    def label(self) -> str:
        return f"{self.open:%H:%M}-{self.close:%H:%M}"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The province's calendar day as an aware half-open range."""
    start = datetime.combine(day, time(0), tzinfo=PROVINCE_TZ)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=PROVINCE_TZ)


def _hm(moment: datetime) -> str:
    return moment.astimezone(PROVINCE_TZ).strftime("%H:%M")


# -- the rules: functions of plain values -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BeatInfo:
    """One heartbeat as the rules read it."""

    device_id: str
    received_at: datetime
    clock_offset_s: float
    clock_synchronised: bool | None
    location: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class DeviceDay:
    """A kiosk on a day: since when it counts (registered), until when (revoked), its heartbeat times."""

    device_id: str
    since: datetime
    until: datetime | None
    beats: tuple[datetime, ...]


Evidence = dict[str, Any]


def device_silent(
    devices: Sequence[DeviceDay], hours: OfficeHours, day: date, now: datetime, t: Thresholds
) -> Evidence | None:
    """The devices silent for more than ``t.device_silent_min`` minutes inside office hours, or None."""
    if not hours.is_working_day(day):
        return None
    opening, closing = hours.window(day)
    silent: list[dict[str, Any]] = []
    for dev in devices:
        start = max(opening, dev.since)
        end = min(closing, now, dev.until) if dev.until is not None else min(closing, now)
        if end <= start:
            continue
        longest, gap_from, gap_to = timedelta(0), start, start
        previous = start
        inside = sorted(b for b in dev.beats if start < b < end)
        for moment in (*inside, end):
            if moment - previous > longest:
                longest, gap_from, gap_to = moment - previous, previous, moment
            previous = moment
        minutes = longest.total_seconds() / 60
        if minutes > t.device_silent_min:
            silent.append(
                {
                    "device": dev.device_id,
                    "longest_gap_min": round(minutes, 1),
                    "from": _hm(gap_from),
                    "to": _hm(gap_to),
                    "heartbeats": len(inside),
                }
            )
    if not silent:
        return None
    return {"devices": silent, "threshold_min": t.device_silent_min, "office_hours": hours.label()}


def no_visits(
    visits: int, devices: int, hours: OfficeHours, day: date, now: datetime, t: Thresholds
) -> Evidence | None:
    """No visit on a working day of a location with a kiosk, once its office hours are over."""
    if visits > 0 or devices == 0 or not hours.is_working_day(day) or now < hours.window(day)[1]:
        return None
    return {"visits": 0, "devices": devices, "office_hours": hours.label(), "expected_min_visits": 1}


def _normal(text: Any) -> str:
    return " ".join(unicodedata.normalize("NFC", str(text or "")).split())


def details_mismatch(register: Mapping[str, str], beats: Iterable[BeatInfo]) -> Evidence | None:
    """Each (device, field, kiosk value) that differs from the register, with when it was reported."""
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for beat in sorted(beats, key=lambda b: b.received_at):
        if not isinstance(beat.location, Mapping):
            continue
        for name in DETAIL_FIELDS:
            if name not in beat.location:
                continue
            kiosk, wanted = _normal(beat.location[name]), _normal(register.get(name, ""))
            if kiosk == wanted:
                continue
            item = found.setdefault(
                (beat.device_id, name, kiosk),
                {
                    "device": beat.device_id,
                    "field": name,
                    "register": wanted,
                    "kiosk": kiosk,
                    "heartbeats": 0,
                    "first": _hm(beat.received_at),
                },
            )
            item["heartbeats"] += 1
            item["last"] = _hm(beat.received_at)
    if not found:
        return None
    return {"differences": list(found.values())}


def manual_share(visits: int, manual: int, overrides: int, t: Thresholds) -> Evidence | None:
    """``manual`` counts visits that are manual entries or guard overrides (each visit once)."""
    if visits < t.manual_share_min_visits or visits == 0:
        return None
    share = manual / visits
    if share <= t.manual_share_max:
        return None
    return {
        "visits": visits,
        "manual_or_override": manual,
        "overrides": overrides,
        "share": round(share, 3),
        "threshold": t.manual_share_max,
        "min_visits": t.manual_share_min_visits,
    }


def _absent(roster: Roster, scanned: Iterable[str]) -> list[RosterEntry]:
    seen = set(scanned)
    return [entry for entry in roster.entries if entry.identity_hash not in seen]


def staff_compliance(
    roster: Roster, scanned: Iterable[str], t: Thresholds, *, source: str, office: str = ""
) -> Evidence | None:
    """``scanned``: identity hashes (made with the roster's key) of the day's granted visits."""
    if not roster.entries:
        return None
    missing = _absent(roster, scanned)
    compliance = 1 - len(missing) / len(roster.entries)
    if compliance >= t.staff_compliance_min:
        return None
    return {
        "roster": len(roster.entries),
        "scanned": len(roster.entries) - len(missing),
        "compliance": round(compliance, 3),
        "threshold": t.staff_compliance_min,
        "roster_of": source,
        "office": office,
        "missing": [{"name": mask_name(e.name), "masked_id": e.masked_id, "group": e.group} for e in missing],
    }


def clock_unsynced(beats: Iterable[BeatInfo], unsynced_visits: int, t: Thresholds) -> Evidence | None:
    per_device: dict[str, dict[str, Any]] = {}
    for beat in beats:
        off = abs(beat.clock_offset_s)
        bad_sync = beat.clock_synchronised is False
        if not bad_sync and off <= t.clock_offset_max_s:
            continue
        item = per_device.setdefault(
            beat.device_id,
            {"device": beat.device_id, "unsynchronised_heartbeats": 0, "max_offset_s": 0.0, "at": ""},
        )
        item["unsynchronised_heartbeats"] += int(bad_sync)
        if off >= item["max_offset_s"]:
            item["max_offset_s"], item["at"] = round(off, 1), _hm(beat.received_at)
    if not per_device and unsynced_visits == 0:
        return None
    return {
        "devices": sorted(per_device.values(), key=lambda d: d["device"]),
        "unsynchronised_visits": unsynced_visits,
        "threshold_s": t.clock_offset_max_s,
    }


# -- rosters ----------------------------------------------------------------------------------------------


def roster_of(document: Any) -> Roster | None:
    """A roster kept in the register (``kiosk.roster.save_roster``'s JSON), or None if there is none or it is
    not a roster (the register checks rosters when they are set)."""
    if not isinstance(document, Mapping) or document.get("format") != ROSTER_FORMAT:
        return None
    key_id, items = document.get("key_id"), document.get("entries")
    if not isinstance(key_id, str) or not isinstance(items, list):
        return None
    entries = tuple(
        RosterEntry(str(i["name"]), str(i["identity_hash"]), str(i["masked_id"]), str(i.get("group", "")))
        for i in items
        if isinstance(i, Mapping) and {"name", "identity_hash", "masked_id"} <= i.keys()
    )
    return Roster(key_id, entries)


@dataclass(frozen=True, slots=True)
class _RosterTarget:
    """A roster, where its staff's scans count, and the location its flag goes to."""

    roster: Roster
    location_ids: tuple[int, ...]
    flag_location_id: int
    source: str
    office: str
    hours: OfficeHours


def _roster_targets(locations: Sequence[Location], t: Thresholds) -> list[_RosterTarget]:
    from server.province.models import Location as LocationModel

    targets: list[_RosterTarget] = []
    office_ids: set[int] = set()
    for loc in locations:
        own = roster_of(loc.roster)
        if own is not None:
            targets.append(
                _RosterTarget(own, (loc.pk,), loc.pk, "location", "", OfficeHours.parse(loc.office_hours, t))
            )
        elif loc.office_id is not None:
            office_ids.add(loc.office_id)
    if office_ids:
        by_office: dict[int, list[Location]] = defaultdict(list)
        rows = LocationModel.objects.filter(office_id__in=office_ids).select_related("office__district")
        for loc in rows:
            by_office[loc.office_id].append(loc)
        for office_locations in by_office.values():
            office_locations.sort(key=lambda loc: loc.code)
            main = office_locations[0]
            roster = roster_of(main.office.roster)
            if roster is None:
                continue
            targets.append(
                _RosterTarget(
                    roster,
                    tuple(loc.pk for loc in office_locations),
                    main.pk,
                    "office",
                    main.office.name,
                    OfficeHours.parse(main.office_hours, t),
                )
            )
    return targets


def _scanned(target: _RosterTarget, day: date) -> set[str]:
    from server.province.models import Visit

    start, end = day_bounds(day)
    hashes = {e.identity_hash for e in target.roster.entries}
    rows = Visit.objects.filter(
        location_id__in=target.location_ids,
        event_time__gte=start,
        event_time__lt=end,
        outcome=GRANTED,
        identity_key_id=target.roster.key_id,
        identity_hash__in=hashes,
    ).values_list("identity_hash", flat=True)
    return set(rows)


def not_scanned(location_or_office: Location | Office, day: date) -> list[RosterEntry]:
    """The daily "staff who did not scan" report from the server's data: the roster's entries (names as the
    roster holds them, masked IDs; a page masks the names unless the account may see identities) with no
    granted visit on ``day`` at the roster's locations, in roster order. A location without a roster of its
    own answers for its office's roster. ``RegisterError`` when there is no roster."""
    from server.province.models import Location as LocationModel

    t = load_thresholds()
    if isinstance(location_or_office, LocationModel):
        location = location_or_office
        if roster_of(location.roster) is not None or location.office_id is None:
            locations = [location]
        else:
            locations = list(LocationModel.objects.filter(office_id=location.office_id).order_by("code")[:1])
    else:
        locations = list(LocationModel.objects.filter(office=location_or_office).order_by("code")[:1])
    targets = _roster_targets(locations, t) if locations else []
    if not targets:
        raise RegisterError(f"{location_or_office} has no staff roster: import one first")
    target = targets[0]
    return _absent(target.roster, _scanned(target, day))


@dataclass(frozen=True, slots=True)
class StaffDay:
    """One roster's day for the "staff who did not scan" report: where its flag would go and who is missing."""

    location_code: str
    location_name: str
    office: str
    district: str
    roster_size: int
    missing: tuple[RosterEntry, ...]


def staff_report(locations: Iterable[Location], day: date) -> list[StaffDay]:
    """The "staff who did not scan" report for every roster of ``locations`` (a location's own, or its
    office's once, at the office's main gate), ordered by district, office and location."""
    t = load_thresholds()
    locations = list(locations)
    by_pk = {loc.pk: loc for loc in locations}
    rows: list[StaffDay] = []
    for target in _roster_targets(locations, t):
        main = by_pk.get(target.flag_location_id)
        if main is None:  # the office's main gate is outside ``locations``: report at the first one inside
            main = min((by_pk[pk] for pk in target.location_ids if pk in by_pk), key=lambda loc: loc.code)
        district = main.office.district.name if main.office_id is not None else main.district
        rows.append(
            StaffDay(
                main.code,
                main.name,
                target.office,
                district,
                len(target.roster.entries),
                tuple(_absent(target.roster, _scanned(target, day))),
            )
        )
    rows.sort(key=lambda r: (r.district, r.office, r.location_code))
    return rows


# -- evaluation -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvaluationSummary:
    day: date
    flagged: Mapping[str, int]
    created: int
    updated: int
    removed: int

    @property
    def total(self) -> int:
        return sum(self.flagged.values())


def _found_for_day(day: date, now: datetime, t: Thresholds) -> dict[tuple[str, int], Evidence]:
    from django.db.models import Count, Q

    from server.province.models import Device, Heartbeat, Location, Visit

    start, end = day_bounds(day)
    locations = list(Location.objects.select_related("office").order_by("code"))
    devices = list(
        Device.objects.filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=start), created_at__lt=end)
    )
    beats: dict[int, list[BeatInfo]] = defaultdict(list)
    device_by_pk = {d.pk: d for d in devices}
    for device_pk, received, offset, raw in Heartbeat.objects.filter(
        device_id__in=device_by_pk, received_at__gte=start, received_at__lt=end
    ).values_list("device_id", "received_at", "clock_offset_s", "payload"):
        payload = raw if isinstance(raw, Mapping) else {}
        sync = payload.get("clock_synchronised")
        beats[device_pk].append(
            BeatInfo(
                device_by_pk[device_pk].device_id,
                received,
                float(offset),
                sync if isinstance(sync, bool) else None,
                payload.get("location") if isinstance(payload.get("location"), Mapping) else None,
            )
        )
    stats = {
        row["location_id"]: row
        for row in Visit.objects.filter(event_time__gte=start, event_time__lt=end)
        .values("location_id")
        .annotate(
            total=Count("id"),
            manual=Count("id", filter=Q(manual=True) | Q(reason=GUARD_OVERRIDE)),
            overrides=Count("id", filter=Q(reason=GUARD_OVERRIDE)),
            unsynced=Count("id", filter=Q(clock_synchronised=False)),
        )
    }
    devices_of: dict[int, list[Any]] = defaultdict(list)
    for dev in devices:
        devices_of[dev.location_id].append(dev)

    found: dict[tuple[str, int], Evidence] = {}
    for loc in locations:
        hours = OfficeHours.parse(loc.office_hours, t)
        mine = devices_of.get(loc.pk, [])
        loc_beats = [b for dev in mine for b in beats.get(dev.pk, [])]
        row = stats.get(loc.pk, {})
        days = [
            DeviceDay(
                dev.device_id, dev.created_at, dev.revoked_at, tuple(b.received_at for b in beats[dev.pk])
            )
            for dev in mine
        ]
        register = {"code": loc.code, "name": loc.name, "address": loc.address, "district": loc.district}
        results = {
            Rule.DEVICE_SILENT: device_silent(days, hours, day, now, t),
            Rule.NO_VISITS: no_visits(row.get("total", 0), len(mine), hours, day, now, t),
            Rule.DETAILS_MISMATCH: details_mismatch(register, loc_beats),
            Rule.MANUAL_SHARE: manual_share(
                row.get("total", 0), row.get("manual", 0), row.get("overrides", 0), t
            ),
            Rule.CLOCK_UNSYNCED: clock_unsynced(loc_beats, row.get("unsynced", 0), t),
        }
        for rule, evidence in results.items():
            if evidence is not None:
                found[(rule.value, loc.pk)] = evidence

    for target in _roster_targets(locations, t):
        if not target.hours.is_working_day(day) or now < target.hours.window(day)[1]:
            continue
        evidence = staff_compliance(
            target.roster, _scanned(target, day), t, source=target.source, office=target.office
        )
        if evidence is not None:
            found[(Rule.STAFF_COMPLIANCE.value, target.flag_location_id)] = evidence
    return found


def evaluate_day(day: date, *, now: datetime, thresholds: Thresholds | None = None) -> EvaluationSummary:
    """Evaluate every rule at every location for ``day`` and write the flags (see the module docstring for
    what re-evaluation keeps)."""
    from django.db import transaction

    from server.province.models import ViolationFlag

    t = thresholds if thresholds is not None else load_thresholds()
    found = _found_for_day(day, now, t)
    created = updated = removed = 0
    with transaction.atomic():
        existing = {(f.rule, f.location_id): f for f in ViolationFlag.objects.filter(day=day)}
        new: list[Any] = []
        changed: list[Any] = []
        for key, evidence in found.items():
            flag = existing.get(key)
            if flag is None:
                new.append(
                    ViolationFlag(rule=key[0], location_id=key[1], day=day, evidence=evidence, created_at=now)
                )
            elif flag.evidence != evidence:
                flag.evidence = evidence
                changed.append(flag)
        stale = [f.pk for key, f in existing.items() if key not in found and f.handled_at is None]
        # ignore_conflicts: a concurrent evaluation of the same day inserted the same flag; either is right.
        ViolationFlag.objects.bulk_create(new, ignore_conflicts=True)
        ViolationFlag.objects.bulk_update(changed, ["evidence"])
        removed = ViolationFlag.objects.filter(pk__in=stale).delete()[0] if stale else 0
        created, updated = len(new), len(changed)
    flagged: dict[str, int] = dict.fromkeys((r.value for r in Rule), 0)
    for rule, _ in found:
        flagged[rule] += 1
    return EvaluationSummary(day, flagged, created, updated, removed)


# -- the command ------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=type(parser))
    evaluate = actions.add_parser("evaluate", help="evaluate the rules for past days and write the flags")
    when = evaluate.add_mutually_exclusive_group()
    when.add_argument("--day", type=_day_arg, help="one day, YYYY-MM-DD (default: yesterday)")
    when.add_argument("--days", type=int, help="the N days up to yesterday")
    listing = actions.add_parser("list", help="list the flags")
    listing.add_argument("--district", help="only this district (its name in the register)")
    listing.add_argument("--open", action="store_true", help="only flags not yet handled")
    listing.add_argument("--day", type=_day_arg, help="only this day, YYYY-MM-DD")
    limits = actions.add_parser("thresholds", help="show the rules' thresholds, or change them")
    limits.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="e.g. device_silent_min=90, manual_share_max=0.25, working_days=[0,1,2,3,4,5] (repeatable; JSON values)",
    )
    limits.add_argument("--reset", action="append", default=[], metavar="KEY", help="back to the default")


def _day_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day YYYY-MM-DD") from None


def run(args: argparse.Namespace) -> int:
    from django.utils import timezone

    now: datetime = timezone.now()
    if args.action == "evaluate":
        yesterday = now.astimezone(PROVINCE_TZ).date() - timedelta(days=1)
        if args.days is not None:
            if not 1 <= args.days <= 3660:
                raise RegisterError(f"--days must be from 1 to 3660, not {args.days}")
            days = [yesterday - timedelta(days=n) for n in range(args.days - 1, -1, -1)]
        else:
            days = [args.day or yesterday]
        t = load_thresholds()
        started = monotime.monotonic()
        for day in days:
            s = evaluate_day(day, now=now, thresholds=t)
            counts = ", ".join(f"{rule} {n}" for rule, n in s.flagged.items() if n)
            print(
                f"{day}: {s.total} flag(s){': ' + counts if counts else ''}"
                f" ({s.created} new, {s.updated} updated, {s.removed} removed)"
            )
        print(f"evaluated {len(days)} day(s) in {monotime.monotonic() - started:.1f} s")
        return 0
    if args.action == "thresholds":
        return _thresholds(args, now)
    return _list(args)


def _thresholds(args: argparse.Namespace, now: datetime) -> int:
    """Show the thresholds in force (``*`` = changed from the default); ``--set``/``--reset`` change them, checked
    as a whole before anything is saved. Flags already written keep their evidence until the days are
    evaluated again (``flags evaluate``)."""
    import json

    from django.db import transaction

    from server.province.models import RuleSettings

    with transaction.atomic():
        row = RuleSettings.objects.select_for_update().order_by("pk").first() or RuleSettings(thresholds={})
        document = dict(row.thresholds or {})
        for item in args.set:
            key, eq, text = item.partition("=")
            if not eq:
                raise RegisterError(f"--set {item!r}: expected KEY=VALUE, e.g. device_silent_min=90")
            try:
                document[key.strip()] = json.loads(text)
            except json.JSONDecodeError:
                document[key.strip()] = text.strip()  # a time such as 07:30
        for key in args.reset:
            document.pop(key.strip(), None)
        current = Thresholds.from_settings(document)  # RegisterError names the bad key: nothing saved
        if args.set or args.reset:
            row.thresholds, row.changed_at = document, now
            row.save()
    for spec in dataclasses.fields(Thresholds):
        mark = "*" if spec.name in document else " "
        print(f"{mark} {spec.name} = {getattr(current, spec.name)!r}\t{spec.metadata.get('what', '')}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from django.db.models import Q

    from server.province.models import District, ViolationFlag

    rows = ViolationFlag.objects.select_related("location").order_by("-day", "location__code", "rule")
    if args.district is not None:
        district = District.objects.filter(name=args.district).first()
        if district is None:
            names = ", ".join(District.objects.order_by("name").values_list("name", flat=True)) or "none yet"
            raise RegisterError(f"no district named {args.district!r} (the register has: {names})")
        rows = rows.filter(Q(location__district_unit=district) | Q(location__office__district=district))
    if args.open:
        rows = rows.filter(handled_at__isnull=True)
    if args.day is not None:
        rows = rows.filter(day=args.day)
    count = 0
    for flag in rows.iterator():
        state = "open" if flag.handled_at is None else f"handled {flag.handled_at:%Y-%m-%d}"
        print(f"{flag.day}\t{flag.location.code}\t{flag.rule}\t{state}\t{_summary(flag.rule, flag.evidence)}")
        count += 1
    if count == 0:
        print("no flags")
    return 0


def _summary(rule: str, ev: Mapping[str, Any]) -> str:
    """One plain line of evidence for the terminal (the web page has its own, translated)."""
    if rule == Rule.DEVICE_SILENT:
        return "; ".join(
            f"{d['device']} silent {d['longest_gap_min']} min {d['from']}-{d['to']}" for d in ev["devices"]
        )
    if rule == Rule.NO_VISITS:
        return f"no visits during {ev['office_hours']}"
    if rule == Rule.DETAILS_MISMATCH:
        return "; ".join(
            f"{d['field']}: kiosk {d['kiosk']!r} register {d['register']!r}" for d in ev["differences"]
        )
    if rule == Rule.MANUAL_SHARE:
        return f"{ev['manual_or_override']} of {ev['visits']} manual or overridden ({ev['share']:.0%})"
    if rule == Rule.STAFF_COMPLIANCE:
        return f"{ev['scanned']} of {ev['roster']} staff scanned ({ev['compliance']:.0%})"
    if rule == Rule.CLOCK_UNSYNCED:
        offsets = ", ".join(f"{d['device']} {d['max_offset_s']} s" for d in ev["devices"])
        return f"unsynchronised visits {ev['unsynchronised_visits']}; {offsets or 'no heartbeat offsets'}"
    return ""
