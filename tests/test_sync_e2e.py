"""End to end: a real ``kiosk sync`` process uploads a real kiosk database to a real ``kiosk-server`` (gunicorn,
two workers, SQLite) on 127.0.0.1, through a seeded fault proxy where the test needs a bad network.

Every test checks the result on the server's own database (opened read-only): each visit the kiosk recorded
is there exactly once with identical content (the server's content hash and the columns), nothing else is
there, and the kiosk's outbox is empty. What each test adds:

1. ``test_faults_and_a_server_restart``: resets, replies lost after the commit, truncated replies, stalls
   past the read timeout, 503 with Retry-After and a server restart mid-run (5 seeds of 1,000 visits;
   ``KIOSK_SOAK=1``: 10 seeds of 5,000) — duplicate deliveries happened and were absorbed.
2. ``test_server_killed_between_commit_and_reply``: the server's worker process dies right after its commit
   (``KIOSK_SERVER_TEST_DIE_AFTER_COMMIT``): the kiosk retries, the server answers "duplicate".
3. ``test_sync_worker_killed_mid_batch``: ``kiosk sync`` SIGKILLed at seeded random moments, restarted.
4. ``test_two_workers_post_the_same_batch``: two ``kiosk sync --once`` on one kiosk database at once.
5. ``test_413_splits_the_batch``: the server takes fewer visits per request than the kiosk sends.
6. ``test_conflict_is_parked_once``: a different visit under one UUID is parked, the rest uploaded.
7. ``test_tls``: a throw-away CA; wrong CA, self-signed, expired and wrong-host certificates are refused.
8. ``test_tokens_*``: missing, wrong and revoked tokens; one device cannot write as another.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest
import requests

from kiosk.sync.client import visit_json
from tests.e2e_support import (
    DEVICE_ID,
    LOCATION,
    E2EServer,
    Kiosk,
    Processes,
    content_hash,
    pause,
    poll,
    province,
)
from tests.faultproxy import RESET_AFTER_REQUEST, FaultPlan, FaultProxy, planned_actions
from tests.tlsca import make_tls_material

#: The faults of test 1, per request: 28 % of the requests fail one way or another.
FAULTS = FaultPlan(
    reset_before=0.05,
    reset_after_request=0.10,
    truncate_reply=0.05,
    stall=0.03,
    http_503=0.05,
    stall_s=2.5,  # just past the worker's 2 s read timeout
    retry_after_s=1,
)
#: The normal run (make test, CI): 5 seeds of 1,000 visits; ``KIOSK_SOAK=1``: 10 seeds of 5,000.
SOAK = os.environ.get("KIOSK_SOAK") == "1"
SEEDS = (1, 2, 3, 4, 5)
SOAK_SEEDS = tuple(range(101, 111))


def _fault_run(tmp_path: Path, seed: int, visits: int, deadline_s: float) -> dict[str, object]:
    """Test 1's body: ``visits`` through a seeded fault proxy with one server restart; returns figures."""
    # The seed's first 20 draws (all uploads: the heartbeat comes after the outbox is empty) lose a reply.
    assert RESET_AFTER_REQUEST in planned_actions(seed, FAULTS, 20), f"seed {seed} loses no reply early"
    kiosk = Kiosk(tmp_path / "kiosk")
    with province(tmp_path) as prov:
        kiosk.enrol(prov)
        kiosk.record(visits)
        started = time.monotonic()
        with (
            FaultProxy("127.0.0.1", prov.server.port, seed, FAULTS) as proxy,
            kiosk.worker(proxy.url) as worker,
        ):

            def state() -> str:
                return (
                    f"seed {seed}: backlog {kiosk.backlog()}, server {prov.db().counts()}, proxy {proxy.stats}; "
                    f"worker {'running' if worker.running else 'exited'}:\n{worker.output()[-2000:]}"
                )

            # The restart comes once a third is on the server: mid-run, while the worker is uploading.
            poll(lambda: prov.db().visit_count() >= visits // 3 or not worker.running, deadline_s, what=state)
            assert worker.running, state()
            on_server_at_restart = prov.db().visit_count()
            assert on_server_at_restart < visits, "the restart should come mid-run"
            prov.server.restart()
            poll(
                lambda: (kiosk.backlog() == 0 and prov.db().visit_count() == visits) or not worker.running,
                deadline_s,
                what=state,
            )
            assert worker.running, state()
            elapsed = time.monotonic() - started
            assert worker.terminate() == 0, worker.output()
            stats = proxy.stats
            assert not proxy.errors, proxy.errors
        kiosk.assert_all_on_server(prov.db())
        uploads = prov.db().uploads()
        assert prov.db().conflicts() == []
        assert uploads.conflicts == 0
        assert uploads.stored == visits
        # Replies were lost after the server committed, and the retries were answered "duplicate".
        assert stats[RESET_AFTER_REQUEST] > 0, stats
        assert uploads.duplicates > 0, uploads
    return {
        "seed": seed,
        "seconds": round(elapsed, 1),
        "on_server_at_restart": on_server_at_restart,
        "upload_requests": uploads.requests,
        "duplicates_absorbed": uploads.duplicates,
        "proxy": {k: v for k, v in stats.items() if v},
    }


@pytest.mark.slow  # 10-20 s per seed on 2 cores; `KIOSK_SOAK=1` runs 10 seeds of 5,000 visits (30-50 s each)
@pytest.mark.parametrize("seed", SOAK_SEEDS if SOAK else SEEDS)
def test_faults_and_a_server_restart(tmp_path: Path, seed: int) -> None:
    figures = _fault_run(tmp_path, seed, 5000 if SOAK else 1000, deadline_s=300.0 if SOAK else 60.0)
    print(json.dumps(figures))


def test_server_killed_between_commit_and_reply(tmp_path: Path) -> None:
    """Uploads 2, 4 and 7 commit, then their server worker SIGKILLs itself before replying: three batches of
    50 are on the server but the kiosk never heard so. It retries each; the server answers "duplicate"."""
    kiosk = Kiosk(tmp_path / "kiosk")
    with province(tmp_path, env={"KIOSK_SERVER_TEST_DIE_AFTER_COMMIT": "2,4,7"}) as prov:
        kiosk.enrol(prov)
        kiosk.record(500)
        with kiosk.worker(prov.url) as worker:
            poll(
                lambda: (kiosk.backlog() == 0 and prov.db().visit_count() == 500) or not worker.running,
                60.0,
                what=lambda: (
                    f"backlog {kiosk.backlog()}, server {prov.db().counts()}:\n{worker.output()[-2000:]}"
                ),
            )
            assert worker.running, worker.output()
            assert worker.terminate() == 0, worker.output()
        kiosk.assert_all_on_server(prov.db())
        uploads = prov.db().uploads()
        # 10 batches + 3 retries; each retry found its 50 visits already stored (and identical).
        assert (uploads.requests, uploads.stored, uploads.duplicates, uploads.conflicts) == (13, 500, 150, 0)
        log = prov.server.log_text()
        # Structured logs without personal data or secrets: no names, ID numbers or the device token.
        assert all(json.loads(line) for line in log.splitlines() if line.strip())
        for text in (log, worker.output()):
            assert "Nguy" not in text and "046000000" not in text and kiosk.token() not in text
        assert log.count("crash test: killing this worker after upload") == 3, prov.log_tail()
        assert log.count("was sent SIGKILL") == 3, prov.log_tail()  # and gunicorn started new workers
        assert worker.output().count("error:") >= 3, worker.output()


def test_sync_worker_killed_mid_batch(tmp_path: Path) -> None:
    """``kiosk sync`` is SIGKILLed five times at seeded random moments while it uploads (each time once it
    has made progress, then 0-250 ms later) and started again; in the end every visit is there once."""
    rng = random.Random(20261129)
    kiosk = Kiosk(tmp_path / "kiosk")
    kills: list[tuple[int, int]] = []  # (kiosk backlog, visits on the server) at each kill
    with province(tmp_path) as prov:
        kiosk.enrol(prov)
        kiosk.record(2000)
        for _ in range(5):
            before = kiosk.backlog()
            with kiosk.worker(prov.url) as worker:
                poll(
                    lambda: kiosk.backlog() < before or not worker.running,  # noqa: B023 (called in the loop)
                    30.0,
                    what=lambda: f"progress from {before}:\n{worker.output()[-2000:]}",  # noqa: B023
                )
                assert worker.running, worker.output()
                pause(rng.uniform(0.0, 0.25))
                worker.kill()
                kills.append((kiosk.backlog(), prov.db().visit_count()))
        assert kills[-1][0] > 0, f"the worker had uploaded everything before the last kill: {kills}"
        with kiosk.worker(prov.url) as worker:
            poll(
                lambda: (kiosk.backlog() == 0 and prov.db().visit_count() == 2000) or not worker.running,
                60.0,
                what=lambda: (
                    f"backlog {kiosk.backlog()}, server {prov.db().counts()}:\n{worker.output()[-2000:]}"
                ),
            )
            assert worker.terminate() == 0, worker.output()
        kiosk.assert_all_on_server(prov.db())
        uploads = prov.db().uploads()
        assert uploads.stored == 2000 and uploads.conflicts == 0
        # Visits on the server but not acknowledged by the kiosk at a kill were sent again: "duplicate".
        unacknowledged = sum(max(0, on_server - (2000 - backlog)) for backlog, on_server in kills)
        print(json.dumps({"kills": kills, "duplicates_absorbed": uploads.duplicates, "gap": unacknowledged}))


def test_two_workers_post_the_same_batch(tmp_path: Path) -> None:
    """Two ``kiosk sync --once`` on one kiosk database at the same moment (both ``owner=False``): each sends
    what it finds pending, the server stores every visit once and answers the other copy "duplicate"; both
    exit 0 and the outbox is empty."""
    kiosk = Kiosk(tmp_path / "kiosk", sync={"batch_size": 100})
    with province(tmp_path) as prov:
        kiosk.enrol(prov)
        kiosk.record(1000)
        with Processes() as procs:
            first = procs.add(kiosk.spawn_once(prov.url, "first"))
            second = procs.add(kiosk.spawn_once(prov.url, "second"))
            codes = [p.process.wait(timeout=60) for p in (first, second)]
        assert codes == [0, 0], (first.output(), second.output())
        for proc in (first, second):
            assert "error" not in proc.output(), proc.output()
        kiosk.assert_all_on_server(prov.db())
        uploads = prov.db().uploads()
        assert uploads.stored == 1000 and uploads.conflicts == 0
        assert uploads.visits == 1000 + uploads.duplicates
        # They did post the same visits at once (started together, they read the same pending batches).
        assert uploads.duplicates > 0, (first.output(), second.output())
        print(json.dumps({"upload_requests": uploads.requests, "duplicates_absorbed": uploads.duplicates}))


def test_413_splits_the_batch(tmp_path: Path) -> None:
    """The kiosk sends 500 visits per request; this server takes at most 100 (``KIOSK_SERVER_MAX_VISITS``):
    the 413 names the limit, the kiosk splits, everything arrives once in batches of at most 100."""
    kiosk = Kiosk(tmp_path / "kiosk", sync={"batch_size": 500})
    with province(tmp_path, env={"KIOSK_SERVER_MAX_VISITS": "100"}) as prov:
        kiosk.enrol(prov)
        kiosk.record(1000)
        done = kiosk.sync_once(prov.url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "sent 1000, stored 1000, duplicates 0" in done.stdout, done.stdout
        assert "retries 1;" in done.stdout, done.stdout  # the one 413
        kiosk.assert_all_on_server(prov.db())
        assert prov.db().upload_sizes() == [100] * 10
        assert prov.server.log_text().count("POST /api/v1/visits 413") == 1, prov.log_tail()


def test_conflict_is_parked_once(tmp_path: Path) -> None:
    """A different visit is already on the server under the UUID of one of the kiosk's pending visits (posted
    over HTTP with the device's own token): ``kiosk sync --once`` parks exactly that one, uploads the rest and
    exits 0 (its outbox is drained: a parked visit is not pending); the server keeps what it had and records
    the kiosk's copy once; a second run sends nothing."""
    kiosk = Kiosk(tmp_path / "kiosk")
    with province(tmp_path) as prov:
        token = kiosk.enrol(prov)
        kiosk.record(10)
        assert kiosk.sync_once(prov.url).returncode == 0  # a first upload: ten visits on the server
        pending = kiosk.record(10)
        victim = pending[4]
        doctored = {**visit_json(victim), "outcome": "needs_guard", "note": "not what the kiosk recorded"}
        reply = requests.post(
            f"{prov.url}/api/v1/visits",
            json={"visits": [doctored]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert reply.status_code == 200 and reply.json()["results"][0]["status"] == "stored", reply.text
        planted = prov.db().visits()[victim.uuid]["content_hash"]
        requests_before = prov.db().uploads().requests

        done = kiosk.sync_once(prov.url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "sent 10, stored 9, duplicates 0, conflicts 1" in done.stdout, done.stdout
        assert "backlog 0, parked 1" in done.stdout, done.stdout
        with kiosk.snapshot() as store:
            parked = store.parked()
        assert [p.visit.uuid for p in parked] == [victim.uuid]
        assert parked[0].reason.startswith("conflict"), parked[0].reason
        db = prov.db()
        assert db.conflicts() == [(victim.uuid, content_hash(victim))]
        assert db.visits()[victim.uuid]["content_hash"] == planted  # the server kept what it had
        assert db.counts() == (20, 20)
        assert db.device(DEVICE_ID)["parked_count"] == 1  # the heartbeat told the server
        on_server = db.visits()
        for visit in kiosk.recorded:
            if visit.uuid != victim.uuid:
                assert on_server[visit.uuid]["content_hash"] == content_hash(visit)
        assert db.uploads().requests == requests_before + 1

        again = kiosk.sync_once(prov.url)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "sent 0," in again.stdout and "parked 1" in again.stdout, again.stdout
        assert prov.db().uploads().requests == requests_before + 1  # the parked visit was not sent again
        assert prov.db().conflicts() == [(victim.uuid, content_hash(victim))]
        assert kiosk.outbox() == (0, 1)


BAD_CERTIFICATES = ("other_server", "selfsigned", "expired", "wronghost")


def test_tls(tmp_path: Path) -> None:
    """Over HTTPS with a throw-away CA: with ``sync.ca_file`` naming the right CA the kiosk enrols and
    uploads. Trusting a wrong CA, or a server presenting a certificate of a wrong CA, a self-signed one, an
    expired one or one for another host, ``kiosk sync --once`` fails with exit 1 and "TLS failed" (the
    status file says so too) and nothing arrives. Back on the right certificate, the rest goes up."""
    tls = make_tls_material(tmp_path / "tls")
    leaves = tls.leaves()
    kiosk = Kiosk(tmp_path / "kiosk")
    right: dict[str, object] = {"sync.ca_file": tls.ca}
    with province(tmp_path, certfile=tls.server_cert, keyfile=tls.server_key) as prov:
        assert prov.url.startswith("https://127.0.0.1:")
        kiosk.enrol(prov, ca_file=tls.ca)
        kiosk.record(20)
        done = kiosk.sync_once(prov.url, right)
        assert done.returncode == 0, done.stdout + done.stderr
        assert prov.db().visit_count() == 20
        kiosk.record(10)

        def refused(url: str, sets: dict[str, object], case: str) -> None:
            done = kiosk.sync_once(url, sets)
            assert done.returncode == 1, f"{case}: {done.stdout}{done.stderr}"
            assert "TLS failed" in done.stdout, f"{case}: {done.stdout}"
            assert "TLS failed" in (kiosk.status()["last_error"] or ""), case
            assert prov.db().visit_count() == 20, case
            assert kiosk.backlog() == 10, case

        refused(prov.url, {"sync.ca_file": tls.other_ca}, "the kiosk trusts a wrong CA")
        uploads = prov.db().uploads().requests
        prov.server.stop()
        for name in BAD_CERTIFICATES:
            cert, key = leaves[name]
            with E2EServer(prov.data_dir, certfile=cert, keyfile=key).start() as bad:
                refused(bad.url, right, f"server certificate {name}")
        assert prov.db().uploads().requests == uploads  # no upload reached the server's application

        prov.server.start()
        done = kiosk.sync_once(prov.url, right)
        assert done.returncode == 0, done.stdout + done.stderr
        kiosk.assert_all_on_server(prov.db())


def test_tokens_missing(tmp_path: Path) -> None:
    """No token file: ``kiosk sync --once`` exits 2 and says to run ``kiosk enroll``."""
    kiosk = Kiosk(tmp_path / "kiosk")
    kiosk.record(3)
    done = kiosk.sync_once("http://127.0.0.1:9")  # never contacted
    assert done.returncode == 2, done.stdout + done.stderr
    assert "kiosk enroll" in done.stderr and "no device token" in done.stderr, done.stderr
    assert kiosk.outbox() == (3, 0)


def test_tokens_wrong_and_revoked(tmp_path: Path) -> None:
    """A token the server does not know: 401 token_invalid, exit 1, "enrol again", nothing written. A revoked
    token (``kiosk-server device revoke``): the same with token_revoked, and the long-running worker stops by
    itself; enrolled again with a new code, the kiosk uploads what waited."""
    kiosk = Kiosk(tmp_path / "kiosk")
    with province(tmp_path) as prov:
        kiosk.state_dir.mkdir(parents=True)
        (kiosk.state_dir / "token").write_text("not-a-token-this-server-issued\n", encoding="ascii")
        kiosk.record(5)
        done = kiosk.sync_once(prov.url)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "401 token_invalid" in done.stderr and "enrol again" in done.stderr, done.stderr
        assert kiosk.status()["auth_refused"] is True
        assert prov.db().visit_count() == 0 and prov.db().uploads().requests == 0

        kiosk.enrol(prov)
        done = kiosk.sync_once(prov.url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert prov.db().visit_count() == 5
        prov.cli("device", "revoke", DEVICE_ID)
        kiosk.record(5)
        done = kiosk.sync_once(prov.url)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "401 token_revoked" in done.stderr and "enrol again" in done.stderr, done.stderr
        status = kiosk.status()
        assert status["auth_refused"] is True and "enrol again" in status["last_error"], status
        assert prov.db().visit_count() == 5 and prov.db().uploads().requests == 1
        with kiosk.worker(prov.url) as worker:
            code = worker.process.wait(timeout=30)  # stops by itself: retrying cannot help
            assert code == 1 and "enrol again" in worker.output(), worker.output()
        assert prov.db().visit_count() == 5

        kiosk.enrol(prov)
        done = kiosk.sync_once(prov.url)
        assert done.returncode == 0, done.stdout + done.stderr
        kiosk.assert_all_on_server(prov.db())


def test_tokens_one_device_cannot_write_as_another(tmp_path: Path) -> None:
    """Device A's token with a visit naming device B (alone, or beside A's own visit): 403 wrong_device, and
    nothing at all is written."""
    kiosk_a = Kiosk(tmp_path / "a", device_id="gate-1")
    kiosk_b = Kiosk(tmp_path / "b", device_id="gate-2")
    with province(tmp_path) as prov:
        token_a = kiosk_a.enrol(prov)
        kiosk_b.enrol(prov)
        own = visit_json(kiosk_a.record(1)[0])
        foreign = visit_json(kiosk_b.record(1)[0])
        assert foreign["device_id"] == "gate-2" and foreign["location_code"] == LOCATION
        for batch in ([foreign], [own, foreign]):
            reply = requests.post(
                f"{prov.url}/api/v1/visits",
                json={"visits": batch},
                headers={"Authorization": f"Bearer {token_a}"},
                timeout=10,
            )
            assert reply.status_code == 403, reply.text
            assert reply.json()["error"] == "wrong_device", reply.text
        assert prov.db().visit_count() == 0 and prov.db().uploads().requests == 0


def test_a_new_server_address_saved_on_the_admin_screen_applies_without_a_restart(tmp_path: Path) -> None:
    """The long-running worker re-reads its configuration after each cycle: the admin corrects a wrong
    server address (the admin settings file, as the settings page writes it) and the backlog goes up."""
    from kiosk.config import load_config
    from kiosk.settings import save_admin_settings
    from tests.server_support import free_port

    kiosk = Kiosk(tmp_path / "kiosk")
    with province(tmp_path) as prov:
        kiosk.enrol(prov)
        base = load_config(kiosk.config, environ={})
        admin = base.store.admin_settings
        save_admin_settings(admin, {"sync.server_url": f"http://127.0.0.1:{free_port()}"}, base=base)
        kiosk.record(30)
        with kiosk.worker() as worker:
            poll(
                lambda: (
                    (kiosk.state_dir / "status.json").exists()
                    and "cannot connect" in (kiosk.status().get("last_error") or "")
                ),
                30.0,
                what=lambda: worker.output()[-2000:],
            )
            assert kiosk.backlog() == 30 and prov.db().visit_count() == 0
            save_admin_settings(admin, {"sync.server_url": prov.url}, base=base)
            poll(lambda: kiosk.backlog() == 0, 30.0, what=lambda: worker.output()[-2000:])
            assert worker.running, worker.output()
            assert worker.terminate() == 0, worker.output()
        kiosk.assert_all_on_server(prov.db())


def test_a_configuration_set_on_the_server_reaches_the_kiosk_and_stays_when_offline(tmp_path: Path) -> None:
    """``kiosk-server location set`` → ``kiosk sync --once`` pulls it (ETag), applies it atomically, and the
    kiosk's own config reads it; with the server gone the last applied configuration stays."""
    from kiosk.identity import DEMO_KEYRING, hash_list_document
    from kiosk.sync.state import read_server_config

    kiosk = Kiosk(tmp_path / "kiosk")  # each ``--once`` is a new process: it asks for the configuration
    deny = tmp_path / "deny.json"
    deny.write_text(
        json.dumps(hash_list_document(["id:046090001234"], DEMO_KEYRING.current)), encoding="utf-8"
    )
    with province(tmp_path) as prov:
        kiosk.enrol(prov)
        prov.cli(
            "location",
            "set",
            LOCATION,
            "--policy",
            "health",
            "--retention-days",
            "14",
            "--deny-list",
            str(deny),
        )
        done = kiosk.sync_once()
        assert done.returncode == 0, done.stderr
        assert "new configuration applied" in done.stdout
        pulled = read_server_config(kiosk.state_dir)
        assert pulled is not None and pulled.deny_list is not None
        assert pulled.settings["policy"]["mode"] == "health" and pulled.settings["retention"]["days"] == 14
        assert (
            json.loads(pulled.deny_list.read_text(encoding="utf-8"))["hashes"]
            == json.loads(deny.read_text(encoding="utf-8"))["hashes"]
        )
        again = kiosk.sync_once()  # unchanged: 304, nothing rewritten
        assert again.returncode == 0 and "new configuration applied" not in again.stdout
    offline = kiosk.sync_once()  # the server is gone
    assert offline.returncode != 0
    assert read_server_config(kiosk.state_dir) == pulled
