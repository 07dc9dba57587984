"""Layer: server. What a signed-in account may see and the audit log: shared by every web page.

- ``account_of(user)``: the ``Account`` (role, district, office) of a user; a superuser without one counts as
  a province account (the operator who set the server up).
- ``visible_locations(user)``: the locations a user may see — all (province), a district's, an office's.
- ``can_see_identities(user)``: whether full ID numbers and names may be shown (else masked).
- ``audit(request, action, **detail)``: one ``AuditEntry`` (who, when, what) for every export, tracing query,
  deletion and flag handled. Never put an ID number or a name in ``detail``: the hash or a count.
- ``province_required``: a view decorator for province-only pages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from kiosk.model import mask_id, mask_name
from server.province.models import Account, AuditEntry, Location

__all__ = [
    "account_of",
    "audit",
    "can_see_identities",
    "login_required",
    "masked",
    "province_required",
    "visible_locations",
]


def account_of(user: Any) -> Account | None:
    """The user's account, or None (not signed in, or no role given yet: sees nothing)."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        account: Account = user.account
    except Account.DoesNotExist:
        if user.is_superuser:
            return Account(user=user, role=Account.Role.PROVINCE, full_identities=True)
        return None
    return account


def visible_locations(user: Any) -> QuerySet[Location]:
    account = account_of(user)
    if account is None:
        return Location.objects.none()
    if account.role == Account.Role.PROVINCE:
        return Location.objects.all()
    if account.role == Account.Role.DISTRICT and account.district_id is not None:
        return Location.objects.filter(
            Q(district_unit_id=account.district_id) | Q(office__district_id=account.district_id)
        )
    if account.role == Account.Role.OFFICE and account.office_id is not None:
        return Location.objects.filter(office_id=account.office_id)
    return Location.objects.none()


def can_see_identities(user: Any) -> bool:
    account = account_of(user)
    return bool(account is not None and account.full_identities)


def masked(user: Any, id_number: str | None, name: str | None) -> tuple[str, str]:
    """(ID number, name) as this user may see them: full for tracing officers, else ``••••1234`` / ``Nguyễn V. A``."""
    if can_see_identities(user):
        return id_number or "", name or ""
    return (mask_id(id_number) if id_number else ""), (mask_name(name) if name else "")


def audit(request: HttpRequest, action: str, *, at: datetime | None = None, **detail: Any) -> AuditEntry:
    user = request.user if getattr(request.user, "is_authenticated", False) else None
    entry: AuditEntry = AuditEntry.objects.create(
        at=at or timezone.now(),
        user=user,
        username=user.get_username() if user is not None else "",
        action=action,
        detail=detail,
    )
    return entry


def province_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        account = account_of(request.user)
        if account is None or account.role != Account.Role.PROVINCE:
            raise PermissionDenied("province accounts only")
        return view(request, *args, **kwargs)

    result: Callable[..., HttpResponse] = login_required(wrapped)
    return result
