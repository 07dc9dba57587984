"""Layer: server. Web pages: printable location QR boards (A4 PDF)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
