"""Layer: server. Web pages: the signs of violation per district, with their evidence in plain words, marked
handled with a note; citizen reports beside the flags of their location; and the daily "staff who did not
scan" report per office and district, with a CSV export.

Every page shows only what ``scope.visible_locations`` allows; marking a flag or a report handled and every
export is written to the audit log (``scope.audit``). The rules themselves live in ``server.province.rules``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from kiosk.export import safe_cell
from server.province.models import CitizenReport, District, Location, ViolationFlag
from server.province.rules import PROVINCE_TZ, Rule, staff_report
from server.web.scope import audit, login_required, masked, visible_locations

#: flags on one page; the filters narrow a long list
PAGE_SIZE = 200
NOTE_MAX = 500

RULE_LABELS = {
    Rule.DEVICE_SILENT: gettext_lazy("Kiosk silent during office hours"),
    Rule.NO_VISITS: gettext_lazy("No visits on a working day"),
    Rule.DETAILS_MISMATCH: gettext_lazy("Location details differ from the register"),
    Rule.MANUAL_SHARE: gettext_lazy("Many manual entries or guard overrides"),
    Rule.STAFF_COMPLIANCE: gettext_lazy("Staff who did not scan"),
    Rule.CLOCK_UNSYNCED: gettext_lazy("Kiosk clock unsynchronised or far off"),
}
PROBLEM_LABELS = {
    CitizenReport.Problem.BOARD_MISSING: gettext_lazy("QR board missing"),
    CitizenReport.Problem.BOARD_WRONG: gettext_lazy("QR board with wrong details"),
    CitizenReport.Problem.BOARD_UNREADABLE: gettext_lazy("QR board does not scan"),
    CitizenReport.Problem.KIOSK_BROKEN: gettext_lazy("Kiosk does not work"),
    CitizenReport.Problem.OTHER: gettext_lazy("Other"),
}
FIELD_LABELS = {
    "code": gettext_lazy("code"),
    "name": gettext_lazy("name"),
    "address": gettext_lazy("address"),
    "district": gettext_lazy("district"),
}


def _today() -> date:
    today: date = timezone.now().astimezone(PROVINCE_TZ).date()
    return today


def _districts(locations: QuerySet[Location]) -> QuerySet[District]:
    return (
        District.objects.filter(Q(locations__in=locations) | Q(offices__locations__in=locations))
        .distinct()
        .order_by("name")
    )


def _in_district(locations: QuerySet[Location], district: District) -> QuerySet[Location]:
    return locations.filter(Q(district_unit=district) | Q(office__district=district))


class FlagFilter(forms.Form):  # type: ignore[misc]
    district = forms.ModelChoiceField(
        queryset=District.objects.none(), required=False, label=gettext_lazy("District"),
        empty_label=gettext_lazy("All districts"),
    )  # fmt: skip
    rule = forms.ChoiceField(required=False, label=gettext_lazy("Rule"))
    state = forms.ChoiceField(
        required=False,
        label=gettext_lazy("State"),
        choices=[
            ("open", gettext_lazy("Open")),
            ("handled", gettext_lazy("Handled")),
            ("all", gettext_lazy("All")),
        ],
    )
    start = forms.DateField(
        required=False, label=gettext_lazy("From"), widget=forms.DateInput({"type": "date"})
    )
    end = forms.DateField(required=False, label=gettext_lazy("To"), widget=forms.DateInput({"type": "date"}))

    def __init__(self, data: Any, districts: QuerySet[District]) -> None:
        super().__init__(data)
        self.fields["district"].queryset = districts
        self.fields["rule"].choices = [("", _("All rules")), *((r.value, RULE_LABELS[r]) for r in Rule)]


@dataclass(frozen=True, slots=True)
class FlagRow:
    """A flag as the page shows it."""

    pk: int
    rule: str
    rule_label: str
    day: date
    evidence: tuple[str, ...]
    handled: bool
    handled_at: Any
    handled_by: str
    handled_note: str


@dataclass(frozen=True, slots=True)
class ReportRow:
    pk: int
    at: Any
    problem: str
    text: str
    location_text: str
    handled: bool


@dataclass(slots=True)
class LocationGroup:
    code: str
    name: str
    district: str
    flags: list[FlagRow] = field(default_factory=list)
    reports: list[ReportRow] = field(default_factory=list)


def describe(rule: str, ev: dict[str, Any]) -> tuple[str, ...]:
    """The evidence behind a flag in plain words, one line per fact."""
    try:
        return _describe(rule, ev)
    except (KeyError, TypeError, ValueError):  # evidence written by an older version of the rules
        return (", ".join(f"{k}: {v}" for k, v in ev.items()),)


def _describe(rule: str, ev: dict[str, Any]) -> tuple[str, ...]:
    if rule == Rule.DEVICE_SILENT:
        lines = [
            _(
                "Kiosk %(device)s sent no heartbeat for %(minutes)s minutes, from %(start)s to %(end)s "
                "(%(beats)s heartbeats in office hours)."
            )
            % {
                "device": d["device"],
                "minutes": d["longest_gap_min"],
                "start": d["from"],
                "end": d["to"],
                "beats": d["heartbeats"],
            }
            for d in ev["devices"]
        ]
        lines.append(
            _("Expected: a heartbeat at least every %(minutes)s minutes during office hours %(hours)s.")
            % {"minutes": ev["threshold_min"], "hours": ev["office_hours"]}
        )
        return tuple(lines)
    if rule == Rule.NO_VISITS:
        return (
            _("No visit was recorded during office hours %(hours)s on this working day.")
            % {"hours": ev["office_hours"]},
            _("Expected: at least one visit; the location has %(devices)s kiosk(s).")
            % {"devices": ev["devices"]},
        )
    if rule == Rule.DETAILS_MISMATCH:
        return tuple(
            _(
                "Kiosk %(device)s shows the %(field)s “%(kiosk)s”; the register says “%(register)s” "
                "(%(beats)s heartbeats, %(first)s–%(last)s)."
            )
            % {
                "device": d["device"],
                "field": FIELD_LABELS.get(d["field"], d["field"]),
                "kiosk": d["kiosk"],
                "register": d["register"],
                "beats": d["heartbeats"],
                "first": d["first"],
                "last": d.get("last", d["first"]),
            }
            for d in ev["differences"]
        )
    if rule == Rule.MANUAL_SHARE:
        return (
            _(
                "%(manual)s of %(visits)s visits (%(share)s%%) were manual entries or guard overrides (%(overrides)s overrides)."
            )
            % {
                "manual": ev["manual_or_override"],
                "visits": ev["visits"],
                "share": round(100 * ev["share"]),
                "overrides": ev["overrides"],
            },
            _("Expected: at most %(threshold)s%% when there are at least %(min)s visits.")
            % {"threshold": round(100 * ev["threshold"]), "min": ev["min_visits"]},
        )
    if rule == Rule.STAFF_COMPLIANCE:
        missing = ", ".join(f"{m['name']} {m['masked_id']}" for m in ev["missing"])
        return (
            _("%(scanned)s of %(roster)s staff on the roster scanned (%(share)s%%).")
            % {"scanned": ev["scanned"], "roster": ev["roster"], "share": round(100 * ev["compliance"])},
            _("Did not scan: %(names)s.") % {"names": missing},
            _("Expected: at least %(threshold)s%% of the roster.")
            % {"threshold": round(100 * ev["threshold"])},
        )
    if rule == Rule.CLOCK_UNSYNCED:
        lines = [
            _(
                "Kiosk %(device)s: %(unsynced)s heartbeats with an unsynchronised clock; largest offset "
                "%(offset)s s at %(at)s."
            )
            % {
                "device": d["device"],
                "unsynced": d["unsynchronised_heartbeats"],
                "offset": d["max_offset_s"],
                "at": d["at"],
            }
            for d in ev["devices"]
        ]
        if ev["unsynchronised_visits"]:
            lines.append(
                _(
                    "%(count)s visits were recorded with an unsynchronised clock (the server's receive time is used)."
                )
                % {"count": ev["unsynchronised_visits"]}
            )
        lines.append(
            _("Expected: a synchronised clock, off by at most %(seconds)s s.")
            % {"seconds": ev["threshold_s"]}
        )
        return tuple(lines)
    return (", ".join(f"{k}: {v}" for k, v in ev.items()),)


def _flag_row(flag: ViolationFlag) -> FlagRow:
    label = RULE_LABELS.get(flag.rule)
    return FlagRow(
        pk=flag.pk,
        rule=flag.rule,
        rule_label=str(label) if label is not None else flag.rule,
        day=flag.day,
        evidence=describe(flag.rule, flag.evidence if isinstance(flag.evidence, dict) else {}),
        handled=flag.handled_at is not None,
        handled_at=flag.handled_at,
        handled_by=flag.handled_by.get_username() if flag.handled_by is not None else "",
        handled_note=flag.handled_note,
    )


def _report_row(report: CitizenReport) -> ReportRow:
    label = PROBLEM_LABELS.get(report.problem)
    return ReportRow(
        pk=report.pk,
        at=report.at,
        problem=str(label) if label is not None else report.problem,
        text=report.text,
        location_text=report.location_text,
        handled=report.handled_at is not None,
    )


def _flag_list(request: HttpRequest) -> HttpResponse:
    visible = visible_locations(request.user)
    form = FlagFilter(request.GET or {"state": "open"}, _districts(visible))
    today = _today()
    start, end, state, rule, district = today - timedelta(days=30), today, "open", "", None
    if form.is_valid():
        start = form.cleaned_data["start"] or start
        end = form.cleaned_data["end"] or end
        state = form.cleaned_data["state"] or state
        rule = form.cleaned_data["rule"]
        district = form.cleaned_data["district"]
    locations = _in_district(visible, district) if district is not None else visible

    flags = ViolationFlag.objects.filter(location__in=locations, day__gte=start, day__lte=end)
    reports = CitizenReport.objects.filter(
        location__in=locations, at__date__gte=start, at__date__lte=end + timedelta(days=1)
    )
    if rule:
        flags = flags.filter(rule=rule)
    if state == "open":
        flags, reports = flags.filter(handled_at__isnull=True), reports.filter(handled_at__isnull=True)
    elif state == "handled":
        flags, reports = flags.filter(handled_at__isnull=False), reports.filter(handled_at__isnull=False)
    total = flags.count()
    shown = list(
        flags.select_related("location", "handled_by").order_by("-day", "location__code", "rule")[:PAGE_SIZE]
    )
    groups: dict[int, LocationGroup] = {}

    def group_of(loc: Location) -> LocationGroup:
        if loc.pk not in groups:
            groups[loc.pk] = LocationGroup(loc.code, loc.name, loc.district)
        return groups[loc.pk]

    for flag in shown:
        group_of(flag.location).flags.append(_flag_row(flag))
    for report in reports.select_related("location").order_by("-at")[:PAGE_SIZE]:
        group_of(report.location).reports.append(_report_row(report))
    unplaced: list[ReportRow] = []
    if visible.count() == Location.objects.count() and district is None:
        # Reports naming no registered location: only an account that sees every location sees them.
        loose = CitizenReport.objects.filter(location__isnull=True, at__date__gte=start, at__date__lte=end)
        if state == "open":
            loose = loose.filter(handled_at__isnull=True)
        elif state == "handled":
            loose = loose.filter(handled_at__isnull=False)
        unplaced = [_report_row(r) for r in loose.order_by("-at")[:PAGE_SIZE]]
    context = {
        "form": form,
        "groups": list(groups.values()),
        "unplaced": unplaced,
        "total": total,
        "shown": len(shown),
        "start": start,
        "end": end,
        "next": request.get_full_path(),
        "note_max": NOTE_MAX,
    }
    return render(request, "flags/list.html", context)


def _back(request: HttpRequest) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("flags")
    return HttpResponseRedirect(target)


def _mark_handled(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        flag = ViolationFlag.objects.select_related("location").get(
            pk=pk, location__in=visible_locations(request.user)
        )
    except ViolationFlag.DoesNotExist:
        raise Http404(_("No such flag among the locations you may see.")) from None
    note = request.POST.get("note", "").strip()[:NOTE_MAX]
    if flag.handled_at is not None:
        messages.info(request, _("This flag was already marked handled."))
        return _back(request)
    now = timezone.now()
    updated = ViolationFlag.objects.filter(pk=flag.pk, handled_at__isnull=True).update(
        handled_at=now, handled_by=request.user, handled_note=note
    )
    if updated:
        audit(
            request,
            "flag_handled",
            at=now,
            flag=flag.pk,
            rule=flag.rule,
            location=flag.location.code,
            day=flag.day.isoformat(),
            with_note=bool(note),  # the note itself stays on the flag: it may name someone
        )
        messages.success(
            request,
            _("Marked handled: %(location)s, %(day)s.") % {"location": flag.location.code, "day": flag.day},
        )
    return _back(request)


def _mark_report_handled(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        report = CitizenReport.objects.get(pk=pk, location__in=visible_locations(request.user))
    except CitizenReport.DoesNotExist:
        raise Http404(_("No such report among the locations you may see.")) from None
    now = timezone.now()
    if CitizenReport.objects.filter(pk=report.pk, handled_at__isnull=True).update(
        handled_at=now, handled_by=request.user
    ):
        audit(request, "report_handled", at=now, report=report.pk, location=report.location_id)
        messages.success(request, _("Citizen report marked handled."))
    return _back(request)


class StaffFilter(forms.Form):  # type: ignore[misc]
    day = forms.DateField(required=False, label=gettext_lazy("Day"), widget=forms.DateInput({"type": "date"}))
    district = forms.ModelChoiceField(
        queryset=District.objects.none(), required=False, label=gettext_lazy("District"),
        empty_label=gettext_lazy("All districts"),
    )  # fmt: skip

    def __init__(self, data: Any, districts: QuerySet[District]) -> None:
        super().__init__(data)
        self.fields["district"].queryset = districts


@dataclass(frozen=True, slots=True)
class StaffLine:
    name: str
    masked_id: str
    group: str


def _staff(request: HttpRequest) -> HttpResponse:
    """The "staff who did not scan" report for a day (default yesterday); ``?format=csv`` exports it."""
    visible = visible_locations(request.user)
    form = StaffFilter(request.GET, _districts(visible))
    day, district = _today() - timedelta(days=1), None
    if form.is_valid():
        day = form.cleaned_data["day"] or day
        district = form.cleaned_data["district"]
    locations = _in_district(visible, district) if district is not None else visible
    rows = staff_report(locations.select_related("office__district"), day)
    lines = [
        (row, [StaffLine(masked(request.user, None, e.name)[1], e.masked_id, e.group) for e in row.missing])
        for row in rows
    ]
    if request.GET.get("format") == "csv":
        return _staff_csv(request, day, district, lines)
    context = {
        "form": form,
        "day": day,
        "lines": lines,
        "missing_total": sum(len(row.missing) for row in rows),
        "roster_total": sum(row.roster_size for row in rows),
        "csv_query": request.GET.urlencode(),
    }
    return render(request, "flags/staff.html", context)


def _staff_csv(request: HttpRequest, day: date, district: District | None, lines: list[Any]) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["day", "district", "office", "location", "name", "masked_id", "group"])
    count = 0
    for row, people in lines:
        for person in people:
            writer.writerow(
                [
                    safe_cell(v)
                    for v in (
                        day.isoformat(),
                        row.district,
                        row.office,
                        row.location_code,
                        person.name,
                        person.masked_id,
                        person.group,
                    )
                ]
            )
            count += 1
    audit(
        request,
        "staff_report_export",
        day=day.isoformat(),
        district=district.name if district is not None else "",
        rows=count,
    )
    # A BOM: Excel on Windows then reads the Vietnamese names as UTF-8.
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="staff-not-scanned-{day.isoformat()}.csv"'
    return response


# Wrapped here, not with decorators: Django's decorators are untyped, the names below keep their types.
flag_list: Callable[[HttpRequest], HttpResponse] = login_required(require_GET(_flag_list))
mark_handled: Callable[..., HttpResponse] = login_required(require_POST(_mark_handled))
mark_report_handled: Callable[..., HttpResponse] = login_required(require_POST(_mark_report_handled))
staff: Callable[[HttpRequest], HttpResponse] = login_required(require_GET(_staff))

urlpatterns: list[URLPattern] = [
    path("", flag_list, name="flags"),
    path("<int:pk>/handled/", mark_handled, name="flag_handled"),
    path("reports/<int:pk>/handled/", mark_report_handled, name="report_handled"),
    path("staff/", staff, name="flags_staff"),
]
