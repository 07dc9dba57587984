"""Layer: server. The web pages' URLs: each area keeps its own ``urlpatterns`` in its module."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),  # the language switch (set_language, POST + CSRF)
    path("", include("server.web.accounts")),
    path("", include("server.web.dashboard")),
    path("flags/", include("server.web.flags")),
    path("trace/", include("server.web.tracing")),
    path("boards/", include("server.web.boards")),
    path("report/", include("server.web.public")),
]
