"""Layer: server. Web pages: the dashboard: locations, devices, visits, charts, exports."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
