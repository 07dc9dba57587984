"""Server-side retention per record kind and deleting one person's data on a verified request
(``server.province.retention``), on a real SQLite database; the ``forget`` list reaching the kiosks'
configuration (``server.province.configdoc``, ``GET /api/v1/config``); the two commands as processes."""

from __future__ import annotations

import base64
import json
import uuid as uuidlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.identity import DEMO_KEYRING, IdentityKey, IdentityKeyring
from tests import server_support

NOW = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)
DEVICE = "gate-1"
LOCATION = "HUE-0001"
PERSON = "046090001234"
OTHER = "046090009999"


@pytest.fixture(scope="module", autouse=True)
def _django(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server_support.configure_django(tmp_path_factory)


def _clean() -> None:
    from server.province.models import (
        AuditEntry,
        CitizenReport,
        DeletionRequest,
        ForwarderState,
    )

    for model in (DeletionRequest, AuditEntry, CitizenReport, ForwarderState):
        model.objects.all().delete()
    server_support.clean_database()


@pytest.fixture(autouse=True)
def _empty() -> Iterator[None]:
    _clean()
    yield
    _clean()  # deletion requests protect their user: other modules' clean-up must not trip on them


def device() -> Any:
    from server.province import register
    from server.province.models import Device, Location

    if not Location.objects.filter(code=LOCATION).exists():
        register.add_location(LOCATION, "Sở Y tế Huế", district="Huế")
        register.add_device(DEVICE, LOCATION)
    return Device.objects.get(device_id=DEVICE)


def store(
    when: datetime,
    *,
    id_number: str | None = None,
    key: IdentityKey = DEMO_KEYRING.current,
    received: datetime | None = None,
    answers: list[str] | None = None,
) -> str:
    """One visit stored through the upload path at ``received`` (default: ``when``); its UUID. The server's
    answer for it is appended to ``answers`` when given."""
    from server.province import ingest

    dev = device()
    seq = dev.visits.count() + 1
    visit = server_support.visit_doc(
        DEVICE,
        LOCATION,
        seq,
        kind="cccd" if id_number else "unknown",
        identity_hash=key.hash(f"id:{id_number}") if id_number else None,
        identity_key_id=key.key_id if id_number else None,
        id_number=id_number,
        name="Nguyễn Văn An" if id_number else None,
        wall_time=when,
        monotonic_s=float(seq),
    )
    result = ingest.store_batch(dev, [visit], now=received or when)
    if answers is not None:
        answers.extend(r.status for r in result.results)
    return str(visit["uuid"])


def uuids() -> set[str]:
    from server.province.models import Visit

    return set(Visit.objects.values_list("uuid", flat=True))


def mark_forwarded(*visit_uuids: str) -> None:
    from server.province.models import ForwardItem

    ForwardItem.objects.filter(visit__uuid__in=visit_uuids).update(sent_at=NOW)


def province_user(name: str = "officer") -> Any:
    from django.contrib.auth.models import User

    from server.province.models import Account

    user = User.objects.create_user(name, password="correct horse battery staple")
    Account.objects.create(user=user, role=Account.Role.PROVINCE)
    return user


# -- retention -------------------------------------------------------------------------------------------------


def test_each_kind_goes_after_its_period_and_unforwarded_visits_wait_while_forwarding() -> None:
    from server.province.models import AuditEntry, Heartbeat, UploadLog, VisitConflict
    from server.province.retention import DEFAULT_DAYS, apply_retention

    old_sent = store(NOW - timedelta(days=31))
    old_unsent = store(NOW - timedelta(days=40))
    recent = store(NOW - timedelta(days=29))
    mark_forwarded(old_sent, recent)
    dev = device()
    for age in (31, 5):
        Heartbeat.objects.create(
            device=dev, received_at=NOW - timedelta(days=age), sent_at=NOW, clock_offset_s=0, payload={}
        )
        VisitConflict.objects.create(
            uuid=str(uuidlib.uuid4()),
            device=dev,
            received_at=NOW - timedelta(days=age * 3),
            content_hash=str(age),
            content={},
        )
    UploadLog.objects.create(device=dev, received_at=NOW - timedelta(days=91))
    AuditEntry.objects.create(at=NOW - timedelta(days=731), action="export", detail={})
    AuditEntry.objects.create(at=NOW - timedelta(days=700), action="export", detail={})

    dry = apply_retention(NOW, DEFAULT_DAYS, forwarding=True, dry_run=True)
    assert {r.kind: (r.deleted, r.held) for r in dry}["visits"] == (1, 1)
    assert uuids() == {old_sent, old_unsent, recent}  # a dry run deletes nothing

    done = {r.kind: r for r in apply_retention(NOW, DEFAULT_DAYS, forwarding=True)}
    assert (done["visits"].deleted, done["visits"].held) == (1, 1)
    assert uuids() == {old_unsent, recent}  # not yet forwarded: kept for the national centre
    assert (done["heartbeats"].deleted, done["conflicts"].deleted, done["audit_entries"].deleted) == (1, 1, 1)
    assert Heartbeat.objects.count() == 1 and VisitConflict.objects.count() == 1
    assert done["upload_logs"].deleted == 1 and UploadLog.objects.count() == 3  # the uploads' own logs stay
    proof = AuditEntry.objects.get(action="retention")
    assert proof.detail["visits"] == {"days": 30, "deleted": 1, "held": 1}
    assert AuditEntry.objects.filter(action="export").count() == 1

    # Without forwarding configured, nothing holds an old visit back.
    again = {r.kind: r for r in apply_retention(NOW, DEFAULT_DAYS, forwarding=False)}
    assert (again["visits"].deleted, again["visits"].held) == (1, 0)
    assert uuids() == {recent}


def test_periods_come_from_the_environment() -> None:
    from server.errors import RegisterError
    from server.province.retention import retention_days

    assert retention_days({})["audit_entries"] == 730
    days = retention_days({"KIOSK_SERVER_RETENTION": '{"visits": 14, "heartbeats": 7}'})
    assert (days["visits"], days["heartbeats"], days["conflicts"]) == (14, 7, 90)
    for text, words in (
        ('{"visit": 14}', "'visit' is not a record kind"),
        ('{"visits": 0}', "visits = 0"),
        ('{"visits": true}', "visits = True"),
        ("[14]", "JSON object"),
        ("{visits: 14}", "not JSON"),
    ):
        with pytest.raises(RegisterError, match=words):
            retention_days({"KIOSK_SERVER_RETENTION": text})


# -- forget ----------------------------------------------------------------------------------------------------


def test_forget_deletes_one_persons_data_with_proof_and_tells_the_kiosks() -> None:
    from server.province.configdoc import config_document
    from server.province.models import AuditEntry, DeletionRequest, ForwardItem, Location, VisitConflict
    from server.province.retention import forget_person

    theirs = [store(NOW - timedelta(days=d), id_number=PERSON) for d in (1, 2, 3)]
    others = [store(NOW - timedelta(days=1), id_number=OTHER), store(NOW - timedelta(days=1))]
    VisitConflict.objects.create(  # a conflicting copy of one of their visits
        uuid=theirs[0], device=device(), received_at=NOW, content_hash="x", content={"id_number": PERSON}
    )
    location = Location.objects.get(code=LOCATION)
    before = config_document(location, NOW)
    assert before["forget"] == []
    user = province_user()

    done = forget_person(
        f"{PERSON[:4]} {PERSON[4:]}",  # as typed from a form, with a space
        keyring=DEMO_KEYRING,
        requested_by=user,
        verified_by="Phòng PA05, CA tỉnh",
        reason="đơn số 12/2026",
        now=NOW,
    )

    assert dict(done.counts) == {"visits": 3, "conflicts": 1, "forward_items": 3}
    assert uuids() == set(others)
    assert ForwardItem.objects.count() == 2 and VisitConflict.objects.count() == 0
    digest = DEMO_KEYRING.current.hash(f"id:{PERSON}")
    request = DeletionRequest.objects.get()
    assert (request.identity_key_id, request.identity_hash, request.requested_by) == ("demo", digest, user)
    assert request.counts == {"visits": 3, "conflicts": 1, "forward_items": 3}
    entry = AuditEntry.objects.get(action="forget")
    assert entry.user == user and entry.detail["identity_hash"] == digest
    assert entry.detail["counts"] == {"visits": 3, "conflicts": 1, "forward_items": 3}
    assert PERSON not in json.dumps(entry.detail) and PERSON not in json.dumps(request.counts)

    after = config_document(location, NOW + timedelta(days=1))
    assert after["forget"] == [{"key_id": "demo", "hash": digest}]
    assert after["etag"] != before["etag"]
    # Listed while a kiosk may still hold the visits (its retention) plus a margin, then dropped.
    assert config_document(location, NOW + timedelta(days=61))["forget"] == []


def test_forget_matches_under_every_key_of_the_keyring(tmp_path: Path) -> None:
    from server.province.configdoc import config_document
    from server.province.models import Location
    from server.province.retention import forget_person, load_keyring

    new, old = (IdentityKey(name, bytes([n]) * 32) for n, name in ((1, "hue-2027"), (2, "hue-2026")))
    key_file = tmp_path / "keys.json"
    key_file.write_text(
        json.dumps(
            {"keys": [{"id": k.key_id, "secret": base64.b64encode(k.secret).decode()} for k in (new, old)]}
        ),
        encoding="utf-8",
    )
    keyring = load_keyring({"KIOSK_SERVER_IDENTITY_KEY_FILE": str(key_file)})
    assert keyring == IdentityKeyring((new, old))
    assert load_keyring({}) is DEMO_KEYRING
    kept = store(NOW, id_number=PERSON, key=DEMO_KEYRING.current)  # a key this province does not hold…
    store(NOW, id_number=PERSON, key=new)
    store(NOW, id_number=PERSON, key=old)
    other = store(NOW, id_number=OTHER, key=new)

    done = forget_person(
        PERSON, keyring=keyring, requested_by=province_user(), verified_by="x", reason="y", now=NOW
    )

    assert done.counts["visits"] == 3  # …but its stored ID number is the person's: it goes too
    assert uuids() == {other} and kept not in uuids()
    forget = config_document(Location.objects.get(code=LOCATION), NOW)["forget"]
    assert forget == sorted(
        [{"key_id": k.key_id, "hash": k.hash(f"id:{PERSON}")} for k in (new, old)], key=lambda e: e["key_id"]
    )


def test_forget_refuses_bad_input_without_repeating_the_number() -> None:
    from django.contrib.auth.models import User

    from server.errors import RegisterError
    from server.province.models import DeletionRequest
    from server.province.retention import _requester, forget_person

    user = province_user()
    store(NOW, id_number=PERSON)
    for number, changes in (("04609000123", {}), ("0460900012AB", {}), (PERSON, {"verified_by": " "})):
        args: dict[str, Any] = {"verified_by": "x", "reason": "y", **changes}
        with pytest.raises(RegisterError) as caught:
            forget_person(number, keyring=DEMO_KEYRING, requested_by=user, now=NOW, **args)
        assert number not in str(caught.value)
    assert DeletionRequest.objects.count() == 0 and len(uuids()) == 1
    User.objects.create_user("clerk")
    with pytest.raises(RegisterError, match="only a province account"):
        _requester("clerk")
    with pytest.raises(RegisterError, match="no such account"):
        _requester("nobody")
    assert _requester("officer") == user


def test_the_kiosk_gets_the_forget_list_through_the_config_api() -> None:
    from django.test import Client

    from server.province import register
    from server.province.retention import forget_person

    device()
    code, _ = register.issue_enrolment_code(LOCATION, DEVICE, now=datetime.now(UTC), days=1)
    _, token = register.enrol(code, now=datetime.now(UTC))
    client = Client()
    first = client.get("/api/v1/config", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert first.status_code == 200 and first.json()["forget"] == []
    forget_person(
        PERSON,
        keyring=DEMO_KEYRING,
        requested_by=province_user(),
        verified_by="x",
        reason="y",
        now=datetime.now(UTC),
    )
    second = client.get(
        "/api/v1/config", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_IF_NONE_MATCH=first.json()["etag"]
    )
    assert second.status_code == 200  # the ETag changed
    assert second.json()["forget"] == [{"key_id": "demo", "hash": DEMO_KEYRING.current.hash(f"id:{PERSON}")}]


def test_the_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    assert server_support.run_cli(data, "migrate").returncode == 0
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "correct horse battery staple")
    made = server_support.run_cli(
        data, "createsuperuser", "--noinput", "--username", "root", "--email", "root@example.org"
    )
    assert made.returncode == 0, made.stderr

    dry = server_support.run_cli(data, "retention", "apply", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "visits: would delete 0 (older than 30 days)" in dry.stdout
    assert "audit_entries: would delete 0 (older than 730 days)" in dry.stdout

    args = ("forget", "--id", PERSON, "--verified-by", "PA05", "--reason", "đơn 12")
    done = server_support.run_cli(data, *args, "--as", "root")
    assert done.returncode == 0, done.stderr
    assert "deleted 0 visit(s)" in done.stdout and PERSON not in done.stdout + done.stderr
    refused = server_support.run_cli(data, *args, "--as", "nobody")
    assert refused.returncode == 2 and "no such account" in refused.stderr
    bad = server_support.run_cli(
        data, "forget", "--id", "12", "--verified-by", "x", "--reason", "y", "--as", "root"
    )
    assert bad.returncode == 2 and "--id must be" in bad.stderr


def test_a_forgotten_persons_late_upload_is_acknowledged_and_never_stored_again() -> None:
    """A kiosk uploads a visit it recorded before the deletion reached it: the kiosk may let it go (answered
    ``duplicate``), and the server does not keep it."""
    from server.province.models import Visit
    from server.province.retention import forget_person

    store(NOW - timedelta(days=1), id_number=PERSON)
    forget_person(
        PERSON,
        keyring=DEMO_KEYRING,
        requested_by=province_user(),
        verified_by="PA05",
        reason="đơn 12",
        now=NOW,
    )
    answers: list[str] = []
    late = store(NOW, id_number=PERSON, answers=answers)  # recorded offline before the kiosk heard of it
    other = store(NOW, id_number=OTHER, answers=answers)
    assert answers == ["duplicate", "stored"]
    assert uuids() == {other} and not Visit.objects.filter(uuid=late).exists()
