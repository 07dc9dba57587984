"""Layer: server. Web pages: printable location QR boards (A4 PDF).

``/boards/``: the locations the account may see, each with a link to its board. ``/boards/<code>.pdf``: the
board, made and read back by ``server.province.boards`` (a location the account may not see is a 404, the
same answer as one that does not exist). A board that does not read back as its location's code is never
sent: the page says it could not be made and the server log says why.
"""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse

from server.province import boards
from server.web.scope import audit, login_required, visible_locations

log = logging.getLogger(__name__)


def board_list(request: HttpRequest) -> HttpResponse:
    locations = visible_locations(request.user).order_by("code")
    return render(request, "boards/list.html", {"locations": locations})


def board_file(request: HttpRequest, code: str) -> HttpResponse:
    location = visible_locations(request.user).filter(code=code).first()
    if location is None:
        raise Http404("no such location")
    report_url = boards.report_link(request.build_absolute_uri(reverse("public-report")), location.code)
    try:
        pdf = boards.board_pdf(boards.details_of(location, report_url))
    except boards.BoardError:  # logged by board_pdf with the reason
        return render(request, "boards/unavailable.html", {"location": location}, status=500)
    audit(request, "board_download", location=location.code)
    response = HttpResponse(pdf, content_type="application/pdf")
    # Location codes are [A-Za-z0-9_.-] (server.province.register): safe in the header as they are.
    response["Content-Disposition"] = f'inline; filename="qr-board-{location.code}.pdf"'
    response["Cache-Control"] = "private, no-cache"
    return response


urlpatterns = [
    path("", login_required(board_list), name="boards"),
    path("<str:code>.pdf", login_required(board_file), name="board-pdf"),
]
