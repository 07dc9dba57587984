"""Layer: server. What operators do to the register: locations, devices, one-time enrolment codes, revocation;
and the enrolment a kiosk does with a code.

Every function takes the time it acts at (``now``); only the API and the CLI read the clock.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from server.errors import EnrolmentError, RegisterError
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
