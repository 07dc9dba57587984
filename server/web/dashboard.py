"""Layer: server. Web pages: the dashboard (locations, devices, visits, charts) and the visit exports.

    /                               cards, charts of visits per hour (today) and per day (30 days), the visible
                                    locations with their kiosks; filters ?district=ID&office=ID&page=N
    /locations/<code>/              one location: its kiosks, their recent heartbeats, visits per day
    /export/visits.csv|.xlsx        visits of a date range (?from=YYYY-MM-DD&to=…) for the district, office or
                                    location given (?district=ID / ?office=ID / ?location=CODE), else all
                                    the account may see; identities masked unless the account may see them;
                                    every export is written to the audit log

Every page sees only what ``scope.visible_locations`` allows: a district, office or location outside it is a 404
(as if it did not exist). Days and hours are the server's time zone's (``TIME_ZONE``, Asia/Ho_Chi_Minh).

Visits are counted in the database (``COUNT`` grouped by location, ``TruncHour`` / ``TruncDate``), over an
``event_time`` range, so the ``(event_time)`` and ``(location, event_time)`` indexes answer them; no page loops
over visits in Python. The latest heartbeat of each kiosk is one subquery on the ``(device, received_at)`` index.
The clock is read in ``clock()`` only (tests replace it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncHour
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _

from kiosk.export import safe_cell
from server.province import rollup
from server.province.models import Account, Device, District, Heartbeat, Location, Office, Visit
from server.web.scope import account_of, audit, can_see_identities, login_required, masked, visible_locations

#: A kiosk that has not been heard from for longer than this is "silent".
SILENT_AFTER = timedelta(hours=1)
#: A clock further off than this (server receive time minus the kiosk's send time) is shown as a warning.
CLOCK_WARN_S = 120.0
DAYS_CHARTED = 30
LOCATIONS_PER_PAGE = 100
RECENT_HEARTBEATS = 20
MAX_EXPORT_DAYS = 366
#: Excel's rows per sheet, less the header.
XLSX_MAX_ROWS = 1_048_575
EXPORT_COLUMNS = (
    "time",
    "location",
    "location_name",
    "district",
    "office",
    "device",
    "direction",
    "kind",
    "id_number",
    "name",
    "outcome",
    "reason",
    "manual",
    "guard_override",
    "clock_synchronised",
    "uuid",
)


def clock() -> datetime:
    """Now (aware, UTC). The only place these pages read the clock."""
    now: datetime = timezone.now()
    return now


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


# -- what the pages show: value objects, built from a few grouped queries ----------------------------------


@dataclass(frozen=True, slots=True)
class DeviceRow:
    device_id: str
    name: str
    location_id: int
    last_contact_at: datetime | None
    silent: bool
    heartbeat_at: datetime | None
    backlog: int | None
    oldest_pending_at: datetime | None
    clock_synchronised: bool | None
    clock_offset_s: float | None
    camera_state: str
    version: str
    parked: int
    revoked: bool

    @property
    def clock_state(self) -> str:
        """``ok``, ``warn`` (synchronised but far off) or ``bad`` (not synchronised); ``""`` when unknown."""
        if self.clock_synchronised is None:
            return ""
        if not self.clock_synchronised:
            return "bad"
        return "warn" if self.clock_offset_s is not None and abs(self.clock_offset_s) > CLOCK_WARN_S else "ok"


@dataclass(frozen=True, slots=True)
class LocationRow:
    code: str
    name: str
    district: str
    office: str
    visits_today: int
    devices: tuple[DeviceRow, ...]

    @property
    def backlog(self) -> int:
        return sum(d.backlog or 0 for d in self.devices)


@dataclass(frozen=True, slots=True)
class Cards:
    locations: int
    devices: int
    visits_today: int
    silent_devices: int
    backlog: int


@dataclass(frozen=True, slots=True)
class Scope:
    """What the request may see and chose: the filtered locations and the filter's options."""

    account: Account | None
    locations: QuerySet[Location]
    #: a province account without a filter: visit queries need no location condition at all
    everything: bool
    districts: tuple[District, ...] = ()
    offices: tuple[Office, ...] = ()
    district: District | None = None
    office: Office | None = None
    query: dict[str, str] = field(default_factory=dict)


def _visible_districts(account: Account | None) -> tuple[District, ...]:
    if account is None:
        return ()
    if account.role == Account.Role.PROVINCE:
        return tuple(District.objects.order_by("name"))
    if account.role == Account.Role.DISTRICT and account.district_id is not None:
        return tuple(District.objects.filter(pk=account.district_id))
    return ()


def _visible_offices(account: Account | None) -> tuple[Office, ...]:
    if account is None:
        return ()
    offices = Office.objects.select_related("district").order_by("district__name", "name")
    if account.role == Account.Role.PROVINCE:
        return tuple(offices)
    if account.role == Account.Role.DISTRICT and account.district_id is not None:
        return tuple(offices.filter(district_id=account.district_id))
    if account.role == Account.Role.OFFICE and account.office_id is not None:
        return tuple(offices.filter(pk=account.office_id))
    return ()


_Unit = TypeVar("_Unit", District, Office)


def _pick(value: str | None, options: tuple[_Unit, ...]) -> _Unit | None:
    """The option whose id is ``value``; 404 when it is not one the account may see (or not an id)."""
    if not value:
        return None
    for option in options:
        if str(option.pk) == value:
            return option
    raise Http404("no such district or office")


def scope_of(request: HttpRequest) -> Scope:
    account = account_of(request.user)
    districts = _visible_districts(account)
    offices = _visible_offices(account)
    district = _pick(request.GET.get("district"), districts)
    office = _pick(request.GET.get("office"), offices)
    locations = visible_locations(request.user)
    if district is not None:
        locations = locations.filter(Q(district_unit=district) | Q(office__district=district))
    if office is not None:
        locations = locations.filter(office=office)
    query = {}
    if district is not None:
        query["district"] = str(district.pk)
    if office is not None:
        query["office"] = str(office.pk)
    everything = (
        account is not None and account.role == Account.Role.PROVINCE and district is None and office is None
    )
    return Scope(account, locations, everything, districts, offices, district, office, query)


def visits_of(scope: Scope) -> QuerySet[Visit]:
    visits = Visit.objects.all() if scope.everything else Visit.objects.filter(location__in=scope.locations)
    return visits.order_by()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local day, as aware datetimes."""
    zone = local_zone()
    return datetime.combine(day, time(0), zone), datetime.combine(day + timedelta(days=1), time(0), zone)


def today(now: datetime) -> date:
    day: date = timezone.localtime(now, local_zone()).date()
    return day


def visits_per_location(visits: QuerySet[Visit], start: datetime, end: datetime) -> dict[int, int]:
    rows = (
        visits.filter(event_time__gte=start, event_time__lt=end).values("location_id").annotate(n=Count("id"))
    )
    return {row["location_id"]: row["n"] for row in rows}


def visits_per_hour(visits: QuerySet[Visit], day: date) -> list[int]:
    """24 counts: the visits of each local hour of ``day``."""
    start, end = day_bounds(day)
    zone = local_zone()
    rows = (
        visits.filter(event_time__gte=start, event_time__lt=end)
        .annotate(hour=TruncHour("event_time", tzinfo=zone))
        .values("hour")
        .annotate(n=Count("id"))
    )
    counts = [0] * 24
    for row in rows:  # at most 24 rows
        counts[timezone.localtime(row["hour"], zone).hour] += row["n"]
    return counts


def visits_per_day(
    visits: QuerySet[Visit],
    last: date,
    days: int = DAYS_CHARTED,
    locations: QuerySet[Location] | None = None,
) -> list[tuple[date, int]]:
    """(day, count) for the ``days`` local days ending with ``last``, oldest first: the days before ``last`` from
    the per-day counts (``server.province.rollup``: a few hundred rows, not millions of visits) at ``locations``
    (None: everywhere), ``last`` itself counted from ``visits``."""
    first = last - timedelta(days=days - 1)
    counts = rollup.per_day(locations, first, last - timedelta(days=1))
    start, end = day_bounds(last)
    counts[last] = visits.filter(event_time__gte=start, event_time__lt=end).count()
    return [(first + timedelta(days=i), counts.get(first + timedelta(days=i), 0)) for i in range(days)]


def _moment(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def device_rows(devices: QuerySet[Device], now: datetime) -> list[DeviceRow]:
    """Each device with its latest heartbeat (one subquery per device on the (device, received_at) index)."""
    latest = Heartbeat.objects.filter(device=OuterRef("pk")).order_by("-received_at", "-id").values("id")[:1]
    annotated = list(devices.annotate(latest_heartbeat=Subquery(latest)).order_by("device_id"))
    beats = Heartbeat.objects.in_bulk([d.latest_heartbeat for d in annotated if d.latest_heartbeat])
    rows = []
    for device in annotated:
        beat = beats.get(device.latest_heartbeat)
        payload: dict[str, Any] = beat.payload if beat is not None and isinstance(beat.payload, dict) else {}
        contacts = [t for t in (device.last_seen_at, beat.received_at if beat else None) if t is not None]
        last_contact = max(contacts) if contacts else None
        synchronised = payload.get("clock_synchronised")
        backlog = payload.get("backlog")
        rows.append(
            DeviceRow(
                device_id=device.device_id,
                name=device.name,
                location_id=device.location_id,
                last_contact_at=last_contact,
                silent=device.revoked_at is None
                and (last_contact is None or now - last_contact > SILENT_AFTER),
                heartbeat_at=beat.received_at if beat is not None else None,
                backlog=backlog if isinstance(backlog, int) else None,
                oldest_pending_at=_moment(payload.get("oldest_pending_at")),
                clock_synchronised=synchronised if isinstance(synchronised, bool) else None,
                clock_offset_s=beat.clock_offset_s if beat is not None else None,
                camera_state=str(payload.get("camera_state") or ""),
                version=str(payload.get("version") or ""),
                parked=device.parked_count,
                revoked=device.revoked_at is not None,
            )
        )
    return rows


def location_rows(
    locations: Iterable[Location], devices: list[DeviceRow], visits_today: dict[int, int]
) -> list[LocationRow]:
    by_location: dict[int, list[DeviceRow]] = {}
    for device in devices:
        by_location.setdefault(device.location_id, []).append(device)
    return [
        LocationRow(
            code=loc.code,
            name=loc.name,
            district=_district_name(loc),
            office=loc.office.name if loc.office is not None else "",
            visits_today=visits_today.get(loc.pk, 0),
            devices=tuple(by_location.get(loc.pk, ())),
        )
        for loc in locations
    ]


def _district_name(location: Location) -> str:
    if location.district_unit is not None:
        return str(location.district_unit.name)
    if location.office is not None:
        return str(location.office.district.name)
    return str(location.district)


def _chart(labels: list[str], counts: list[int]) -> dict[str, Any]:
    return {"labels": labels, "counts": counts}


# -- pages ---------------------------------------------------------------------------------------------------


def overview(request: HttpRequest) -> HttpResponse:
    scope = scope_of(request)
    now = clock()
    day = today(now)
    start, end = day_bounds(day)
    visits = visits_of(scope)
    per_location = visits_per_location(visits, start, end)
    devices = device_rows(Device.objects.filter(location__in=scope.locations, revoked_at__isnull=True), now)
    locations = scope.locations.select_related("district_unit", "office__district").order_by("code")
    page = Paginator(locations, LOCATIONS_PER_PAGE).get_page(request.GET.get("page"))
    shown = {loc.pk for loc in page.object_list}
    rows = location_rows(page.object_list, [d for d in devices if d.location_id in shown], per_location)
    cards = Cards(
        locations=page.paginator.count,
        devices=len(devices),
        visits_today=sum(per_location.values()),
        silent_devices=sum(1 for d in devices if d.silent),
        backlog=sum(d.backlog or 0 for d in devices),
    )
    per_day = visits_per_day(visits, day, locations=None if scope.everything else scope.locations)
    per_hour = visits_per_hour(visits, day)
    hours = [f"{h:02d}:00" for h in range(24)]
    context = {
        "scope": scope,
        "now": now,
        "today": day,
        "cards": cards,
        "rows": rows,
        "page": page,
        "filter_query": _query(scope.query),
        "per_hour": _chart(hours, per_hour),
        "per_hour_pairs": list(zip(hours, per_hour, strict=True)),
        "per_day": _chart([d.isoformat() for d, _n in per_day], [n for _d, n in per_day]),
        "per_day_pairs": per_day,
        "no_role": scope.account is None,
        "masked_ids": not can_see_identities(request.user),
        "export_from": (day - timedelta(days=6)).isoformat(),
        "export_to": day.isoformat(),
    }
    return render(request, "dashboard/index.html", context)


def location_page(request: HttpRequest, code: str) -> HttpResponse:
    location = get_object_or_404(
        visible_locations(request.user).select_related("district_unit", "office__district"), code=code
    )
    now = clock()
    day = today(now)
    start, end = day_bounds(day)
    visits = Visit.objects.filter(location=location).order_by()
    devices = device_rows(Device.objects.filter(location=location), now)
    heartbeats = list(
        Heartbeat.objects.filter(device__location=location)
        .select_related("device")
        .order_by("-received_at", "-id")[:RECENT_HEARTBEATS]
    )
    per_day = visits_per_day(visits, day, locations=Location.objects.filter(pk=location.pk))
    context = {
        "location": location,
        "district": _district_name(location),
        "now": now,
        "devices": devices,
        "heartbeats": heartbeats,
        "visits_today": visits_per_location(visits, start, end).get(location.pk, 0),
        "per_day": _chart([d.isoformat() for d, _n in per_day], [n for _d, n in per_day]),
        "per_day_rows": per_day,
        "masked_ids": not can_see_identities(request.user),
        "export_hidden": {"location": location.code},
        "export_from": (day - timedelta(days=6)).isoformat(),
        "export_to": day.isoformat(),
    }
    return render(request, "dashboard/location.html", context)


def _query(params: dict[str, str]) -> str:
    return urlencode(params)


# -- exports -------------------------------------------------------------------------------------------------


class _Echo:
    """A file-like object whose ``write`` returns what it is given: csv.writer rows as strings to stream."""

    def write(self, value: str) -> str:
        return value


def _date(request: HttpRequest, name: str, default: date) -> date:
    text = request.GET.get(name, "")
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ExportRequestError(
            _("The date %(name)s must be written YYYY-MM-DD.") % {"name": name}
        ) from None


class ExportRequestError(Exception):
    """An export's parameters are unusable (a 400 page that says why)."""


def _export_rows(request: HttpRequest, visits: QuerySet[Visit]) -> Iterator[list[Any]]:
    zone = local_zone()
    columns = (
        "event_time",
        "location__code",
        "location__name",
        "location__district_unit__name",
        "location__office__name",
        "device__device_id",
        "direction",
        "kind",
        "id_number",
        "name",
        "outcome",
        "reason",
        "manual",
        "overrides_uuid",
        "clock_synchronised",
        "uuid",
    )
    for row in visits.values_list(*columns).iterator(chunk_size=2000):
        (at, code, loc_name, district, office, device, direction, kind, id_number, name, *rest) = row
        outcome, reason, manual, overrides, synchronised, uuid = rest
        shown_id, shown_name = masked(request.user, id_number, name)
        cells: list[str | int | bool] = [
            timezone.localtime(at, zone).strftime("%Y-%m-%d %H:%M:%S"),
            code,
            loc_name,
            district or "",
            office or "",
            device,
            direction,
            kind,
            shown_id,
            shown_name,
            outcome,
            reason,
            manual,
            overrides is not None,
            synchronised,
            uuid,
        ]
        yield [safe_cell(cell) for cell in cells]


def export_visits(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """Visits of a date range as CSV (streamed) or Excel, scoped, masked, and written to the audit log."""
    scope = scope_of(request)
    now = clock()
    visits = visits_of(scope)
    location_code = request.GET.get("location") or None
    if location_code is not None:
        location = get_object_or_404(scope.locations, code=location_code)
        visits = Visit.objects.filter(location=location).order_by()
    try:
        first = _date(request, "from", today(now))
        last = _date(request, "to", first)
        if last < first:
            raise ExportRequestError(_("The end date is before the start date."))
        if (last - first).days >= MAX_EXPORT_DAYS:
            raise ExportRequestError(_("Export at most %(days)d days at a time.") % {"days": MAX_EXPORT_DAYS})
    except ExportRequestError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    start, _end = day_bounds(first)
    _start, end = day_bounds(last)
    # Visits received after this moment are left out, so the count written to the audit log is the file's.
    visits = visits.filter(event_time__gte=start, event_time__lt=end, received_at__lte=now).order_by(
        "event_time", "id"
    )
    count = visits.count()
    if fmt == "xlsx" and count > XLSX_MAX_ROWS:
        return HttpResponseBadRequest(
            _("Too many visits for one Excel sheet: export a shorter period, or as CSV."),
            content_type="text/plain; charset=utf-8",
        )
    audit(
        request,
        "export_visits",
        format=fmt,
        date_from=first.isoformat(),
        date_to=last.isoformat(),
        district=scope.district.pk if scope.district is not None else None,
        office=scope.office.pk if scope.office is not None else None,
        location=location_code,
        rows=count,
    )
    label = location_code or (
        f"office-{scope.office.pk}"
        if scope.office is not None
        else (f"district-{scope.district.pk}" if scope.district is not None else "all")
    )
    filename = f"visits-{label}-{first.isoformat()}-{last.isoformat()}.{fmt}"
    rows = _export_rows(request, visits)
    response: HttpResponseBase
    if fmt == "csv":
        writer = csv.writer(_Echo())
        # A BOM: Excel on Windows then reads the Vietnamese names as UTF-8 (as the kiosk's export does).
        chunks = (writer.writerow(r) for r in _with_header(rows))
        response = StreamingHttpResponse(_prefixed("\ufeff", chunks), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            _xlsx(rows), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _with_header(rows: Iterator[list[Any]]) -> Iterator[Any]:
    yield list(EXPORT_COLUMNS)
    yield from rows


def _prefixed(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _xlsx(rows: Iterator[list[Any]]) -> bytes:
    from openpyxl import Workbook  # noqa: PLC0415 - only the Excel export needs it

    book = Workbook(write_only=True)
    sheet = book.create_sheet("visits")
    sheet.append(list(EXPORT_COLUMNS))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


urlpatterns: list[URLPattern] = [
    path("", login_required(overview), name="dashboard"),
    path("locations/<str:code>/", login_required(location_page), name="location"),
    path("export/visits.csv", login_required(export_visits), {"fmt": "csv"}, name="export_visits_csv"),
    path("export/visits.xlsx", login_required(export_visits), {"fmt": "xlsx"}, name="export_visits_xlsx"),
]
