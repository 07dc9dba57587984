"""Layer: server. The province app's configuration."""

from __future__ import annotations

from django.apps import AppConfig


class ProvinceConfig(AppConfig):  # type: ignore[misc]
    name = "server.province"
    label = "province"
    verbose_name = "Province"
    default_auto_field = "django.db.models.BigAutoField"
