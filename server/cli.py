"""Layer: server. ``kiosk-server``: the provincial server's command line.

    kiosk-server [--data DIR] [--database-url URL] COMMAND
      migrate                                   create or update the database
      serve [--bind H:P] [--workers N] [--certfile F --keyfile F]
                                                migrate, collect the static files, serve with gunicorn
      location add CODE --name N [--address A] [--district D]
      location list
      location set CODE [--name N] [--district-unit NAME] [--office ID] [--policy P] [--roster FILE] ...
      device add DEVICE_ID --location CODE      (optional: enrolment creates the device)
      device list
      device revoke DEVICE_ID
      code new --location CODE --device ID [--days 7] [--server-url URL] [--qr FILE.png]
      visits [--location CODE] [--limit 20]     recent visits, identities masked
      openapi                                   the API's OpenAPI document (docs/openapi.json)
      createsuperuser [...]                     an admin account (Django's command)

The data directory and database URL come from ``--data`` / ``--database-url`` or ``KIOSK_SERVER_DATA`` /
``KIOSK_SERVER_DATABASE_URL``. Django is configured once per process, at the first command. Bad input is
one line on stderr and exit status 2; a database that cannot be reached is one line and status 1.
"""

# Django's modules are imported inside the commands: they need the settings, which exist only once the
# options and the environment have been read (``_setup``); ``--help`` and a usage error stay instant.
# ruff: noqa: PLC0415

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from server.errors import RegisterError, ServerError

PROG = "kiosk-server"
EXIT_FAILED = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (not the usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {PROG} --help)\n")


#: Commands whose module has ``add_arguments(parser, command_name)`` (no Django import at module level: it runs
#: before ``django.setup()``) and ``run(args) -> int`` (after it; ``args.command`` names the command). Errors:
#: ``RegisterError`` for bad input (exit 2).
PLUGGED: dict[str, tuple[str, str]] = {
    "account": ("server.province.accounts", "sign-in accounts: province, district, office"),
    "district": ("server.province.units", "the register of districts"),
    "office": ("server.province.units", "the register of offices (and their staff rosters)"),
    "seed": (
        "server.province.seed",
        "fill the database with a seeded demo province (visits, planted violations)",
    ),
    "flags": ("server.province.rules", "evaluate the signs-of-violation rules for past days"),
    "forward": ("server.province.forwarder", "push the province's visits to the national endpoint"),
    "board": ("server.province.boards", "write a location's printable QR board (A4 PDF)"),
    "retention": ("server.province.retention", "delete what is older than its retention period"),
    "forget": ("server.province.retention", "delete one person's data on a verified request"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="The QR gate kiosks' provincial server.")
    parser.add_argument(
        "--data", type=Path, help="data directory (default $KIOSK_SERVER_DATA or ./var/server)"
    )
    parser.add_argument(
        "--database-url", help="database URL instead of SQLite (default $KIOSK_SERVER_DATABASE_URL)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    commands.add_parser("migrate", help="create or update the database")

    serve = commands.add_parser(
        "serve", help="migrate, collect the static files, then serve the API and admin with gunicorn"
    )
    serve.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT (default 127.0.0.1:8000)")
    serve.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    serve.add_argument("--certfile", type=Path, help="TLS certificate chain (PEM)")
    serve.add_argument("--keyfile", type=Path, help="TLS private key (PEM)")

    location = commands.add_parser("location", help="the register of locations").add_subparsers(
        dest="action", required=True, metavar="ACTION", parser_class=_Parser
    )
    add = location.add_parser("add", help="register a location")
    add.add_argument("code")
    add.add_argument("--name", required=True)
    add.add_argument("--address", default="")
    add.add_argument("--district", default="")
    location.add_parser("list", help="list locations")
    change = location.add_parser(
        "set",
        help="change a location's details and the configuration its kiosks pull (policy, lists, roster)",
    )
    change.add_argument("code")
    change.add_argument("--name")
    change.add_argument("--address")
    change.add_argument("--district")
    change.add_argument(
        "--district-unit",
        metavar="NAME|none",
        help="the register's district (who may see it); 'none' clears it",
    )
    change.add_argument(
        "--office", metavar="ID|none", help="the office it belongs to (its staff roster); 'none' clears it"
    )
    change.add_argument("--policy", choices=["log", "health", "allowlist"], help="the access policy")
    change.add_argument("--repeat-window", type=int, metavar="SECONDS", help="0-3600")
    change.add_argument("--retention-days", type=int, metavar="DAYS", help="1-3650")
    for name, what in (
        ("trust-list", "DCC trust list JSON"),
        ("deny-list", "deny list JSON ('kiosk identity hash-list')"),
        ("roster", "staff roster JSON (kiosk roster format)"),
    ):
        change.add_argument(f"--{name}", metavar="FILE|none", help=f"{what}; 'none' removes it")

    device = commands.add_parser("device", help="the register of kiosks").add_subparsers(
        dest="action", required=True, metavar="ACTION", parser_class=_Parser
    )
    add = device.add_parser("add", help="register a kiosk before it enrols")
    add.add_argument("device_id")
    add.add_argument("--location", required=True)
    add.add_argument("--name", default="")
    device.add_parser("list", help="list kiosks")
    revoke = device.add_parser("revoke", help="revoke a kiosk's token")
    revoke.add_argument("device_id")

    code = commands.add_parser("code", help="one-time enrolment codes").add_subparsers(
        dest="action", required=True, metavar="ACTION", parser_class=_Parser
    )
    new = code.add_parser("new", help="make a one-time code that enrols a kiosk (printed once)")
    new.add_argument("--location", required=True)
    new.add_argument("--device", required=True)
    new.add_argument("--days", type=float, default=7.0, help="valid for this many days (default 7)")
    new.add_argument("--server-url", help="the URL kiosks reach this server at (for the QR code)")
    new.add_argument("--qr", type=Path, help="also write the code as a QR image (PNG or SVG)")

    visits = commands.add_parser("visits", help="recent visits per location, identities masked")
    visits.add_argument("--location")
    visits.add_argument("--limit", type=int, default=20)

    commands.add_parser("openapi", help="print the API's OpenAPI document (JSON)")

    # The province's side: each command's options and its code live in its own module (PLUGGED).
    for name, (module, helptext) in PLUGGED.items():
        if importlib.util.find_spec(module) is None:
            continue  # not part of this build
        sub = commands.add_parser(name, help=helptext)
        importlib.import_module(module).add_arguments(sub, name)

    # Its own options go to Django's command untouched (see main).
    commands.add_parser(
        "createsuperuser", help="create an admin account (Django's command; its options follow)"
    )
    return parser


def _setup(data: Path | None, database_url: str | None) -> None:
    """Configure Django from the options and the environment (once per process)."""
    if data is not None:
        os.environ["KIOSK_SERVER_DATA"] = str(data)
    if database_url is not None:
        os.environ["KIOSK_SERVER_DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")
    import django

    try:
        django.setup()
    except ValueError as exc:  # dj-database-url: a URL it cannot read
        raise RegisterError(f"the database URL is not usable: {exc}") from exc


def _now() -> datetime:
    from django.utils import timezone

    now: datetime = timezone.now()
    return now


def _local(moment: datetime | None) -> str:
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _migrate(verbosity: int = 1) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


def _collectstatic() -> None:
    """The admin's static files into STATIC_ROOT, where WhiteNoise serves them from; quiet, and only what
    changed is copied, so every start may run it."""
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


def _serve(args: argparse.Namespace) -> int:
    from django.db import connections

    from server import serve

    options = serve.gunicorn_options(args.bind, args.workers, args.certfile, args.keyfile)
    _migrate(verbosity=0)
    _collectstatic()
    # Workers are forked from this process: none may inherit its database connection.
    connections.close_all()
    serve.run(options)
    return 0


def _location(args: argparse.Namespace) -> int:
    from django.db.models import Count

    from server.province import register
    from server.province.models import Location

    if args.action == "add":
        loc = register.add_location(args.code, args.name, address=args.address, district=args.district)
        print(f"location {loc.code} added: {loc.name}")
        return 0
    if args.action == "set":
        given = {
            "name": args.name,
            "address": args.address,
            "district": args.district,
            "policy_mode": args.policy,
            "repeat_window_s": args.repeat_window,
            "retention_days": args.retention_days,
            "district_unit": args.district_unit,
            "office": args.office,
        }
        files = {"trust_list": args.trust_list, "deny_list": args.deny_list, "roster": args.roster}
        documents = {key: None if value == "none" else Path(value) for key, value in files.items() if value}
        fields = {key: value for key, value in given.items() if value is not None}
        if not fields and not documents:
            raise RegisterError("nothing to change: give at least one option (see --help)")
        loc = register.update_location(args.code, fields=fields, documents=documents)
        print(f"location {loc.code} changed (configuration version {loc.config_version}); its kiosks pull it")
        return 0
    rows = Location.objects.annotate(n_devices=Count("devices", distinct=True)).order_by("code")
    for loc in rows:
        print(f"{loc.code}\t{loc.name}\t{loc.district or '-'}\t{loc.n_devices} device(s)\t{loc.policy_mode}")
    if not rows:
        print("no locations yet: add one with 'kiosk-server location add CODE --name NAME'")
    return 0


def _device(args: argparse.Namespace) -> int:
    from server.province import register
    from server.province.models import Device

    if args.action == "add":
        dev = register.add_device(args.device_id, args.location, name=args.name)
        print(
            f"device {dev.device_id} added at {dev.location.code}; make it a code with 'kiosk-server code new'"
        )
        return 0
    if args.action == "revoke":
        dev = register.revoke_device(args.device_id, now=_now())
        print(f"device {dev.device_id}: token revoked; enrol it again with a new code")
        return 0
    devices = Device.objects.select_related("location").order_by("device_id")
    for dev in devices:
        if dev.revoked_at is not None:
            state = f"revoked {_local(dev.revoked_at)}"
        elif dev.token_hash:
            state = f"enrolled {_local(dev.token_issued_at)}"
        else:
            state = "not enrolled"
        print(
            f"{dev.device_id}\t{dev.location.code}\t{state}\tlast seen {_local(dev.last_seen_at)}"
            f"\tparked {dev.parked_count}"
        )
    if not devices:
        print("no devices yet")
    return 0


def _code(args: argparse.Namespace) -> int:
    from server.province import register

    url = args.server_url
    if url is not None and not url.startswith(("https://", "http://")):
        raise RegisterError(f"--server-url {url!r} must start with https:// (or http:// on a test network)")
    if args.qr is not None and url is None:
        raise RegisterError("--qr needs --server-url: the QR code holds the server's address and the code")
    code, row = register.issue_enrolment_code(args.location, args.device, now=_now(), days=args.days)
    print(code)
    print(
        f"one-time code for device {row.device_id} at {row.location.code}, valid until {_local(row.expires_at)}; "
        "it is shown only now",
        file=sys.stderr,
    )
    if url is not None:
        text = f"KIOSK-ENROL:{url}#{code}"
        print(text)
        if args.qr is not None:
            import segno

            try:
                segno.make_qr(text, error="m").save(str(args.qr), scale=8, border=4)
            except OSError as exc:
                raise RegisterError(f"cannot write {str(args.qr)!r}: {exc.strerror}") from exc
            print(f"QR code written to {args.qr}", file=sys.stderr)
    return 0


def _visits(args: argparse.Namespace) -> int:
    from kiosk.model import mask_id, mask_name
    from server.province.models import Location, Visit

    if not 1 <= args.limit <= 10_000:
        raise RegisterError(f"--limit must be from 1 to 10000, not {args.limit}")
    locations = Location.objects.order_by("code")
    if args.location is not None:
        from server.province.register import find_location

        locations = locations.filter(pk=find_location(args.location).pk)
    for loc in locations:
        rows = Visit.objects.filter(location=loc).select_related("device").order_by("-wall_time", "-id")
        recent = list(rows[: args.limit])
        print(f"{loc.code} {loc.name}: {len(recent)} recent visit(s)")
        for visit in recent:
            who = " ".join(
                part
                for part in (
                    mask_name(visit.name) if visit.name else "",
                    mask_id(visit.id_number) if visit.id_number else "",
                )
                if part
            )
            print(
                f"  {_local(visit.wall_time)}\t{visit.device.device_id}\t{visit.direction}\t{visit.outcome}"
                f"\t{visit.reason}\t{visit.kind}\t{who or '-'}"
            )
    return 0


def openapi_text() -> str:
    """The OpenAPI document as ``docs/openapi.json`` keeps it: sorted keys, indent 2, final newline."""
    from server.api import api

    return json.dumps(api.get_openapi_schema(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _run(args: argparse.Namespace) -> int:
    command = args.command
    if command in PLUGGED:
        result: int = importlib.import_module(PLUGGED[command][0]).run(args)
        return result
    if command == "migrate":
        _migrate()
        return 0
    if command == "serve":
        return _serve(args)
    if command == "location":
        return _location(args)
    if command == "device":
        return _device(args)
    if command == "code":
        return _code(args)
    if command == "visits":
        return _visits(args)
    if command == "openapi":
        sys.stdout.write(openapi_text())
        return 0
    from django.core.management import execute_from_command_line

    execute_from_command_line([PROG, "createsuperuser", *args.rest])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    rest: list[str] = []
    if "createsuperuser" in words:  # everything after it is Django's (--username, --noinput …)
        cut = words.index("createsuperuser") + 1
        words, rest = words[:cut], words[cut:]
    args = build_parser().parse_args(words)
    args.rest = rest
    from django.core.exceptions import ImproperlyConfigured
    from django.db import Error as DatabaseError

    try:
        _setup(args.data, args.database_url)
        return _run(args)
    except (RegisterError, ImproperlyConfigured) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ServerError, DatabaseError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        if args.command != "migrate" and ("no such table" in message or "does not exist" in message):
            message += f" — the database is not set up yet: run '{PROG} migrate' (or '{PROG} serve') first"
        print(f"{PROG}: failed: {message}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
