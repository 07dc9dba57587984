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
    """A public body or business with one or more gated locations; its staff roster is pushed to its kiosks."""

    name = models.CharField(max_length=200)
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="offices")
    #: the staff roster (kiosk/roster.py format: names, keyed identity hashes, masked IDs); None: none yet
    roster = models.JSONField(null=True, blank=True)

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
    #: the register's district and office (``district`` above is the text the kiosk shows)
    district_unit = models.ForeignKey(
        District, on_delete=models.SET_NULL, null=True, blank=True, related_name="locations"
    )
    office = models.ForeignKey(
        Office, on_delete=models.SET_NULL, null=True, blank=True, related_name="locations"
    )
    #: when the premises are open (``{"days": [0..6], "open": "07:30", "close": "17:00"}``, Monday = 0);
    #: None: the province's default office hours
    office_hours = models.JSONField(null=True, blank=True)

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
    #: when the visit happened as the province counts it: the device's wall time when its clock was
    #: synchronised, else the server's receive time (tracing and the dashboard use this)
    event_time = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64)
    #: the batch that stored this row: how an upload tells its own inserts from a concurrent one's
    upload = models.ForeignKey(UploadLog, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        indexes = (
            models.Index(fields=["location", "wall_time"]),
            models.Index(fields=["location", "event_time"]),
            models.Index(fields=["event_time"]),
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


# -- the province's side: accounts, audit, signs of violation, citizen reports, forwarding, deletion ----------


class Account(models.Model):  # type: ignore[misc]
    """What a login may see: the whole province, one district, or one office."""

    class Role(models.TextChoices):  # type: ignore[misc]
        PROVINCE = "province"
        DISTRICT = "district"
        OFFICE = "office"

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="account")
    role = models.CharField(max_length=20, choices=Role.choices)
    district = models.ForeignKey(District, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    office = models.ForeignKey(Office, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    #: may see full ID numbers and names (tracing officers); everyone else sees them masked
    full_identities = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class AuditEntry(models.Model):  # type: ignore[misc]
    """Who did what when: every export, tracing query, deletion and flag handled."""

    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey("auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    username = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=40, db_index=True)
    detail = models.JSONField(default=dict)

    class Meta:
        ordering = ("-at",)


class RuleSettings(models.Model):  # type: ignore[misc]
    """The thresholds of the signs-of-violation rules (one row; defaults in ``server.province.rules``)."""

    thresholds = models.JSONField(default=dict)
    changed_at = models.DateTimeField(null=True, blank=True)


class ViolationFlag(models.Model):  # type: ignore[misc]
    """A sign of violation at a location on a day, with its evidence, until someone marks it handled."""

    rule = models.CharField(max_length=40)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="flags")
    day = models.DateField()
    evidence = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    handled_note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        constraints = (models.UniqueConstraint(fields=["rule", "location", "day"], name="flag_once_a_day"),)
        indexes = (models.Index(fields=["day", "rule"]), models.Index(fields=["location", "day"]))


class CitizenReport(models.Model):  # type: ignore[misc]
    """A citizen's report from the public page: a missing, wrong or unreadable board, a broken kiosk."""

    class Problem(models.TextChoices):  # type: ignore[misc]
        BOARD_MISSING = "board_missing"
        BOARD_WRONG = "board_wrong"
        BOARD_UNREADABLE = "board_unreadable"
        KIOSK_BROKEN = "kiosk_broken"
        OTHER = "other"

    at = models.DateTimeField(db_index=True)
    location = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="citizen_reports"
    )
    location_text = models.CharField(max_length=300, blank=True, default="")
    problem = models.CharField(max_length=30, choices=Problem.choices)
    text = models.CharField(max_length=1000, blank=True, default="")
    #: a keyed hash of the reporter's address, for rate limiting only (never the address itself)
    client_hash = models.CharField(max_length=64, db_index=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )


class ForwardItem(models.Model):  # type: ignore[misc]
    """The national forwarder's outbox: one row per visit, written in the upload's transaction."""

    visit = models.OneToOneField(Visit, on_delete=models.CASCADE, related_name="forward")
    queued_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True, default="")
    parked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = (models.Index(fields=["sent_at", "parked_at", "id"]),)


class ForwarderState(models.Model):  # type: ignore[misc]
    """The forwarder's back-off, persisted across restarts (one row)."""

    attempt = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")


class DeletionRequest(models.Model):  # type: ignore[misc]
    """One person's data deleted on a verified request; pushed to the kiosks through their configuration."""

    at = models.DateTimeField()
    requested_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+")
    verified_by = models.CharField(max_length=200)
    reason = models.CharField(max_length=500)
    identity_key_id = models.CharField(max_length=64)
    identity_hash = models.CharField(max_length=128, db_index=True)
    #: what was deleted on the server (visits, conflicts, forward items), as proof in the audit log
    counts = models.JSONField(default=dict)


class VisitDay(models.Model):  # type: ignore[misc]
    """How many visits a location had on a local day (the province's time zone): the dashboard's charts over
    weeks read this, not millions of visits. Kept by ``server.province.rollup`` in each upload's transaction;
    anonymous counts, so retention and deletions leave them."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    n = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = (models.UniqueConstraint(fields=["location", "day"], name="visit_day_once"),)
        indexes = (models.Index(fields=["day"]),)
