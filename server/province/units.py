"""Layer: server. ``kiosk-server district`` and ``kiosk-server office``: the register's districts and offices, and
each office's staff roster (pushed to the kiosks of its locations through their configuration).

    kiosk-server district add NAME
    kiosk-server district list
    kiosk-server office add NAME --district NAME
    kiosk-server office list
    kiosk-server office roster OFFICE_ID FILE|none [--key-file KEYS.json]

A roster ``FILE`` is either a roster the kiosk keeps (``.json``, ``kiosk/roster.py`` format: names, keyed
identity hashes, masked IDs) or the office's staff list as ``.csv`` / ``.xlsx``, imported with the kiosk's own
importer (``kiosk.roster.load_roster_file``). An imported list's ID numbers are hashed with the province's
identity key (``--key-file``, the kiosks' key file): the server keeps the hashes and masked numbers only, never
an ID number in clear. A location's configuration uses its own roster if it has one, else its office's
(``server.province.configdoc``).
"""

# Django is imported inside the functions: add_arguments runs before django.setup() (server/cli.py PLUGGED).
# ruff: noqa: PLC0415

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from server.errors import RegisterError

MAX_NAME_CHARS = 200


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=type(parser))
    if name == "district":
        add = actions.add_parser("add", help="register a district")
        add.add_argument("name")
        actions.add_parser("list", help="list districts")
        return
    add = actions.add_parser("add", help="register an office (a public body or business)")
    add.add_argument("name")
    add.add_argument("--district", required=True, metavar="NAME")
    actions.add_parser("list", help="list offices with their ids")
    roster = actions.add_parser(
        "roster", help="set an office's staff roster (kiosk roster JSON, or a CSV / Excel staff list)"
    )
    roster.add_argument("office_id", type=int)
    roster.add_argument("file", metavar="FILE|none", help="roster .json, staff list .csv/.xlsx, or 'none'")
    roster.add_argument(
        "--key-file", type=Path, metavar="KEYS.json", help="the identity key file (needed for .csv / .xlsx)"
    )


def run(args: argparse.Namespace) -> int:
    if args.command == "district":
        if args.action == "add":
            district = add_district(args.name)
            print(f"district {district.name} added")
            return 0
        return _list_districts()
    if args.action == "add":
        office = add_office(args.name, args.district)
        print(f"office {office.pk} added: {office.name} ({office.district.name})")
        return 0
    if args.action == "roster":
        document = None if args.file == "none" else read_roster(Path(args.file), args.key_file)
        office = set_office_roster(args.office_id, document)
        count = len(document["entries"]) if document else 0
        print(
            f"office {office.pk} {office.name}: roster of {count} staff; its kiosks get it with their configuration"
        )
        return 0
    return _list_offices()


def _name(value: str, what: str) -> str:
    value = " ".join(value.split())
    if not value or len(value) > MAX_NAME_CHARS:
        raise RegisterError(f"a {what} name is 1 to {MAX_NAME_CHARS} characters")
    return value


def add_district(name: str) -> Any:
    from django.db import IntegrityError, transaction

    from server.province.models import District

    name = _name(name, "district")
    try:
        with transaction.atomic():
            return District.objects.create(name=name)
    except IntegrityError:
        raise RegisterError(f"a district named {name!r} already exists") from None


def add_office(name: str, district: str) -> Any:
    from server.province.accounts import find_district
    from server.province.models import Office

    name = _name(name, "office")
    district_row = find_district(district)
    if Office.objects.filter(name=name, district=district_row).exists():
        raise RegisterError(f"district {district_row.name!r} already has an office named {name!r}")
    return Office.objects.create(name=name, district=district_row)


def read_roster(path: Path, key_file: Path | None) -> dict[str, Any]:
    """The roster document for ``path`` (kiosk roster JSON, or a CSV / Excel staff list hashed with the key)."""
    from kiosk.errors import KioskError
    from kiosk.identity import IdentityKeyring
    from kiosk.roster import Roster, load_roster_file, save_roster

    try:
        if path.suffix.lower() == ".json":
            Roster.load(path)  # checked as the kiosk will read it
            document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return document
        if key_file is None:
            raise RegisterError(
                f"{path.name}: a staff list's ID numbers are hashed with the province's identity key: "
                "give --key-file (the kiosks' key file)"
            )
        roster = load_roster_file(path, IdentityKeyring.from_file(key_file, "--key-file"))
        # The kiosk's own writer makes the document, so the server never drifts from its format.
        with tempfile.TemporaryDirectory() as tmp:
            kept = Path(tmp) / "roster.json"
            save_roster(roster, kept)
            imported: dict[str, Any] = json.loads(kept.read_text(encoding="utf-8"))
            return imported
    except KioskError as exc:
        raise RegisterError(f"{path}: {exc}") from exc
    except OSError as exc:
        raise RegisterError(f"cannot read {path}: {exc.strerror or exc}") from exc


def set_office_roster(office_id: int, document: dict[str, Any] | None) -> Any:
    from server.province.accounts import find_office

    office = find_office(office_id)
    office.roster = document
    office.save(update_fields=["roster"])
    return office


def _list_districts() -> int:
    from django.db.models import Count

    from server.province.models import District

    districts = District.objects.annotate(n_offices=Count("offices", distinct=True)).order_by("name")
    for district in districts:
        print(f"{district.name}\t{district.n_offices} office(s)")
    if not districts:
        print("no districts yet")
    return 0


def _list_offices() -> int:
    from django.db.models import Count

    from server.province.models import Office

    offices = (
        Office.objects.select_related("district")
        .annotate(n_locations=Count("locations"))
        .order_by("district__name", "name")
    )
    for office in offices:
        staff = len(office.roster.get("entries", [])) if isinstance(office.roster, dict) else 0
        print(
            f"{office.pk}\t{office.name}\t{office.district.name}\t{office.n_locations} location(s)"
            f"\troster {staff} staff"
        )
    if not offices:
        print("no offices yet")
    return 0
