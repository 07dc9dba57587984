"""The provincial server's code and migrations on PostgreSQL: a throw-away cluster (tests/pgcluster.py), real
``kiosk-server`` processes (migrate, serve with several gunicorn workers) and the database read back with
psycopg 3 directly. Skipped, with the reason, where no PostgreSQL server programs can run.

One cluster serves the module; each test takes its own database in it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests import pgcluster, server_support

DEVICE = "gate-1"
LOCATION = "HUE-0001"
_names = itertools.count(1)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pgcluster.PgCluster]:
    reason = pgcluster.available()
    if reason is not None:
        pytest.skip(reason)
    pytest.importorskip("psycopg")
    running = pgcluster.PgCluster.start(tmp_path_factory.mktemp("pg"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def database_url(cluster: pgcluster.PgCluster) -> str:
    """A new, empty database in the module's cluster."""
    return cluster.create_database(f"kiosk_test_{next(_names)}")


def sql(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of one query, on a fresh psycopg 3 connection (autocommit: sees every committed row)."""
    import psycopg

    with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def cli(data: Path, url: str, *args: str) -> str:
    """``kiosk-server ARGS`` on the PostgreSQL database; its stdout. Fails the test on a non-zero status."""
    done = server_support.run_cli(data, *args, database_url=url)
    assert done.returncode == 0, f"kiosk-server {' '.join(args)}: {done.returncode}\n{done.stderr}"
    return done.stdout


def prepare(data: Path, url: str) -> None:
    """Migrate with ``--database-url`` (the option, not the environment) and register the location."""
    migrated = server_support.run_cli(data, "--database-url", url, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "Applying province.0001_initial... OK" in migrated.stdout
    cli(data, url, "location", "add", LOCATION, "--name", "Sở Y tế Huế", "--district", "Huế")


def new_code(data: Path, url: str) -> str:
    return cli(data, url, "code", "new", "--location", LOCATION, "--device", DEVICE).split()[0]


def visit(seq: int, **changes: Any) -> dict[str, Any]:
    doc = server_support.visit_doc(
        changes.pop("device_id", DEVICE), changes.pop("location_code", LOCATION), seq, **changes
    )
    del doc["overrides_uuid"]  # as a kiosk from before the field sends it
    return doc


def post(url: str, path: str, body: Any, token: str | None = None) -> tuple[int, Any]:
    status, reply, _ = server_support.http_json("POST", f"{url}{path}", body, token=token)
    return status, reply


@dataclass(frozen=True)
class Gate:
    """Line requests up inside the database: the test holds the locks ``lock_statement`` takes while the
    requests start, and lets go once ``waiting`` server connections wait for them. The requests then go on
    from the same statement at the same moment, which threads on the client side alone cannot promise
    (HTTP, a worker's accept and the JSON parsing lie between them and the database).

    Django's foreign keys on PostgreSQL are checked at commit (DEFERRABLE INITIALLY DEFERRED): a lock on a
    referenced row stops a request at its commit, not at its insert. Hence a table lock for uploads. The
    gate's transaction is rolled back: what it wrote to take its locks is never kept."""

    database_url: str
    lock_statement: str
    waiting: int


#: An upload's first write is its UploadLog row: this holds every upload back just before it.
UPLOAD_GATE = "LOCK TABLE province_uploadlog IN SHARE MODE"


def _waiting_on_locks(database_url: str) -> int:
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND datname = current_database() AND pid <> pg_backend_pid()"
    )
    count: int = sql(database_url, query)[0][0]
    return count


def post_together(
    url: str, path: str, bodies: list[Any], token: str | None = None, *, gate: Gate | None = None
) -> list[tuple[int, Any]]:
    """POST every body from its own thread, all started at the same moment (and lined up in the database by
    ``gate``); the replies, in the order they came."""
    import psycopg

    replies: list[tuple[int, Any]] = []
    barrier = threading.Barrier(len(bodies))

    def send(body: Any) -> None:
        barrier.wait()
        replies.append(post(url, path, body, token))

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    with contextlib.ExitStack() as stack:
        if gate is not None:
            holder = stack.enter_context(psycopg.connect(gate.database_url, connect_timeout=10))
            holder.execute(gate.lock_statement)
        for thread in threads:
            thread.start()
        if gate is not None:
            deadline = time.monotonic() + 30
            while _waiting_on_locks(gate.database_url) < gate.waiting:
                assert time.monotonic() < deadline, (
                    f"{gate.waiting} requests never waited on {gate.lock_statement}"
                )
                time.sleep(0.02)
            holder.rollback()  # the gate's work is never kept
    for thread in threads:
        thread.join(120)
    assert len(replies) == len(bodies), "a request did not finish within 120 s"
    return replies


def statuses(reply: Any) -> list[str]:
    return [result["status"] for result in reply["results"]]


# -- migrations ---------------------------------------------------------------------------------------------


def test_migrate_twice_on_postgresql_is_a_no_op(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "server"
    prepare(data, database_url)
    applied = sql(database_url, "SELECT app, name FROM django_migrations ORDER BY id")
    tables = sql(
        database_url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    )
    assert ("province", "0001_initial") in applied
    assert ("province_visit",) in tables and ("province_visitconflict",) in tables

    again = server_support.run_cli(data, "--database-url", database_url, "migrate")
    assert again.returncode == 0, again.stderr
    assert "No migrations to apply." in again.stdout
    assert sql(database_url, "SELECT app, name FROM django_migrations ORDER BY id") == applied
    assert sql(database_url, "SELECT count(*) FROM province_location") == [(1,)]

    # The uniqueness the idempotent upload depends on is a real index in PostgreSQL.
    unique = sql(
        database_url,
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'province_visit' AND indexdef LIKE %s",
        "CREATE UNIQUE INDEX%(uuid)",
    )
    assert len(unique) == 1, unique


# -- the upload flow through a real server ------------------------------------------------------------------


def test_enrol_upload_duplicate_and_conflict_through_a_real_server(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "server"
    prepare(data, database_url)
    code = new_code(data, database_url)
    with server_support.start_server(data, workers=3, database_url=database_url) as server:
        status, enrolled = post(server.url, "/api/v1/enrol", {"code": code, "hostname": "gate"})
        assert status == 201, enrolled
        token = enrolled["token"]
        assert enrolled["device_id"] == DEVICE and enrolled["location_code"] == LOCATION
        assert sql(database_url, "SELECT token_hash FROM province_device") == [
            (hashlib.sha256(token.encode("ascii")).hexdigest(),)
        ]

        batch = [visit(1), visit(2, warnings=["clock_unsynchronised"], manual=True, guard="Trần Bình")]
        status, first = post(server.url, "/api/v1/visits", {"visits": batch}, token)
        assert (status, statuses(first)) == (200, ["stored", "stored"]), first

        # The reply was lost: the same visits again, one wall time spelt in UTC instead of +07:00.
        retry = [dict(batch[0], wall_time="2026-11-29T01:15:02.123Z"), batch[1]]
        status, second = post(server.url, "/api/v1/visits", {"visits": retry}, token)
        assert (status, statuses(second)) == (200, ["duplicate", "duplicate"]), second

        changed = dict(batch[0], outcome="refused", reason="deny_list")
        for _ in range(2):
            status, third = post(server.url, "/api/v1/visits", {"visits": [changed]}, token)
            assert status == 200
            assert third["results"] == [
                {"uuid": changed["uuid"], "status": "conflict", "detail": third["results"][0]["detail"]}
            ]

        # JSON fields on PostgreSQL (jsonb): a heartbeat payload and the configuration document.
        beat = {"sent_at": datetime.now(UTC).isoformat(), "backlog": 3, "parked": 1}
        assert post(server.url, "/api/v1/heartbeat", beat, token)[0] == 200
        status, config, headers = server_support.http_json("GET", f"{server.url}/api/v1/config", token=token)
        assert status == 200 and headers["ETag"] == config["etag"]
        status, _, _ = server_support.http_json(
            "GET", f"{server.url}/api/v1/config", token=token, headers={"If-None-Match": config["etag"]}
        )
        assert status == 304
        # The admin's static files (collected by serve, served by WhiteNoise) whatever the database.
        with urllib.request.urlopen(f"{server.url}/static/admin/css/base.css", timeout=10) as reply:
            assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/css")
        assert server.stop() == 0

    rows = sql(
        database_url,
        "SELECT uuid, outcome, wall_time, warnings, manual, guard, received_at FROM province_visit ORDER BY seq",
    )
    assert [(r[0], r[1]) for r in rows] == [(batch[0]["uuid"], "granted"), (batch[1]["uuid"], "granted")]
    assert rows[0][2] == datetime(2026, 11, 29, 1, 15, 2, 123000, tzinfo=UTC)  # timestamptz, the instant kept
    assert rows[1][3] == ["clock_unsynchronised"] and rows[1][4] is True and rows[1][5] == "Trần Bình"
    assert all(abs((r[6] - datetime.now(UTC)).total_seconds()) < 300 for r in rows)
    conflicts = sql(database_url, "SELECT uuid, content FROM province_visitconflict")
    assert len(conflicts) == 1  # recorded once, although sent twice
    assert conflicts[0][0] == changed["uuid"] and conflicts[0][1]["outcome"] == "refused"
    logs = sql(
        database_url, "SELECT count, stored, duplicates, conflicts FROM province_uploadlog ORDER BY id"
    )
    assert logs == [(2, 2, 0, 0), (2, 0, 2, 0), (1, 0, 0, 1), (1, 0, 0, 1)]
    assert sql(database_url, "SELECT payload->>'backlog', clock_offset_s < 60 FROM province_heartbeat") == [
        ("3", True)
    ]
    assert sql(database_url, "SELECT parked_count FROM province_device") == [(1,)]
    listing = cli(data, database_url, "visits", "--location", LOCATION)
    assert listing.count("\tgate-1\t") == 2 and "046090001234" not in listing


# -- concurrency: several workers, one PostgreSQL --------------------------------------------------------------


def test_the_same_batch_posted_by_six_threads_to_three_workers_is_stored_once(
    tmp_path: Path, database_url: str
) -> None:
    data = tmp_path / "server"
    prepare(data, database_url)
    code = new_code(data, database_url)
    with server_support.start_server(data, workers=3, database_url=database_url) as server:
        status, enrolled = post(server.url, "/api/v1/enrol", {"code": code})
        assert status == 201, enrolled
        token = enrolled["token"]
        batch = {"visits": [visit(i) for i in range(200)]}
        # Three workers: three of the six uploads wait together in the database, the others queue for a worker.
        gate = Gate(database_url, UPLOAD_GATE, waiting=3)
        replies = post_together(server.url, "/api/v1/visits", [batch] * 6, token, gate=gate)
        assert [status for status, _ in replies] == [200] * 6, replies
        stored: dict[str, int] = {}
        for _, reply in replies:
            assert len(reply["results"]) == 200
            for result in reply["results"]:
                assert result["status"] in {"stored", "duplicate"}, result
                stored[result["uuid"]] = stored.get(result["uuid"], 0) + (result["status"] == "stored")
        assert len(stored) == 200 and set(stored.values()) == {1}
        assert server.stop() == 0
        log = server.log_text()
    assert '"status": 5' not in log and "Traceback" not in log, log[-4000:]

    assert sql(database_url, "SELECT count(*), count(DISTINCT uuid) FROM province_visit") == [(200, 200)]
    assert sql(database_url, "SELECT count(*) FROM province_visitconflict") == [(0,)]
    uploads = sql(database_url, "SELECT count, stored, duplicates, conflicts FROM province_uploadlog")
    assert len(uploads) == 6 and {row[0] for row in uploads} == {200}
    assert sum(row[1] for row in uploads) == 200 and sum(row[2] for row in uploads) == 1000
    # Every stored row names the upload that stored it, and that upload counted it.
    per_upload = dict(sql(database_url, "SELECT upload_id, count(*) FROM province_visit GROUP BY upload_id"))
    assert per_upload == {
        pk: stored_n
        for pk, stored_n in sql(database_url, "SELECT id, stored FROM province_uploadlog")
        if stored_n
    }


def held_visit(uuid: str) -> str:
    """An INSERT of a bare visit row with this UUID: held uncommitted, it stops every upload that inserts the
    UUID at that row until the gate lets go (and then it is rolled back, never stored)."""
    assert re.fullmatch(r"[0-9a-f-]{36}", uuid)
    return (
        "INSERT INTO province_visit (uuid, device_id, location_id, kiosk_location_code, seq, kind, direction,"
        " outcome, reason, wall_time, clock_synchronised, boot_id, monotonic_s, privacy_notice_version, manual,"
        " warnings, received_at, content_hash)"
        f" SELECT '{uuid}', d.id, d.location_id, 'x', 0, 'cccd', 'in', 'granted', 'ok', now(), true, 'x', 0,"
        " 'x', false, '[]', now(), 'x' FROM province_device d"
    )


def test_overlapping_batches_in_opposite_orders_do_not_deadlock(tmp_path: Path, database_url: str) -> None:
    """Two uploads of the same visits, one in the opposite order, meet in the middle: the test holds the
    middle visit's row uncommitted, so both are mid-insert when it lets go. Inserting in the order each batch
    lists its visits, each would then wait for the other's uncommitted rows: PostgreSQL reports a deadlock
    and one upload fails with 500 (every time). The ingest inserts in UUID order, so both wait on the same
    first row instead."""
    data = tmp_path / "server"
    prepare(data, database_url)
    code = new_code(data, database_url)
    with server_support.start_server(data, workers=2, database_url=database_url) as server:
        status, enrolled = post(server.url, "/api/v1/enrol", {"code": code})
        assert status == 201, enrolled
        token = enrolled["token"]
        for middle in (250, 100):
            visits = [visit(i) for i in range(500)]
            gate = Gate(database_url, held_visit(visits[middle]["uuid"]), waiting=2)
            bodies = [{"visits": visits}, {"visits": visits[::-1]}]
            replies = post_together(server.url, "/api/v1/visits", bodies, token, gate=gate)
            assert [status for status, _ in replies] == [200, 200], replies
            stored = [r["uuid"] for _, reply in replies for r in reply["results"] if r["status"] == "stored"]
            assert sorted(stored) == sorted(v["uuid"] for v in visits)
        assert server.stop() == 0
        assert "deadlock" not in server.log_text()
    assert sql(database_url, "SELECT count(*), count(DISTINCT uuid) FROM province_visit") == [(1000, 1000)]
    assert sql(database_url, "SELECT count(*) FROM province_visit WHERE upload_id IS NULL") == [(0,)]


def test_two_enrolments_racing_with_one_code_give_one_device_token(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "server"
    prepare(data, database_url)
    code = new_code(data, database_url)
    with server_support.start_server(data, workers=3, database_url=database_url) as server:
        # Both enrolments wait at the code's claim (an UPDATE of its row) and go on together.
        gate = Gate(database_url, "SELECT id FROM province_enrolmentcode FOR UPDATE", waiting=2)
        replies = post_together(
            server.url, "/api/v1/enrol", [{"code": code, "hostname": "gate"}] * 2, gate=gate
        )
        assert sorted(status for status, _ in replies) == [201, 403], replies
        winner = next(body for status, body in replies if status == 201)
        loser = next(body for status, body in replies if status == 403)
        assert loser["error"] == "enrolment_code_invalid"
        status, me, _ = server_support.http_json("GET", f"{server.url}/api/v1/device", token=winner["token"])
        assert (status, me["device_id"]) == (200, DEVICE)
        assert server.stop() == 0

    assert sql(database_url, "SELECT device_id, token_hash FROM province_device") == [
        (DEVICE, hashlib.sha256(winner["token"].encode("ascii")).hexdigest())
    ]
    assert sql(database_url, "SELECT count(*) FROM province_enrolmentcode WHERE used_at IS NOT NULL") == [
        (1,)
    ]
