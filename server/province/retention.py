"""Layer: server. Retention per record kind, and deleting one person's data on a verified request.

``kiosk-server retention apply [--dry-run]`` deletes what is older than its kind's retention period
(``DEFAULT_DAYS``; ``KIOSK_SERVER_RETENTION`` = a JSON object ``{"<kind>": <days>, ...}`` overrides some):

=================  ==========================================================================================
``visits``         by ``event_time`` (the province's time of the visit); a visit not yet forwarded is kept
                   while forwarding is configured (``KIOSK_SERVER_FORWARD_URL``): the national centre gets it
                   first. Its forward item goes with it.
``conflicts``      conflicting copies, by ``received_at``
``heartbeats``     by ``received_at``
``upload_logs``    by ``received_at`` (a visit's link to its batch becomes null)
``citizen_reports`` by ``at``
``audit_entries``  by ``at`` (2 years: the proof of exports, tracing queries and deletions)
=================  ==========================================================================================

The counts are printed, and (unless ``--dry-run``) kept in one ``AuditEntry`` (action ``retention``).

``kiosk-server forget --id NUMBER --verified-by WHO --reason TEXT --as USERNAME`` deletes one person's data:
visits whose keyed identity hash matches the ID number's under **every** key of the province's keyring
(``KIOSK_SERVER_IDENTITY_KEY_FILE``, else the public demo keyring) or whose stored ID number is that number,
the conflicting copies of those visits or of that person, and their forward items — in one transaction that
also records a ``DeletionRequest`` with the counts and an ``AuditEntry`` (action ``forget``: the hash and the
counts, never the number). The kiosks learn of it through their configuration (``server.province.configdoc``:
the ``forget`` list) and delete their own copies, un-uploaded ones included (``kiosk.store.Store.forget``).
``--as`` names the province account (or superuser) taking responsibility for the request.
"""

# Django's modules load inside the functions: ``add_arguments`` runs before ``django.setup()``.
# ruff: noqa: PLC0415

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from kiosk.identity import DEMO_KEYRING, IdentityKeyring
from server.errors import RegisterError

#: Days each kind of record is kept (``KIOSK_SERVER_RETENTION`` overrides).
DEFAULT_DAYS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "visits": 30,
        "conflicts": 90,
        "heartbeats": 30,
        "upload_logs": 90,
        "citizen_reports": 365,
        "audit_entries": 730,
    }
)
MAX_DAYS: Final = 36500
#: ID numbers ``forget`` accepts: a 12-digit citizen ID (CCCD) or a 9-digit older ID card (CMND).
ID_LENGTHS: Final = (9, 12)


def retention_days(environ: Mapping[str, str]) -> dict[str, int]:
    """The defaults with ``KIOSK_SERVER_RETENTION`` laid over them; a ``RegisterError`` naming the kind."""
    days = dict(DEFAULT_DAYS)
    text = environ.get("KIOSK_SERVER_RETENTION", "").strip()
    if not text:
        return days
    try:
        given = json.loads(text)
    except ValueError as exc:
        raise RegisterError(f"KIOSK_SERVER_RETENTION is not JSON: {exc}") from exc
    if not isinstance(given, dict):
        raise RegisterError('KIOSK_SERVER_RETENTION must be a JSON object {"visits": 30, ...}')
    for kind, value in given.items():
        if kind not in DEFAULT_DAYS:
            raise RegisterError(
                f"KIOSK_SERVER_RETENTION: {kind!r} is not a record kind; one of {', '.join(DEFAULT_DAYS)}"
            )
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
            raise RegisterError(
                f"KIOSK_SERVER_RETENTION: {kind} = {value!r}; whole days from 1 to {MAX_DAYS}"
            )
        days[kind] = value
    return days


@dataclass(frozen=True, slots=True)
class KindResult:
    kind: str
    days: int
    deleted: int
    #: kept although old enough (visits not yet forwarded)
    held: int = 0


def apply_retention(
    now: datetime, days: Mapping[str, int], *, forwarding: bool, dry_run: bool = False
) -> list[KindResult]:
    """Delete (or with ``dry_run`` only count) what is older than its kind's period at ``now``."""
    from django.db import transaction
    from django.db.models import Q

    from server.province.models import (
        AuditEntry,
        CitizenReport,
        Heartbeat,
        UploadLog,
        Visit,
        VisitConflict,
    )

    def cutoff(kind: str) -> datetime:
        return now - timedelta(days=days[kind])

    results: list[KindResult] = []
    with transaction.atomic():
        old_visits = Visit.objects.filter(
            Q(event_time__lt=cutoff("visits")) | Q(event_time__isnull=True, received_at__lt=cutoff("visits"))
        )
        held = 0
        if forwarding:
            unsent = Q(forward__sent_at__isnull=True, forward__parked_at__isnull=True, forward__isnull=False)
            held = old_visits.filter(unsent).count()
            old_visits = old_visits.exclude(unsent)
        kinds: list[tuple[str, Any, int]] = [
            ("visits", old_visits, held),
            ("conflicts", VisitConflict.objects.filter(received_at__lt=cutoff("conflicts")), 0),
            ("heartbeats", Heartbeat.objects.filter(received_at__lt=cutoff("heartbeats")), 0),
            ("upload_logs", UploadLog.objects.filter(received_at__lt=cutoff("upload_logs")), 0),
            ("citizen_reports", CitizenReport.objects.filter(at__lt=cutoff("citizen_reports")), 0),
            ("audit_entries", AuditEntry.objects.filter(at__lt=cutoff("audit_entries")), 0),
        ]
        for kind, query, kept in kinds:
            # Deleted: only the model's own rows; cascaded ones (a visit's forward item) are not counted twice.
            count = query.count() if dry_run else query.delete()[1].get(query.model._meta.label, 0)
            results.append(KindResult(kind, days[kind], int(count), kept))
        if not dry_run:
            AuditEntry.objects.create(
                at=now,
                username="retention",
                action="retention",
                detail={r.kind: {"days": r.days, "deleted": r.deleted, "held": r.held} for r in results},
            )
    return results


# -- forget ------------------------------------------------------------------------------------------------------


def load_keyring(environ: Mapping[str, str]) -> IdentityKeyring:
    """The province's identity keyring (``KIOSK_SERVER_IDENTITY_KEY_FILE``), else the public demo keyring."""
    from kiosk.errors import ConfigError

    path = environ.get("KIOSK_SERVER_IDENTITY_KEY_FILE", "").strip()
    if not path:
        return DEMO_KEYRING
    try:
        return IdentityKeyring.from_file(Path(path), "KIOSK_SERVER_IDENTITY_KEY_FILE")
    except ConfigError as exc:
        raise RegisterError(str(exc)) from exc


def clean_id_number(text: str) -> str:
    """The ID number's digits (spaces and dots allowed between them); a ``RegisterError`` that never repeats
    the number otherwise."""
    digits = "".join(text.split()).replace(".", "")
    if not (digits.isascii() and digits.isdigit() and len(digits) in ID_LENGTHS):
        raise RegisterError(
            f"--id must be a {' or '.join(map(str, ID_LENGTHS))}-digit ID number ({len(digits)} characters given)"
        )
    return digits


@dataclass(frozen=True, slots=True)
class Forgotten:
    request_id: int
    identity_key_id: str
    identity_hash: str
    counts: Mapping[str, Any]


def forget_person(
    id_number: str,
    *,
    keyring: IdentityKeyring,
    requested_by: Any,
    verified_by: str,
    reason: str,
    now: datetime,
) -> Forgotten:
    """Delete every record of the person with ``id_number``; record the request and the audit entry."""
    from django.db import transaction
    from django.db.models import Q

    from server.province.models import AuditEntry, DeletionRequest, ForwardItem, Visit, VisitConflict

    if not verified_by.strip() or not reason.strip():
        raise RegisterError("a deletion needs --verified-by (who checked the request) and --reason")
    digits = clean_id_number(id_number)
    identity_key = f"id:{digits}"
    hashes = {key.key_id: key.hash(identity_key) for key in keyring.keys}
    match = Q(id_number=digits)
    conflict_match = Q(content__id_number=digits)
    for key_id, digest in hashes.items():
        match |= Q(identity_key_id=key_id, identity_hash=digest)
        conflict_match |= Q(content__identity_key_id=key_id, content__identity_hash=digest)
    with transaction.atomic():
        visits = Visit.objects.filter(match)
        uuids = list(visits.values_list("uuid", flat=True))
        forward_items = ForwardItem.objects.filter(visit__uuid__in=uuids).delete()[0]
        conflicts = VisitConflict.objects.filter(conflict_match | Q(uuid__in=uuids)).delete()[0]
        deleted_visits = visits.delete()[1].get(Visit._meta.label, 0)
        counts: dict[str, Any] = {
            "visits": int(deleted_visits),
            "conflicts": int(conflicts),
            "forward_items": int(forward_items),
        }
        current = keyring.current
        if len(hashes) > 1:
            # The kiosks may hold records hashed under an older key of a rotation: they get every hash.
            counts["also_hashed_as"] = {k: v for k, v in hashes.items() if k != current.key_id}
        request = DeletionRequest.objects.create(
            at=now,
            requested_by=requested_by,
            verified_by=verified_by.strip()[:200],
            reason=reason.strip()[:500],
            identity_key_id=current.key_id,
            identity_hash=hashes[current.key_id],
            counts=counts,
        )
        AuditEntry.objects.create(
            at=now,
            user=requested_by,
            username=requested_by.get_username(),
            action="forget",
            detail={
                "deletion_request": request.pk,
                "identity_key_id": current.key_id,
                "identity_hash": hashes[current.key_id],
                "verified_by": request.verified_by,
                "counts": {k: v for k, v in counts.items() if k != "also_hashed_as"},
            },
        )
    return Forgotten(request.pk, current.key_id, hashes[current.key_id], counts)


def _requester(username: str) -> Any:
    from django.contrib.auth.models import User

    from server.province.models import Account

    user = User.objects.filter(username=username).first()
    if user is None:
        raise RegisterError(f"--as {username!r}: no such account")
    if not (user.is_superuser or Account.objects.filter(user=user, role=Account.Role.PROVINCE).exists()):
        raise RegisterError(f"--as {username!r}: only a province account may delete a person's data")
    return user


# -- the commands -------------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    if name == "retention":
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        apply = actions.add_parser(
            "apply",
            help="delete what is older than its retention period (KIOSK_SERVER_RETENTION; see server/settings.py)",
        )
        apply.add_argument("--dry-run", action="store_true", help="count only; delete nothing")
        return
    parser.add_argument(
        "--id", required=True, dest="id_number", metavar="NUMBER", help="the person's ID number"
    )
    parser.add_argument("--verified-by", required=True, help="who verified the request (name, office)")
    parser.add_argument("--reason", required=True, help="the request's reference and reason")
    parser.add_argument(
        "--as", required=True, dest="as_user", metavar="USERNAME", help="your province account"
    )


def run(args: argparse.Namespace) -> int:
    from django.utils import timezone

    now = timezone.now()
    if args.command == "retention":
        days = retention_days(os.environ)
        forwarding = bool(os.environ.get("KIOSK_SERVER_FORWARD_URL", "").strip())
        results = apply_retention(now, days, forwarding=forwarding, dry_run=args.dry_run)
        verb = "would delete" if args.dry_run else "deleted"
        for r in results:
            line = f"{r.kind}: {verb} {r.deleted} (older than {r.days} days)"
            if r.held:
                line += f"; kept {r.held} not yet forwarded"
            print(line)
        return 0
    user = _requester(args.as_user)
    done = forget_person(
        args.id_number,
        keyring=load_keyring(os.environ),
        requested_by=user,
        verified_by=args.verified_by,
        reason=args.reason,
        now=now,
    )
    counts = done.counts
    print(
        f"deletion request {done.request_id}: deleted {counts['visits']} visit(s), {counts['conflicts']} "
        f"conflicting cop(ies), {counts['forward_items']} forward item(s); identity hash "
        f"{done.identity_key_id}:{done.identity_hash[:12]}… goes to the kiosks in their configuration"
    )
    return 0
