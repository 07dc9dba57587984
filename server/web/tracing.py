"""Layer: server. Web pages: contact tracing queries and their exports.

``GET /trace/`` shows the form; ``POST /trace/`` (CSRF) runs the query and shows the result; ``POST
/trace/export/`` (CSRF, the same fields plus ``format``) downloads it as CSV or Excel. Queries go by POST so
that an ID number or a name never appears in a URL, and so in no access log. Every query and every export
is written to the audit log with the subject's keyed hash (or ``name+year``), the period and the counts —
never the number or the name. Identities are masked unless the account may see full ones.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from kiosk.export import safe_cell
from kiosk.identity import IdentityKeyring
from kiosk.model import mask_id, mask_name
from kiosk.trace import (
    COLUMNS,
    DEFAULT_MARGIN,
    MAX_PERIOD_DAYS,
    Contact,
    Period,
    Subject,
    TraceProblem,
    TraceQueryError,
    TraceResult,
    TraceVisit,
    Window,
    result_rows,
)
from server.province.tracing import province_keyring, trace
from server.web.scope import audit, can_see_identities, login_required, visible_locations

#: What the form says for each refusal of ``kiosk.trace`` (its reason codes).
PROBLEM_TEXT = {
    TraceProblem.NO_SUBJECT: _("Give an ID number, or a name and a birth year."),
    TraceProblem.BAD_ID: _("An ID number is the 12 digits of the citizen ID card."),
    TraceProblem.NO_BIRTH_YEAR: _("A name needs a birth year, and a birth year needs a name."),
    TraceProblem.BAD_BIRTH_YEAR: _("A birth year is four digits, e.g. 1990."),
    TraceProblem.BAD_NAME: _("The name must have letters and at most 200 characters."),
    TraceProblem.BAD_PERIOD: _(
        "The last day must not be before the first, and a period is at most %(days)s days."
    ),
    TraceProblem.BAD_MARGIN: _("The margin is 0 to 1440 minutes."),
}


class TraceForm(forms.Form):  # type: ignore[misc]
    id_number = forms.CharField(label=_("ID number"), required=False, max_length=32)
    name = forms.CharField(label=_("Full name"), required=False, max_length=200)
    birth_year = forms.IntegerField(label=_("Birth year"), required=False, min_value=1900, max_value=2299)
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    margin_min = forms.IntegerField(
        label=_("Margin (minutes)"),
        min_value=0,
        max_value=1440,
        initial=int(DEFAULT_MARGIN.total_seconds() // 60),
    )

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean()
        if self.errors:
            return data
        try:
            data["subject"] = Subject.parse(data.get("id_number"), data.get("name"), data.get("birth_year"))
            data["period"] = Period(data["date_from"], data["date_to"])
        except TraceQueryError as exc:
            raise forms.ValidationError(PROBLEM_TEXT[exc.reason], params={"days": MAX_PERIOD_DAYS}) from exc
        data["margin"] = timedelta(minutes=data["margin_min"])
        return data


def _initial() -> dict[str, Any]:
    today = timezone.localdate()
    return {"date_from": today - timedelta(days=13), "date_to": today, "margin_min": 15}


# -- what the result page shows: values, not ORM rows ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShownVisit:
    time: datetime
    location: str
    location_name: str
    direction: str
    outcome: str
    id_number: str
    name: str


@dataclass(frozen=True, slots=True)
class ShownContact:
    id_number: str
    name: str
    times: tuple[datetime, ...]


@dataclass(frozen=True, slots=True)
class ShownWindow:
    location: str
    location_name: str
    start: datetime
    end: datetime
    contacts: tuple[ShownContact, ...]


@dataclass(frozen=True, slots=True)
class ShownDay:
    day: date
    visits: tuple[ShownVisit, ...]


def _shown_visit(v: TraceVisit, full: bool) -> ShownVisit:
    number = v.id_number or ""
    name = v.name or ""
    if not full:
        number, name = (mask_id(number) if number else ""), (mask_name(name) if name else "")
    local = timezone.localtime(v.time)
    return ShownVisit(local, v.location, v.location_name, v.direction.value, v.outcome.value, number, name)


def _shown_contact(contact: Contact, full: bool) -> ShownContact:
    number, name = contact.shown(full=full)
    return ShownContact(number, name, tuple(timezone.localtime(v.time) for v in contact.visits))


def _shown_window(window: Window, contacts: tuple[Contact, ...], full: bool) -> ShownWindow:
    return ShownWindow(
        window.location,
        window.location_name,
        timezone.localtime(window.start),
        timezone.localtime(window.end),
        tuple(_shown_contact(c, full) for c in contacts),
    )


# -- views ---------------------------------------------------------------------------------------------


def _run(request: HttpRequest, form: TraceForm) -> tuple[TraceResult, IdentityKeyring]:
    keyring = province_keyring()
    data = form.cleaned_data
    result = trace(
        data["subject"], data["period"], data["margin"], visible_locations(request.user), keyring=keyring
    )
    return result, keyring


def _audit(
    request: HttpRequest, action: str, result: TraceResult, keyring: IdentityKeyring, **extra: Any
) -> None:
    # The subject's keyed hash (or "name+year"), never its number or name: the audit log is read widely.
    detail: dict[str, Any] = {
        "subject": result.subject.marker(keyring),
        "first": result.period.first.isoformat(),
        "last": result.period.last.isoformat(),
        "margin_min": int(result.margin.total_seconds() // 60),
        **result.counts(),
        **extra,
    }
    audit(request, action, **detail)


def _query(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "tracing/form.html", {"form": TraceForm(initial=_initial())})
    form = TraceForm(request.POST)
    if not form.is_valid():
        return render(request, "tracing/form.html", {"form": form}, status=400)
    result, keyring = _run(request, form)
    _audit(request, "trace_query", result, keyring)
    full = can_see_identities(request.user)
    context = {
        "form": form,
        "result": result,
        "full": full,
        "subject": result.subject.full() if full else result.subject.masked(),
        "days": [ShownDay(day, tuple(_shown_visit(v, full) for v in vs)) for day, vs in result.days],
        "windows": [_shown_window(w.window, w.contacts, full) for w in result.windows],
        "margin_min": int(result.margin.total_seconds() // 60),
    }
    return render(request, "tracing/result.html", context)


def _export(request: HttpRequest) -> HttpResponse:
    form = TraceForm(request.POST)
    fmt = request.POST.get("format", "csv")
    if fmt not in ("csv", "xlsx") or not form.is_valid():
        return render(request, "tracing/form.html", {"form": form}, status=400)
    result, keyring = _run(request, form)
    rows = [
        [safe_cell(cell) for cell in row]
        for row in result_rows(result, full=can_see_identities(request.user))
    ]
    _audit(request, "trace_export", result, keyring, format=fmt, rows=len(rows))
    stem = f"trace-{result.period.first}-{result.period.last}"
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
        # A BOM, so that Excel on Windows shows Vietnamese names right when the file is double-clicked.
        response = HttpResponse(
            ("\ufeff" + text.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8"
        )
    else:
        response = HttpResponse(
            _xlsx(rows), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


def _xlsx(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook  # noqa: PLC0415 - only the Excel export needs it

    book = Workbook(write_only=True)
    sheet = book.create_sheet("trace")
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


#: Both views need a signed-in account; the query runs by POST (CSRF) only, the form is a GET.
query: Callable[[HttpRequest], HttpResponse] = login_required(require_http_methods(["GET", "POST"])(_query))
export: Callable[[HttpRequest], HttpResponse] = login_required(require_POST(_export))

urlpatterns: list[URLPattern] = [
    path("", query, name="trace"),
    path("export/", export, name="trace-export"),
]
