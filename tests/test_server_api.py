"""The provincial server's device API (docs/sync-protocol.md) through Django's test client on a real SQLite
database, plus a real ``kiosk-server serve`` with several workers for the concurrent-upload case."""

from __future__ import annotations

import json
import threading
import uuid as uuidlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import server_support

DEVICE = "gate-1"
LOCATION = "HUE-0001"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def _django(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server_support.configure_django(tmp_path_factory)


@pytest.fixture(autouse=True)
def _empty() -> Iterator[None]:
    server_support.clean_database()
    yield


@pytest.fixture
def client() -> Any:
    from django.test import Client

    return Client(enforce_csrf_checks=True)  # the API must not depend on CSRF cookies


def now() -> datetime:
    return datetime.now(UTC)


def make_code(device_id: str = DEVICE, *, location: str = LOCATION, days: float = 7) -> str:
    from server.province import register
    from server.province.models import Location

    if not Location.objects.filter(code=location).exists():
        register.add_location(location, "Sở Y tế Huế", district="Huế")
    code, _ = register.issue_enrolment_code(location, device_id, now=now(), days=days)
    return code


def enrol(client: Any, device_id: str = DEVICE) -> str:
    reply = post(
        client, "/api/v1/enrol", {"code": make_code(device_id), "kiosk_version": "0.1.0", "hostname": "g"}
    )
    assert reply.status_code == 201, reply.content
    return str(reply.json()["token"])


def post(client: Any, path: str, body: Any, token: str | None = None, **headers: str) -> Any:
    extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", **extra, **headers)


def get(client: Any, path: str, token: str | None = None, **headers: str) -> Any:
    extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(path, **extra, **headers)


def visit(seq: int = 1, **changes: Any) -> dict[str, Any]:
    return server_support.visit_doc(
        changes.pop("device_id", DEVICE), changes.pop("location_code", LOCATION), seq, **changes
    )


def upload(client: Any, token: str, visits: list[dict[str, Any]]) -> Any:
    return post(client, "/api/v1/visits", {"visits": visits}, token)


def counts() -> dict[str, int]:
    from server.province.models import UploadLog, Visit, VisitConflict

    return {
        "visits": Visit.objects.count(),
        "conflicts": VisitConflict.objects.count(),
        "uploads": UploadLog.objects.count(),
    }


# -- health, enrolment, tokens -----------------------------------------------------------------------------


def test_health_says_ok_with_version_api_and_server_time(client: Any) -> None:
    body = get(client, "/api/v1/health").json()
    assert body["status"] == "ok" and body["api"] == 1 and body["version"]
    assert abs((datetime.fromisoformat(body["server_time"]) - now()).total_seconds()) < 5


def test_enrol_issues_a_token_once_and_stores_only_its_hash(client: Any) -> None:
    from server.province.models import Device
    from server.province.secret import sha256_hex

    code = make_code()
    first = post(
        client, "/api/v1/enrol", {"code": code.lower(), "kiosk_version": "0.1.0", "hostname": "gate"}
    )
    assert first.status_code == 201
    body = first.json()
    assert (body["device_id"], body["location_code"]) == (DEVICE, LOCATION)
    device = Device.objects.get(device_id=DEVICE)
    assert device.token_hash == sha256_hex(body["token"]) and body["token"] not in device.token_hash

    again = post(client, "/api/v1/enrol", {"code": code})
    assert again.status_code == 403
    assert again.json()["error"] == "enrolment_code_invalid"
    assert get(client, "/api/v1/device", body["token"]).json()["device_id"] == DEVICE


def test_expired_or_unknown_enrolment_code_is_403(client: Any) -> None:
    from server.province.models import EnrolmentCode

    code = make_code()
    EnrolmentCode.objects.update(expires_at=now() - timedelta(seconds=1))
    assert post(client, "/api/v1/enrol", {"code": code}).json()["error"] == "enrolment_code_invalid"
    assert post(client, "/api/v1/enrol", {"code": "AAAA-BBBB-CCCC"}).status_code == 403
    assert post(client, "/api/v1/enrol", {"hostname": "x"}).json()["error"] == "bad_request"


def test_one_code_enrols_once_even_when_two_enrolments_race() -> None:
    from django.db import connections

    from server.errors import EnrolmentError
    from server.province import register

    code = make_code()
    wins: list[str] = []
    losses: list[str] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        try:
            barrier.wait()
            register.enrol(code, now=now())
            wins.append("won")
        except EnrolmentError:
            losses.append("lost")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert (len(wins), len(losses)) == (1, 3)


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (None, "token_missing"),
        ("Basic abc", "token_invalid"),
        ("Bearer", "token_invalid"),
        ("Bearer nope", "token_invalid"),
    ],
)
def test_missing_or_bad_token_is_401_and_writes_nothing(
    client: Any, authorization: str | None, error: str
) -> None:
    enrol(client)
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    reply = client.post("/api/v1/visits", json.dumps({"visits": [visit()]}), "application/json", **headers)
    assert reply.status_code == 401
    assert reply.json()["error"] == error and reply.json()["detail"]
    assert counts()["visits"] == 0


def test_revoked_token_is_401_token_revoked_and_writes_nothing(client: Any) -> None:
    from server.province import register

    token = enrol(client)
    register.revoke_device(DEVICE, now=now())
    for reply in (
        upload(client, token, [visit()]),
        post(client, "/api/v1/heartbeat", {"sent_at": now().isoformat()}, token),
        get(client, "/api/v1/config", token),
        get(client, "/api/v1/device", token),
    ):
        assert (reply.status_code, reply.json()["error"]) == (401, "token_revoked")
    assert counts() == {"visits": 0, "conflicts": 0, "uploads": 0}
    # Enrolling again with a new code gives a working token; the old one stays dead.
    new_token = enrol(client)
    assert get(client, "/api/v1/device", new_token).status_code == 200
    assert get(client, "/api/v1/device", token).json()["error"] == "token_invalid"


# -- uploads -----------------------------------------------------------------------------------------------


def test_upload_answers_stored_then_duplicate_and_keeps_each_visit_once(client: Any) -> None:
    from server.province.models import UploadLog, Visit

    token = enrol(client)
    batch = [visit(1), visit(2)]
    first = upload(client, token, batch)
    assert first.status_code == 200
    assert [r["status"] for r in first.json()["results"]] == ["stored", "stored"]
    assert "detail" not in first.json()["results"][0]

    # The reply was lost: the kiosk sends the same visits again, one with its wall time spelt another way.
    retry = [dict(batch[0], wall_time="2026-11-29T01:15:02.123000Z"), batch[1], visit(3)]
    second = upload(client, token, retry).json()
    assert [(r["uuid"], r["status"]) for r in second["results"]] == [
        (batch[0]["uuid"], "duplicate"),
        (batch[1]["uuid"], "duplicate"),
        (retry[2]["uuid"], "stored"),
    ]
    assert Visit.objects.count() == 3
    logs = list(UploadLog.objects.order_by("id").values_list("count", "stored", "duplicates", "conflicts"))
    assert logs == [(2, 2, 0, 0), (3, 1, 2, 0)]
    stored = Visit.objects.get(uuid=batch[0]["uuid"])
    assert stored.wall_time == datetime(2026, 11, 29, 1, 15, 2, 123000, tzinfo=UTC)
    assert stored.location.code == LOCATION and stored.kiosk_location_code == LOCATION
    assert abs((stored.received_at - now()).total_seconds()) < 60


def test_same_uuid_with_other_content_is_a_conflict_recorded_once(client: Any) -> None:
    from server.province.models import Visit, VisitConflict

    token = enrol(client)
    original = visit(1)
    upload(client, token, [original])
    changed = dict(original, outcome="refused", reason="deny_list")
    for _ in range(2):
        result = upload(client, token, [changed]).json()["results"][0]
        assert result == {"uuid": original["uuid"], "status": "conflict", "detail": result["detail"]}
        assert result["detail"]
    assert Visit.objects.get(uuid=original["uuid"]).outcome == "granted"  # the server keeps what it had
    conflict = VisitConflict.objects.get()
    assert conflict.content["outcome"] == "refused" and conflict.device.device_id == DEVICE


def test_an_override_names_the_refusal_it_replaced_and_that_is_part_of_its_content(client: Any) -> None:
    from server.province.models import Visit

    token = enrol(client)
    refusal = visit(1, outcome="refused", reason="not_on_roster")
    override = visit(
        2,
        reason="guard_override",
        manual=True,
        guard="guard",
        note="known staff member",
        original_outcome="refused",
        original_reason="not_on_roster",
        overrides_uuid=refusal["uuid"],
    )
    assert [r["status"] for r in upload(client, token, [refusal, override]).json()["results"]] == [
        "stored",
        "stored",
    ]
    assert Visit.objects.get(uuid=override["uuid"]).overrides_uuid == refusal["uuid"]
    assert Visit.objects.get(uuid=refusal["uuid"]).overrides_uuid is None
    assert upload(client, token, [override]).json()["results"][0]["status"] == "duplicate"
    for other in (str(uuidlib.uuid4()), None):  # another refusal, or none: other content
        result = upload(client, token, [dict(override, overrides_uuid=other)]).json()["results"][0]
        assert result["status"] == "conflict"
    assert Visit.objects.get(uuid=override["uuid"]).overrides_uuid == refusal["uuid"]


@pytest.mark.parametrize("bad", ["not-a-uuid", "0B8F0000-0000-4000-8000-000000000000", 7, ""])
def test_overrides_uuid_must_be_a_uuid_or_null(client: Any, bad: Any) -> None:
    token = enrol(client)
    reply = upload(client, token, [visit(1), visit(2, overrides_uuid=bad)])
    assert (reply.status_code, reply.json()["index"]) == (422, 1)
    assert counts()["visits"] == 0


def test_a_visit_without_overrides_uuid_hashes_as_null_and_as_before_the_field(client: Any) -> None:
    """An older kiosk leaves ``overrides_uuid`` out: absent and null are the same content, and both hash as
    the visit did before the field existed, so a retry across the upgrade is still a duplicate."""
    import hashlib

    from server.province.models import Visit

    token = enrol(client)
    older = visit(1)
    del older["overrides_uuid"]
    assert upload(client, token, [older]).json()["results"][0]["status"] == "stored"
    assert upload(client, token, [dict(older, overrides_uuid=None)]).json()["results"][0]["status"] == (
        "duplicate"
    )
    # The hash of the fields version 1 first had: the canonical JSON without overrides_uuid.
    before = dict(older, wall_time="2026-11-29T01:15:02.123000+00:00")
    text = json.dumps(before, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert Visit.objects.get(uuid=older["uuid"]).content_hash == hashlib.sha256(text.encode()).hexdigest()
    assert Visit.objects.get(uuid=older["uuid"]).overrides_uuid is None


def test_the_kiosk_and_the_server_hash_an_override_alike(client: Any) -> None:
    from kiosk.model import ClockReading, Direction, Kind, Outcome, Reason
    from kiosk.model import Visit as KioskVisit
    from kiosk.sync.client import visit_json
    from kiosk.sync.fake import content_hash
    from server.province.models import Visit

    token = enrol(client)
    at = ClockReading(datetime(2026, 11, 29, 1, 15, 2, 123000, tzinfo=UTC), True, "b0" * 16, 12.0)
    refusal = KioskVisit(
        uuid=str(uuidlib.uuid4()),
        seq=1,
        device_id=DEVICE,
        location_code=LOCATION,
        kind=Kind.UNKNOWN,
        identity_hash=None,
        id_number=None,
        name=None,
        direction=Direction.IN,
        outcome=Outcome.REFUSED,
        reason=Reason.UNKNOWN_FORMAT,
        at=at,
        privacy_notice_version="2026-01",
    )
    override = KioskVisit(
        **{
            **{f: getattr(refusal, f) for f in KioskVisit.__slots__},
            "uuid": str(uuidlib.uuid4()),
            "seq": 2,
            "outcome": Outcome.GRANTED,
            "reason": Reason.GUARD_OVERRIDE,
            "manual": True,
            "guard": "guard",
            "note": "code damaged, identity checked by hand",
            "original_outcome": Outcome.REFUSED,
            "original_reason": Reason.UNKNOWN_FORMAT,
            "overrides": refusal.uuid,
        }
    )
    docs = [visit_json(refusal), visit_json(override)]
    assert docs[1]["overrides_uuid"] == refusal.uuid and docs[0]["overrides_uuid"] is None
    assert [r["status"] for r in upload(client, token, docs).json()["results"]] == ["stored", "stored"]
    for doc in docs:
        assert Visit.objects.get(uuid=doc["uuid"]).content_hash == content_hash(
            dict(doc, monotonic_s=float(doc["monotonic_s"]))
        )


def test_a_uuid_another_device_stored_is_a_conflict(client: Any) -> None:
    token_1 = enrol(client, DEVICE)
    token_2 = enrol(client, "gate-2")
    shared = visit(1)
    upload(client, token_1, [shared])
    result = upload(client, token_2, [dict(shared, device_id="gate-2")]).json()["results"][0]
    assert result["status"] == "conflict"


def test_a_visit_naming_another_device_fails_the_batch_with_nothing_written(client: Any) -> None:
    token = enrol(client)
    reply = upload(client, token, [visit(1), visit(2, device_id="gate-9")])
    assert (reply.status_code, reply.json()["error"]) == (403, "wrong_device")
    assert counts() == {"visits": 0, "conflicts": 0, "uploads": 0}


def test_an_invalid_visit_is_422_naming_its_index_and_nothing_is_written(client: Any) -> None:
    token = enrol(client)
    batch = [visit(1), visit(2), visit(3, wall_time="yesterday"), visit(4, direction="sideways")]
    reply = upload(client, token, batch)
    assert reply.status_code == 422
    body = reply.json()
    assert (body["error"], body["index"]) == ("invalid_visit", 2)
    assert "2" in body["detail"] and "wall_time" in body["detail"]
    assert "046090001234" not in body["detail"]
    assert counts()["visits"] == 0


def test_new_kind_and_reason_codes_are_accepted_but_not_free_text(client: Any) -> None:
    token = enrol(client)
    assert upload(client, token, [visit(1, kind="vneid", reason="new_reason_2027")]).status_code == 200
    assert upload(client, token, [visit(2, reason="Not a code!")]).status_code == 422


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"visits": 3}'])
def test_a_malformed_body_is_422_invalid_visit(client: Any, body: bytes) -> None:
    token = enrol(client)
    reply = post(client, "/api/v1/visits", body, token)
    assert (reply.status_code, reply.json()["error"]) == (422, "invalid_visit")


def test_more_than_500_visits_is_413_with_max_visits(client: Any) -> None:
    token = enrol(client)
    batch = [{"uuid": str(uuidlib.uuid4())} for _ in range(501)]  # too many: not looked at further
    reply = upload(client, token, batch)
    assert reply.status_code == 413
    assert reply.json()["error"] == "batch_too_large" and reply.json()["max_visits"] == 500
    assert upload(client, token, [visit(i) for i in range(500)]).status_code == 200


def test_a_body_over_1_mib_is_413_before_it_is_parsed(client: Any) -> None:
    token = enrol(client)
    big = b'{"visits": [], "pad": "' + b"x" * (1024 * 1024) + b'"}'
    reply = post(client, "/api/v1/visits", big, token)
    assert (reply.status_code, reply.json()["error"]) == (413, "batch_too_large")
    assert counts()["uploads"] == 0


# -- heartbeat and configuration ---------------------------------------------------------------------------


def test_heartbeat_is_stored_with_the_clock_offset(client: Any) -> None:
    from server.province.models import Device, Heartbeat

    token = enrol(client)
    sent_at = now() - timedelta(seconds=90)  # the kiosk's clock is 90 s behind
    beat = {"sent_at": sent_at.isoformat(), "parked": 2, "backlog": 12, "location": {"code": LOCATION}}
    reply = post(client, "/api/v1/heartbeat", beat, token)
    assert reply.status_code == 200 and "server_time" in reply.json()
    stored = Heartbeat.objects.get()
    assert 89 < stored.clock_offset_s < 120
    assert stored.payload["backlog"] == 12 and stored.payload["camera_state"] is None
    device = Device.objects.get(device_id=DEVICE)
    assert device.parked_count == 2 and device.last_seen_at is not None
    assert post(client, "/api/v1/heartbeat", {"backlog": 1}, token).json()["error"] == "bad_request"


def test_config_has_an_etag_and_if_none_match_gives_304(client: Any) -> None:
    from server.province.models import Location

    token = enrol(client)
    reply = get(client, "/api/v1/config", token)
    assert reply.status_code == 200
    body = reply.json()
    assert reply["ETag"] == body["etag"] and body["etag"].startswith('"')
    assert body["location"]["code"] == LOCATION and body["policy"] == {"mode": "log", "repeat_window_s": 30}
    assert body["deny_list"] is None

    same = get(client, "/api/v1/config", token, HTTP_IF_NONE_MATCH=body["etag"])
    assert same.status_code == 304 and same.content == b""

    Location.objects.update(deny_list={"key_id": "hue-2026", "hashes": ["cd" * 32]})
    changed = get(client, "/api/v1/config", token, HTTP_IF_NONE_MATCH=body["etag"])
    assert changed.status_code == 200 and changed.json()["etag"] != body["etag"]
    assert changed.json()["deny_list"]["key_id"] == "hue-2026"


# -- the OpenAPI document ----------------------------------------------------------------------------------


def test_served_openapi_document_equals_docs_openapi_json(client: Any) -> None:
    served = get(client, "/api/v1/openapi.json").json()
    kept = json.loads((REPO / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert served == kept, "docs/openapi.json is stale: run 'kiosk-server openapi > docs/openapi.json'"
    assert set(served["paths"]) == {
        f"/api/v1/{name}" for name in ("health", "enrol", "device", "visits", "heartbeat", "config")
    }


# -- a real server: two workers take the same batch at the same moment -------------------------------------


def test_the_same_batch_sent_concurrently_to_several_workers_is_stored_once(tmp_path: Path) -> None:
    data = tmp_path / "server"
    assert server_support.run_cli(data, "migrate").returncode == 0
    assert server_support.run_cli(data, "location", "add", LOCATION, "--name", "Huế").returncode == 0
    created = server_support.run_cli(data, "code", "new", "--location", LOCATION, "--device", DEVICE)
    code = created.stdout.split()[0]
    with server_support.start_server(data, workers=3) as server:
        status, body, _ = server_support.http_json("POST", f"{server.url}/api/v1/enrol", {"code": code})
        assert status == 201
        token = body["token"]
        batch = {"visits": [visit(i) for i in range(200)]}
        replies: list[tuple[int, Any]] = []
        barrier = threading.Barrier(6)

        def send() -> None:
            barrier.wait()
            status, body, _ = server_support.http_json(
                "POST", f"{server.url}/api/v1/visits", batch, token=token
            )
            replies.append((status, body))

        threads = [threading.Thread(target=send) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert [status for status, _ in replies] == [200] * 6, replies
        stored: dict[str, int] = {}
        for _, reply in replies:
            for result in reply["results"]:
                assert result["status"] in {"stored", "duplicate"}
                stored[result["uuid"]] = stored.get(result["uuid"], 0) + (result["status"] == "stored")
        assert len(stored) == 200 and set(stored.values()) == {1}
        assert server.stop() == 0
    listing = server_support.run_cli(data, "visits", "--location", LOCATION, "--limit", "500")
    assert listing.stdout.count("\tgate-1\t") == 200


# -- migrations and static files ----------------------------------------------------------------------------


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    """``makemigrations --check --dry-run`` through the settings module: a model change without its migration
    fails here (and would otherwise fail at the first ``migrate`` on a server)."""
    import subprocess
    import sys

    env = server_support.server_env(tmp_path / "server")
    env["DJANGO_SETTINGS_MODULE"] = "server.settings"
    done = subprocess.run(
        [sys.executable, "-m", "django", "makemigrations", "--check", "--dry-run", "--verbosity", "2"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"models and migrations differ: {done.stdout}{done.stderr}"
    assert "No changes detected" in done.stdout


def test_a_real_server_serves_the_admin_static_files(tmp_path: Path) -> None:
    import urllib.request

    data = tmp_path / "server"
    with server_support.start_server(data) as server:
        for attempt in range(2):  # serve collects the static files at every start: the second time, no-op
            css = f"{server.url}/static/admin/css/base.css"
            with urllib.request.urlopen(css, timeout=10) as reply:
                assert reply.status == 200
                assert reply.headers["Content-Type"].startswith("text/css")
                assert b"body" in reply.read()
            gzipped = urllib.request.Request(css, headers={"Accept-Encoding": "gzip"})
            with urllib.request.urlopen(gzipped, timeout=10) as reply:
                assert reply.status == 200 and reply.headers["Content-Encoding"] == "gzip"
            if attempt == 0:
                server.restart()
        assert server.stop() == 0
    assert (data / "static" / "admin" / "css" / "base.css").is_file()
    assert "Traceback" not in server.log_text()
