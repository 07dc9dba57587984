"""Layer: server. What operators do to the register: locations, devices, one-time enrolment codes, revocation;
and the enrolment a kiosk does with a code.

Every function takes the time it acts at (``now``); only the API and the CLI read the clock.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction

from kiosk.errors import KioskError
from kiosk.model import PolicyMode
from kiosk.payloads.trust import TrustList
from kiosk.roster import Roster
from server.errors import EnrolmentError, RegisterError
from server.province.accounts import find_district, find_office
from server.province.models import Device, EnrolmentCode, Location
from server.province.secret import enrolment_code_hash, new_enrolment_code, new_token, sha256_hex

#: Location codes and device ids: the same rule the kiosk's config applies (kiosk/config.py).
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_CODE = re.compile(CODE_PATTERN)
DEFAULT_CODE_DAYS = 7


def _check_code(what: str, value: str) -> str:
    if not _CODE.fullmatch(value):
        raise RegisterError(
            f"{what} {value!r} is not valid: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


def find_location(code: str) -> Location:
    try:
        location: Location = Location.objects.get(code=code)
    except Location.DoesNotExist:
        raise RegisterError(
            f"no location with code {code!r}; add it with 'kiosk-server location add'"
        ) from None
    return location


def add_location(code: str, name: str, *, address: str = "", district: str = "") -> Location:
    _check_code("location code", code)
    if not name.strip():
        raise RegisterError("a location needs a name (--name)")
    try:
        with transaction.atomic():
            created: Location = Location.objects.create(
                code=code, name=name.strip(), address=address.strip(), district=district.strip()
            )
            return created
    except IntegrityError:
        raise RegisterError(f"a location with code {code!r} already exists") from None


def add_device(device_id: str, location_code: str, *, name: str = "") -> Device:
    _check_code("device id", device_id)
    location = find_location(location_code)
    try:
        with transaction.atomic():
            device: Device = Device.objects.create(device_id=device_id, location=location, name=name)
            return device
    except IntegrityError:
        raise RegisterError(f"a device with id {device_id!r} already exists") from None


def issue_enrolment_code(
    location_code: str, device_id: str, *, now: datetime, days: float = DEFAULT_CODE_DAYS
) -> tuple[str, EnrolmentCode]:
    """A new one-time code (returned once, kept only as its hash) that enrols ``device_id`` at the location."""
    _check_code("device id", device_id)
    if not 0 < days <= 365:
        raise RegisterError(f"--days must be more than 0 and at most 365, not {days:g}")
    location = find_location(location_code)
    code = new_enrolment_code()
    row = EnrolmentCode.objects.create(
        code_hash=enrolment_code_hash(code),
        location=location,
        device_id=device_id,
        expires_at=now + timedelta(days=days),
    )
    return code, row


def revoke_device(device_id: str, *, now: datetime) -> Device:
    """Revoke the device's token (its next request is 401 token_revoked); enrolling again issues a new one."""
    with transaction.atomic():
        updated = Device.objects.filter(device_id=device_id).update(revoked_at=now)
    if not updated:
        raise RegisterError(f"no device with id {device_id!r}")
    device: Device = Device.objects.get(device_id=device_id)
    return device


def enrol(code: str, *, now: datetime) -> tuple[Device, str]:
    """Spend a one-time code: the device (created or moved to the code's location) and its new token.

    The code is claimed by one conditional UPDATE inside the transaction, so of two enrolments racing with
    the same code exactly one wins; the other gets ``EnrolmentError`` like a used code would.
    """
    code_hash = enrolment_code_hash(code)
    token = new_token()
    with transaction.atomic():
        claimed = EnrolmentCode.objects.filter(
            code_hash=code_hash, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if claimed != 1:
            raise EnrolmentError()
        enrolment = EnrolmentCode.objects.select_related("location").get(code_hash=code_hash)
        device, _ = Device.objects.update_or_create(
            device_id=enrolment.device_id,
            defaults={
                "location": enrolment.location,
                "token_hash": sha256_hex(token),
                "token_issued_at": now,
                "revoked_at": None,
            },
        )
    return device, token


#: What ``update_location`` may change; documents are given as files and checked as the kiosk will read them.
LOCATION_FIELDS = (
    "name",
    "address",
    "district",
    "policy_mode",
    "repeat_window_s",
    "retention_days",
    "district_unit",  # a District's name, or "none"
    "office",  # an Office's id, or "none"
)
_HASH = re.compile(r"[0-9a-f]{64}")
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024


def update_location(
    code: str,
    *,
    fields: dict[str, object],
    documents: dict[str, Path | None],
) -> Location:
    """Change a location's details and the configuration its kiosks pull (their ETag changes with it).

    ``documents`` maps ``trust_list`` / ``deny_list`` / ``roster`` to a JSON file to use, or None to remove it.
    Each file is checked the way the kiosk reads it (``RegisterError`` naming the file otherwise); nothing is
    changed unless everything passes."""
    location = find_location(code)
    for key, value in fields.items():
        if key not in LOCATION_FIELDS:
            raise RegisterError(f"{key} cannot be set on a location")
        if key == "name" and not str(value).strip():
            raise RegisterError("a location needs a name")
        if key == "policy_mode" and value not in {m.value for m in PolicyMode}:
            raise RegisterError(f"policy {value!r}: one of {', '.join(m.value for m in PolicyMode)}")
        if key == "repeat_window_s" and not (isinstance(value, int) and 0 <= value <= 3600):
            raise RegisterError("the repeat window is 0 to 3600 seconds")
        if key == "retention_days" and not (isinstance(value, int) and 1 <= value <= 3650):
            raise RegisterError("retention is 1 to 3650 days")
    fields = _units(fields)
    loaded = {key: (None if path is None else _document(key, path)) for key, path in documents.items()}
    with transaction.atomic():
        location = Location.objects.select_for_update().get(pk=location.pk)
        assert isinstance(location, Location)
        for key, value in fields.items():
            setattr(location, key, value.strip() if isinstance(value, str) else value)
        for key, document in loaded.items():
            setattr(location, key, document)
        location.config_version += 1
        location.save()
    return location


def _units(fields: dict[str, object]) -> dict[str, object]:
    """``district_unit`` (a name) and ``office`` (an id) as rows; "none" clears one. An office sets the district
    too unless one is given, and the two must agree."""
    fields = dict(fields)
    district = fields.get("district_unit")
    office = fields.get("office")
    if isinstance(district, str):
        fields["district_unit"] = None if district == "none" else find_district(district)
    if isinstance(office, str):
        if office == "none":
            fields["office"] = None
        elif not office.isdigit():
            raise RegisterError(
                f"--office {office!r}: an office id (see 'kiosk-server office list') or 'none'"
            )
        else:
            row = find_office(int(office))
            fields["office"] = row
            if "district_unit" not in fields:
                fields["district_unit"] = row.district
            elif fields["district_unit"] != row.district:
                raise RegisterError(f"office {row.pk} is in district {row.district.name!r}, not {district!r}")
    return fields


def _document(key: str, path: Path) -> Any:
    """A trust list, deny list or roster file, checked as the kiosk will read it."""
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise RegisterError(f"{path} is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB")
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise RegisterError(f"--{key.replace('_', '-')} {path}: cannot be read as JSON ({exc})") from exc
    try:
        if key == "trust_list":
            TrustList.from_json_file(path)
        elif key == "roster":
            Roster.load(path)
        elif not (
            isinstance(document, dict)
            and isinstance(document.get("key_id"), str)
            and isinstance(document.get("hashes"), list)
            and all(isinstance(h, str) and _HASH.fullmatch(h) for h in document["hashes"])
        ):
            raise RegisterError(
                f'--deny-list {path}: expected {{"key_id": ..., "hashes": [64 hex digits, ...]}} '
                "(made with 'kiosk identity hash-list')"
            )
    except KioskError as exc:
        raise RegisterError(f"--{key.replace('_', '-')} {path}: {exc}") from exc
    return document
