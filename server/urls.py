"""Layer: server. URLs: the device API at ``/api/v1/``, the operators' admin at ``/admin/``, the province's web
pages (``server.web.urls``) everywhere else.

Outside the API Django's own pages answer; inside it every answer, even a 404 or a 500 that escaped the
API's handlers, is the protocol's JSON error.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import defaults

from server.api import api
from server.middleware import API_PREFIX, error_response

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("", include("server.web.urls")),
]


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return error_response(404, "not_found", "no such API path; this server speaks /api/v1/")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return error_response(500, "server_error", "the server failed; retry later")
    return defaults.server_error(request)


handler404 = not_found
handler500 = server_error
