"""Layer: server. Web pages: contact tracing queries and their exports."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
