"""Layer: server. The register (districts, offices, locations, devices, enrolment codes) and what the kiosks
send (visits, conflicting copies, upload batches, heartbeats).

The same migrations serve SQLite and PostgreSQL. Visits are unique on their UUID: that index is what makes
an upload idempotent, also when two server processes receive the same batch at the same moment.
"""

from __future__ import annotations

from django.db import models

from kiosk.model import PolicyMode


class District(models.Model):  # type: ignore[misc]
    name = models.CharField(max_length=200, unique=True)

    def __str__(self) -> str:
        return str(self.name)


class Office(models.Model):  # type: ignore[misc]
    name = models.CharField(max_length=200)
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="offices")

    def __str__(self) -> str:
        return str(self.name)


class Location(models.Model):  # type: ignore[misc]
    """A gate's place: what the kiosk shows and what its configuration says."""

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300, blank=True, default="")
    district = models.CharField(max_length=200, blank=True, default="")
    policy_mode = models.CharField(
        max_length=20, choices=[(m.value, m.value) for m in PolicyMode], default=PolicyMode.LOG.value
    )
    repeat_window_s = models.PositiveIntegerField(default=30)
    retention_days = models.PositiveIntegerField(default=30)
    trust_list = models.JSONField(null=True, blank=True)
    deny_list = models.JSONField(null=True, blank=True)
    roster = models.JSONField(null=True, blank=True)
    #: counts changes an operator made; the kiosk follows the ETag, which is a hash of the document itself
    config_version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ("code",)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Device(models.Model):  # type: ignore[misc]
    """A kiosk. It holds a token only after enrolment; the server keeps the token's SHA-256 only."""

    device_id = models.CharField(max_length=64, unique=True)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="devices")
    name = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    token_issued_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    #: visits the kiosk parked (conflicts, invalid), from its latest heartbeat
    parked_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("device_id",)

    def __str__(self) -> str:
        return str(self.device_id)


class EnrolmentCode(models.Model):  # type: ignore[misc]
    """A one-time code that enrols ``device_id`` at ``location``. Only its SHA-256 is kept."""

    code_hash = models.CharField(max_length=64, unique=True)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="enrolment_codes")
    device_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code for {self.device_id}"


class Heartbeat(models.Model):  # type: ignore[misc]
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="heartbeats")
    received_at = models.DateTimeField()
    sent_at = models.DateTimeField()
    #: server receive time minus the kiosk's sent_at: positive when the kiosk's clock is behind
    clock_offset_s = models.FloatField()
    payload = models.JSONField()

    class Meta:
        indexes = (models.Index(fields=["device", "received_at"]),)


class UploadLog(models.Model):  # type: ignore[misc]
    """One row per accepted upload batch: how many visits it carried and what became of them."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="uploads")
    received_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    stored = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)


class Visit(models.Model):  # type: ignore[misc]
    """One visit as a kiosk recorded it, plus the server's receive time and the content hash."""

    uuid = models.CharField(max_length=64, unique=True)
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="visits")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="visits")
    #: the location code the kiosk wrote into the visit (the register's is ``location``)
    kiosk_location_code = models.CharField(max_length=64)
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=40)
    identity_hash = models.CharField(max_length=128, null=True, blank=True)
    identity_key_id = models.CharField(max_length=64, null=True, blank=True)
    id_number = models.CharField(max_length=64, null=True, blank=True)
    name = models.CharField(max_length=200, null=True, blank=True)
    direction = models.CharField(max_length=8)
    outcome = models.CharField(max_length=20)
    reason = models.CharField(max_length=40)
    wall_time = models.DateTimeField()
    clock_synchronised = models.BooleanField()
    boot_id = models.CharField(max_length=64)
    monotonic_s = models.FloatField()
    privacy_notice_version = models.CharField(max_length=40)
    manual = models.BooleanField(default=False)
    warnings = models.JSONField(default=list)
    guard = models.CharField(max_length=100, null=True, blank=True)
    note = models.CharField(max_length=400, null=True, blank=True)
    original_outcome = models.CharField(max_length=20, null=True, blank=True)
    original_reason = models.CharField(max_length=40, null=True, blank=True)
    #: a guard override: the UUID of the refused visit it replaced (not a foreign key: the refusal may not be
    #: uploaded yet, or be parked)
    overrides_uuid = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    received_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64)
    #: the batch that stored this row: how an upload tells its own inserts from a concurrent one's
    upload = models.ForeignKey(UploadLog, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        indexes = (
            models.Index(fields=["location", "wall_time"]),
            models.Index(fields=["identity_hash"]),
            models.Index(fields=["device", "seq"]),
        )

    def __str__(self) -> str:
        return str(self.uuid)


class VisitConflict(models.Model):  # type: ignore[misc]
    """A copy of a visit whose UUID was already stored with different content, kept once for an operator."""

    uuid = models.CharField(max_length=64)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="conflicts")
    received_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64)
    content = models.JSONField()

    class Meta:
        constraints = (models.UniqueConstraint(fields=["uuid", "content_hash"], name="visit_conflict_once"),)
