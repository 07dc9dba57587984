"""Layer: server. Web pages: the public citizen report page (no sign-in, CSRF protected, rate limited).

``/report/``: a citizen reports a location whose QR board is missing, wrong or unreadable, or whose kiosk does
not work. The location is given by its code (prefilled from ``?code=``, the link a board prints) or described
in free text; a description is optional. ``/report/thanks/`` follows a stored report (post, redirect, get).

Abuse limits: at most ``PER_CLIENT_PER_HOUR`` reports an hour from one client and ``OVERALL_PER_HOUR`` from
everyone together; over either the page answers 429. A client is a keyed hash (HMAC-SHA256 with the
``SECRET_KEY``) of its address — an IPv6 address by its /64 network, which one household or phone holds
whole — kept in ``CitizenReport.client_hash``; the address itself is stored nowhere. The address is
``REMOTE_ADDR``: ``kiosk-server serve`` faces the network itself (no proxy in front to forward another).

Texts are NFC, limited in length, and refused with a clear message when they hold control, format (bidi
override, zero width) or noncharacter code points (``kiosk.payloads.text``); the description keeps its line
breaks. Reports are listed with the signs of violation (``server.web.flags``).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from kiosk.payloads.text import is_refused_character
from server.province.models import CitizenReport, Location
from server.province.register import CODE_PATTERN

log = logging.getLogger(__name__)

#: Reports one client may send in ``WINDOW``, and everyone together (a flood from many addresses).
PER_CLIENT_PER_HOUR = 5
OVERALL_PER_HOUR = 200
WINDOW = timedelta(hours=1)
_CLIENT_SALT = "server.web.public.client"
_CODE = re.compile(CODE_PATTERN)

PROBLEMS = [
    (CitizenReport.Problem.BOARD_MISSING, _("The QR board is missing")),
    (CitizenReport.Problem.BOARD_WRONG, _("The QR board is wrong (another place, wrong name or code)")),
    (
        CitizenReport.Problem.BOARD_UNREADABLE,
        _("The QR board cannot be scanned (damaged, faded, covered)"),
    ),
    (CitizenReport.Problem.KIOSK_BROKEN, _("The gate kiosk does not work")),
    (CitizenReport.Problem.OTHER, _("Something else")),
]


def _checked_text(value: str, *, multiline: bool = False) -> str:
    """NFC text without control, format or noncharacter code points (line breaks kept where ``multiline``)."""
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    for ch in value:
        if multiline and ch == "\n":
            continue
        if is_refused_character(ch):
            raise ValidationError(
                _(
                    "This text holds an invisible control or direction character (U+%(code)s); "
                    "please type it again."
                ),
                code="control_chars",
                params={"code": f"{ord(ch):04X}"},
            )
    return value


class ReportForm(forms.Form):  # type: ignore[misc]
    problem = forms.ChoiceField(label=_("What is wrong?"), choices=PROBLEMS, widget=forms.RadioSelect)
    code = forms.CharField(
        label=_("Location code"),
        required=False,
        max_length=64,
        help_text=_("Printed under the QR code on the board, for example HUE-0001."),
    )
    place = forms.CharField(
        label=_("Or the place's name and address"),
        required=False,
        max_length=300,
        help_text=_("If there is no board or you cannot read its code."),
    )
    text = forms.CharField(
        label=_("What did you see? (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def clean_code(self) -> Location | None:
        code = _checked_text(self.cleaned_data["code"])
        if not code:
            return None
        if not _CODE.fullmatch(code):
            raise ValidationError(
                _("A location code has only letters, digits, '.', '_' and '-', like HUE-0001."), code="code"
            )
        location: Location | None = Location.objects.filter(code=code).first()
        if location is None:  # typed by hand: HUE-0001 as hue-0001, when that names one location only
            matches = list(Location.objects.filter(code__iexact=code)[:2])
            location = matches[0] if len(matches) == 1 else None
        if location is None:
            raise ValidationError(
                _("No location has this code. Check it, or leave it empty and describe the place."),
                code="unknown",
            )
        return location

    def clean_place(self) -> str:
        return _checked_text(self.cleaned_data["place"])

    def clean_text(self) -> str:
        text = _checked_text(self.cleaned_data["text"], multiline=True)
        if len(text) > 1000:  # NFC may lengthen a text the browser counted as short enough
            raise ValidationError(_("Please keep the description under 1000 characters."), code="max_length")
        return text

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if not self.errors and data.get("code") is None and not data.get("place"):
            raise ValidationError(
                _("Give the location code, or the place's name and address."), code="no_location"
            )
        return data


def client_key(address: str) -> str:
    """What one client is, before hashing: its IPv4 address, or its IPv6 /64 network."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return "unknown"  # no usable address: such requests share one allowance
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_hash(address: str) -> str:
    """HMAC-SHA256 (keyed with the SECRET_KEY) of the client's key: 64 hex digits, the address not recoverable."""
    digest: str = salted_hmac(_CLIENT_SALT, client_key(address), algorithm="sha256").hexdigest()
    return digest


def over_limit(client: str, now: datetime) -> bool:
    since = now - WINDOW
    recent = CitizenReport.objects.filter(at__gt=since)
    return bool(
        recent.filter(client_hash=client).count() >= PER_CLIENT_PER_HOUR or recent.count() >= OVERALL_PER_HOUR
    )


def report(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ReportForm(request.POST)
        if form.is_valid():
            client = client_hash(request.META.get("REMOTE_ADDR", ""))
            now = timezone.now()
            # One transaction: on SQLite (IMMEDIATE) two workers cannot both pass the count for one last slot.
            with transaction.atomic():
                limited = over_limit(client, now)
                if not limited:
                    stored = CitizenReport.objects.create(
                        at=now,
                        location=form.cleaned_data["code"],
                        location_text=form.cleaned_data["place"],
                        problem=form.cleaned_data["problem"],
                        text=form.cleaned_data["text"],
                        client_hash=client,
                    )
            if limited:
                log.warning("citizen report refused: over the rate limit (client %s…)", client[:12])
                response = render(request, "public/limited.html", {"window_min": 60}, status=429)
                response["Retry-After"] = str(int(WINDOW.total_seconds()))
                return response
            log.info("citizen report %s stored: %s", stored.pk, stored.problem)
            return redirect("public-report-thanks")
        return render(request, "public/report.html", {"form": form, "location": None})
    code = request.GET.get("code", "")[:64]
    # The board's link names the place: show which one, so the citizen sees the report is about it.
    location = Location.objects.filter(code=code).first() if _CODE.fullmatch(code) else None
    form = ReportForm(initial={"code": code})
    return render(request, "public/report.html", {"form": form, "location": location})


def thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "public/thanks.html")


urlpatterns = [
    path("", require_http_methods(["GET", "POST"])(report), name="public-report"),
    path("thanks/", thanks, name="public-report-thanks"),
]
