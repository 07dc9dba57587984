"""Layer: server. Web pages: sign-in, sign-out and what each role may see."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
