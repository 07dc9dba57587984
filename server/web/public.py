"""Layer: server. Web pages: the public citizen report page (no sign-in, rate limited)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
