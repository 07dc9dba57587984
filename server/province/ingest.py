"""Layer: server. Storing an upload batch idempotently, and the visit's canonical content hash.

A visit is stored once per UUID. The answer per visit is ``stored`` (kept now), ``duplicate`` (the same UUID
with the same content was already kept: a retry after a lost reply) or ``conflict`` (different content, or
another device's visit, already kept under that UUID; the copy is recorded once in ``VisitConflict``).

Concurrency: the rows go in with ``INSERT … ON CONFLICT DO NOTHING`` (``bulk_create(ignore_conflicts=True)``)
against the unique index on ``uuid``, then are read back; each row names the upload that stored it, so two
processes storing the same batch at the same moment each tell their own inserts from the other's, and
neither ever sees an IntegrityError. Rows are inserted in UUID order, so that two overlapping batches in
different orders never deadlock on PostgreSQL (SQLite's IMMEDIATE transactions take turns anyway).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from kiosk.sync.protocol import HASH_OMITS_NULL, VISIT_FIELDS, content_hash
from server.errors import WrongDeviceError
from server.province import rollup
from server.province.models import DeletionRequest, Device, ForwardItem, UploadLog, Visit, VisitConflict

STORED = "stored"
DUPLICATE = "duplicate"
CONFLICT = "conflict"
CONFLICT_DETAIL = "a different visit with this UUID is already stored"


def utc_iso(moment: datetime) -> str:
    """``2026-11-29T01:15:02.123000+00:00``: one spelling per instant, whatever offset the kiosk wrote."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(visit: Mapping[str, Any]) -> dict[str, Any]:
    """The protocol fields of a validated visit, as JSON values, with ``wall_time`` in UTC."""
    doc = {name: visit.get(name) if name in HASH_OMITS_NULL else visit[name] for name in VISIT_FIELDS}
    doc["wall_time"] = utc_iso(visit["wall_time"])
    doc["warnings"] = list(visit["warnings"])
    doc["monotonic_s"] = float(visit["monotonic_s"])
    return doc


@dataclass(frozen=True, slots=True)
class VisitResult:
    uuid: str
    status: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class BatchResult:
    received_at: datetime
    results: tuple[VisitResult, ...]
    upload: UploadLog


def _row(doc: Mapping[str, Any], digest: str, device: Device, upload: UploadLog, now: datetime) -> Visit:
    wall = datetime.fromisoformat(doc["wall_time"])
    return Visit(
        uuid=doc["uuid"],
        device=device,
        location_id=device.location_id,
        kiosk_location_code=doc["location_code"],
        seq=doc["seq"],
        kind=doc["kind"],
        identity_hash=doc["identity_hash"],
        identity_key_id=doc["identity_key_id"],
        id_number=doc["id_number"],
        name=doc["name"],
        direction=doc["direction"],
        outcome=doc["outcome"],
        reason=doc["reason"],
        wall_time=wall,
        clock_synchronised=doc["clock_synchronised"],
        boot_id=doc["boot_id"],
        monotonic_s=doc["monotonic_s"],
        privacy_notice_version=doc["privacy_notice_version"],
        manual=doc["manual"],
        warnings=doc["warnings"],
        guard=doc["guard"],
        note=doc["note"],
        original_outcome=doc["original_outcome"],
        original_reason=doc["original_reason"],
        overrides_uuid=doc["overrides_uuid"],
        received_at=now,
        # The province's time of the visit: the device's clock only when it was synchronised.
        event_time=wall if doc["clock_synchronised"] else now,
        content_hash=digest,
        upload=upload,
    )


def store_batch(device: Device, visits: Sequence[Mapping[str, Any]], *, now: datetime) -> BatchResult:
    """Store a validated batch from ``device`` in one transaction; the per-visit answer in input order.

    Raises ``WrongDeviceError`` (nothing written) when a visit names another device.
    """
    docs = [canonical(v) for v in visits]
    for index, doc in enumerate(docs):
        if doc["device_id"] != device.device_id:
            raise WrongDeviceError(index)
    digests = [content_hash(doc) for doc in docs]
    uuids = list(dict.fromkeys(doc["uuid"] for doc in docs))

    with transaction.atomic():
        upload = UploadLog.objects.create(device=device, received_at=now, count=len(docs))
        already = set(Visit.objects.filter(uuid__in=uuids).values_list("uuid", flat=True))
        forgotten = _forgotten({doc["identity_hash"] for doc in docs if doc["identity_hash"]})
        rows: list[Visit] = []
        for doc, digest in zip(docs, digests, strict=True):
            if doc["identity_hash"] in forgotten:
                continue  # deleted on request: never stored again (answered below, so the kiosk lets it go)
            if doc["uuid"] not in already:
                already.add(doc["uuid"])
                rows.append(_row(doc, digest, device, upload, now))
        # In UUID order: on PostgreSQL an insert waits for a concurrent transaction's uncommitted row with
        # the same UUID, so two overlapping batches inserting in different orders could deadlock (a 500).
        rows.sort(key=lambda row: row.uuid)
        Visit.objects.bulk_create(rows, ignore_conflicts=True)

        kept = {
            uuid: (upload_id, device_pk, digest)
            for uuid, upload_id, device_pk, digest in Visit.objects.filter(uuid__in=uuids).values_list(
                "uuid", "upload_id", "device_id", "content_hash"
            )
        }
        results: list[VisitResult] = []
        conflicts: list[VisitConflict] = []
        claimed: set[str] = set()
        for doc, digest in zip(docs, digests, strict=True):
            uuid = doc["uuid"]
            if uuid not in kept and doc["identity_hash"] in forgotten:
                # The person's data was deleted on a verified request after this kiosk recorded the visit:
                # acknowledged as already handled, never stored; the kiosk's next configuration deletes it.
                results.append(VisitResult(uuid, DUPLICATE))
                continue
            upload_id, device_pk, kept_digest = kept[uuid]
            if upload_id == upload.pk and uuid not in claimed:
                claimed.add(uuid)
                results.append(VisitResult(uuid, STORED))
            elif device_pk == device.pk and kept_digest == digest:
                results.append(VisitResult(uuid, DUPLICATE))
            else:
                results.append(VisitResult(uuid, CONFLICT, CONFLICT_DETAIL))
                conflicts.append(
                    VisitConflict(uuid=uuid, device=device, received_at=now, content_hash=digest, content=doc)
                )
        conflicts.sort(key=lambda row: (row.uuid, row.content_hash))  # in index order, as above
        VisitConflict.objects.bulk_create(conflicts, ignore_conflicts=True)

        # In the same transaction: the national forwarder's outbox (every stored visit is forwarded once) and
        # the visits-per-day counts the dashboard charts.
        stored_now = list(Visit.objects.filter(upload=upload).values_list("pk", "location_id", "event_time"))
        ForwardItem.objects.bulk_create(
            [ForwardItem(visit_id=pk, queued_at=now) for pk, _, _ in stored_now], ignore_conflicts=True
        )
        rollup.add((location_id, when) for _, location_id, when in stored_now if when is not None)
        upload.stored = sum(r.status == STORED for r in results)
        upload.duplicates = sum(r.status == DUPLICATE for r in results)
        upload.conflicts = len(conflicts)
        upload.save(update_fields=["stored", "duplicates", "conflicts"])
    return BatchResult(received_at=now, results=tuple(results), upload=upload)


def _forgotten(hashes: set[str]) -> set[str]:
    """Those of ``hashes`` that belong to a person deleted on request (under any of the province's keys)."""
    if not hashes:
        return set()
    found = set(
        DeletionRequest.objects.filter(identity_hash__in=hashes).values_list("identity_hash", flat=True)
    )
    for counts in DeletionRequest.objects.exclude(counts={}).values_list("counts", flat=True):
        older = counts.get("also_hashed_as") if isinstance(counts, dict) else None  # {key id: hash}
        if isinstance(older, dict):
            found.update(h for h in older.values() if isinstance(h, str) and h in hashes)
    return found
