"""Layer: server. ``kiosk-server account``: the sign-in accounts of the province's web pages and their roles.

    kiosk-server account add USERNAME --role province|district|office [--district NAME] [--office ID]
                             [--full-identities] [--password-stdin]
    kiosk-server account list
    kiosk-server account disable USERNAME      (its sessions stop working at the next request)
    kiosk-server account enable USERNAME

A province account sees every location, a district account its district's, an office account its office's
(``server.web.scope``). ``--full-identities`` lets an account see full ID numbers and names (tracing
officers); everyone else sees them masked. Passwords are hashed with Argon2 (``PASSWORD_HASHERS``) and checked
with Django's validators; one is read from stdin (``--password-stdin``, one line) or asked for twice.
"""

# Django is imported inside the functions: add_arguments runs before django.setup() (server/cli.py PLUGGED).
# ruff: noqa: PLC0415

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from server.errors import RegisterError

ROLES = ("province", "district", "office")
MIN_PASSWORD_CHARS = 10


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=type(parser))
    add = actions.add_parser("add", help="create a sign-in account with a role")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--district", metavar="NAME", help="the district a district account sees")
    add.add_argument("--office", type=int, metavar="ID", help="the office an office account sees")
    add.add_argument(
        "--full-identities", action="store_true", help="may see full ID numbers and names (tracing officers)"
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin (one line)")
    actions.add_parser("list", help="list accounts and their roles")
    reset = actions.add_parser("password", help="give an account a new password (and lift a sign-in lockout)")
    reset.add_argument("username")
    reset.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (one line)"
    )
    for action, what in (("disable", "stop an account signing in"), ("enable", "let it sign in again")):
        sub = actions.add_parser(action, help=what)
        sub.add_argument("username")


def run(args: argparse.Namespace) -> int:
    if args.action == "add":
        password = _read_password(args.password_stdin)
        account = add_account(
            args.username,
            role=args.role,
            district=args.district,
            office=args.office,
            full_identities=args.full_identities,
            password=password,
        )
        print(f"account {account.user.get_username()} added: {describe(account)}")
        return 0
    if args.action == "password":
        set_password(args.username, _read_password(args.password_stdin))
        print(f"account {args.username}: new password set")
        return 0
    if args.action in ("disable", "enable"):
        set_active(args.username, active=args.action == "enable")
        print(f"account {args.username} {args.action}d")
        return 0
    return _list()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise RegisterError("no terminal to ask for the password on: give it with --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != first:
        raise RegisterError("the two passwords differ")
    return first


def add_account(
    username: str,
    *,
    role: str,
    password: str,
    district: str | None = None,
    office: int | None = None,
    full_identities: bool = False,
) -> Any:
    """Create a user and its ``Account``; ``RegisterError`` names what is wrong and nothing is created."""
    from django.contrib.auth import password_validation
    from django.contrib.auth.models import User
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError, transaction

    from server.province.models import Account, District, Office

    username = username.strip()
    if not username or len(username) > 150:
        raise RegisterError("a username is 1 to 150 characters")
    if User.objects.filter(username=username).exists():
        raise RegisterError(f"an account named {username!r} already exists")
    district_row: District | None = None
    office_row: Office | None = None
    if role == Account.Role.PROVINCE:
        if district or office is not None:
            raise RegisterError("a province account sees everything: give no --district or --office")
    elif role == Account.Role.DISTRICT:
        if not district or office is not None:
            raise RegisterError("a district account needs --district NAME (and no --office)")
        district_row = find_district(district)
    elif role == Account.Role.OFFICE:
        if office is None:
            raise RegisterError("an office account needs --office ID (see 'kiosk-server office list')")
        office_row = find_office(office)
        district_row = office_row.district
        if district and district != district_row.name:
            raise RegisterError(f"office {office} is in district {district_row.name!r}, not {district!r}")
    else:
        raise RegisterError(f"role {role!r}: one of {', '.join(ROLES)}")
    candidate = User(username=username)
    try:
        password_validation.validate_password(password, candidate, password_validators=_validators())
    except ValidationError as exc:
        raise RegisterError("the password is not accepted: " + " ".join(exc.messages)) from None
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password)
            account = Account.objects.create(
                user=user,
                role=role,
                district=district_row,
                office=office_row,
                full_identities=full_identities,
            )
    except IntegrityError:
        raise RegisterError(f"an account named {username!r} already exists") from None
    return account


def _validators() -> list[Any]:
    """What a password must pass, at creation and at every change."""
    from django.contrib.auth import password_validation

    return [
        password_validation.MinimumLengthValidator(MIN_PASSWORD_CHARS),
        password_validation.UserAttributeSimilarityValidator(),
        password_validation.CommonPasswordValidator(),
        password_validation.NumericPasswordValidator(),
    ]


def set_password(username: str, password: str) -> None:
    """A new password, checked by the same validators as at creation; the account's failed sign-ins are
    forgotten, so a locked-out officer can sign in at once."""
    from django.contrib.auth import password_validation
    from django.contrib.auth.models import User
    from django.core.exceptions import ValidationError

    from server.province.models import AuditEntry

    user = User.objects.filter(username=username).first()
    if user is None:
        raise RegisterError(f"no account named {username!r}")
    try:
        password_validation.validate_password(password, user, password_validators=_validators())
    except ValidationError as exc:
        raise RegisterError("the password is not accepted: " + " ".join(exc.messages)) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    AuditEntry.objects.filter(action="login_failed", detail__username=username).delete()


def set_active(username: str, *, active: bool) -> None:
    from django.contrib.auth.models import User

    if not User.objects.filter(username=username).update(is_active=active):
        raise RegisterError(f"no account named {username!r}")


def find_district(name: str) -> Any:
    from server.province.models import District

    try:
        return District.objects.get(name=name.strip())
    except District.DoesNotExist:
        raise RegisterError(f"no district named {name!r}; add it with 'kiosk-server district add'") from None


def find_office(office_id: int) -> Any:
    from server.province.models import Office

    try:
        return Office.objects.select_related("district").get(pk=office_id)
    except Office.DoesNotExist:
        raise RegisterError(f"no office with id {office_id}; see 'kiosk-server office list'") from None


def describe(account: Any) -> str:
    where = ""
    if account.office_id is not None:
        where = f" {account.office.name} (office {account.office_id})"
    elif account.district_id is not None:
        where = f" {account.district.name}"
    return f"{account.role}{where}" + (", full identities" if account.full_identities else "")


def _list() -> int:
    from django.contrib.auth.models import User
    from django.utils import timezone

    users = User.objects.select_related("account__district", "account__office").order_by("username")
    for user in users:
        account = getattr(user, "account", None)
        role = describe(account) if account is not None else ("superuser" if user.is_superuser else "no role")
        state = "active" if user.is_active else "disabled"
        when = timezone.localtime(user.last_login).strftime("%Y-%m-%d %H:%M") if user.last_login else "-"
        print(f"{user.username}\t{role}\t{state}\tlast sign-in {when}")
    if not users:
        print("no accounts yet")
    return 0
