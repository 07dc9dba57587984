"""Layer: server. Web pages: signs of violation per district, with evidence, marked handled."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
