"""Layer: server. The Django admin for operators: the register editable, what kiosks sent read-only.

Identity numbers and names are not shown in lists; a visit's page shows them only to who may view visits.
"""

from __future__ import annotations

from django.contrib import admin

from server.province import models


@admin.register(models.District)
class DistrictAdmin(admin.ModelAdmin):  # type: ignore[misc]
    search_fields = ("name",)


@admin.register(models.Office)
class OfficeAdmin(admin.ModelAdmin):  # type: ignore[misc]
    list_display = ("name", "district")


@admin.register(models.Location)
class LocationAdmin(admin.ModelAdmin):  # type: ignore[misc]
    list_display = ("code", "name", "district", "policy_mode", "config_version")
    search_fields = ("code", "name")


@admin.register(models.Device)
class DeviceAdmin(admin.ModelAdmin):  # type: ignore[misc]
    list_display = ("device_id", "location", "last_seen_at", "revoked_at", "parked_count")
    list_filter = ("location",)
    readonly_fields = ("token_issued_at", "last_seen_at", "parked_count")


@admin.register(models.EnrolmentCode)
class EnrolmentCodeAdmin(admin.ModelAdmin):  # type: ignore[misc]
    list_display = ("device_id", "location", "created_at", "expires_at", "used_at")
    readonly_fields = ("code_hash",)


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[misc]
    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(models.Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = ("uuid", "device", "location", "wall_time", "direction", "outcome", "reason")
    list_filter = ("location", "outcome")


@admin.register(models.VisitConflict)
class VisitConflictAdmin(ReadOnlyAdmin):
    list_display = ("uuid", "device", "received_at")


@admin.register(models.UploadLog)
class UploadLogAdmin(ReadOnlyAdmin):
    list_display = ("device", "received_at", "count", "stored", "duplicates", "conflicts")


@admin.register(models.Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("device", "received_at", "clock_offset_s")
