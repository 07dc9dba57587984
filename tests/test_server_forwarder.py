"""The national forwarder (``server.province.forwarder``) against a stub national endpoint (tests/national_stub.py).

(a) In-process on a real SQLite database, through ``FunctionTransport`` (the stub's handler called directly, or
    a scripted reply): per-record acknowledgement of exactly what the endpoint confirms, ``rejected`` parked
    with the reason, 413 splits the batch, ``Retry-After`` honoured, the back-off persisted in
    ``ForwarderState`` across a restart, full jitter under the cap, explicit timeouts, the token hidden.
(b) End to end: a real ``kiosk-server forward`` process → the seeded fault proxy (tests/faultproxy.py, the
    same as kiosk → province) → the stub over HTTP, 1,000 visits per seed with a SIGKILL of the forwarder
    mid-run: every visit arrives, the stub stores each once, duplicates were delivered and absorbed, the
    mapping is applied and the token never appears in the forwarder's output.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.errors import ConnectFailed
from kiosk.sync.transport import FunctionTransport, HttpRequest, HttpResponse
from tests import server_support
from tests.e2e_support import kill_group, poll
from tests.faultproxy import RESET_AFTER_REQUEST, FaultPlan, FaultProxy, planned_actions
from tests.national_stub import NationalStub

TOKEN = "national-secret-token-5f1c0e"
T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
DEVICE = "gate-1"
LOCATION = "HUE-0001"


@pytest.fixture(scope="module", autouse=True)
def _django(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server_support.configure_django(tmp_path_factory)


@pytest.fixture(autouse=True)
def _empty() -> Iterator[None]:
    from server.province.models import ForwarderState

    server_support.clean_database()  # visits go, and their forward items with them (CASCADE)
    ForwarderState.objects.all().delete()
    yield
    ForwarderState.objects.all().delete()


class Clock:
    """A wall clock the test moves."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def store_visits(count: int, *, start: int = 1, batch: int = 500) -> list[str]:
    """``count`` visits stored through the upload path (``store_batch``: each gets its forward item in the
    same transaction); their UUIDs in order."""
    from server.province import ingest, register
    from server.province.models import Device, Location

    if not Location.objects.filter(code=LOCATION).exists():
        register.add_location(LOCATION, "Sở Y tế Huế", district="Huế")
        register.add_device(DEVICE, LOCATION)
    device = Device.objects.get(device_id=DEVICE)
    visits = [
        server_support.visit_doc(
            DEVICE,
            LOCATION,
            seq,
            identity_hash=f"{seq:064x}",
            id_number=f"046{seq:09d}",
            name=f"Nguyễn Văn {seq}",
            direction="in" if seq % 2 else "out",
            wall_time=T0 + timedelta(seconds=seq),
            monotonic_s=float(seq),
        )
        for seq in range(start, start + count)
    ]
    for first in range(0, count, batch):
        ingest.store_batch(device, visits[first : first + batch], now=T0 + timedelta(minutes=5))
    return [v["uuid"] for v in visits]


def settings(**changes: Any) -> Any:
    from server.province.forwarder import ForwardSettings

    values: dict[str, Any] = {
        "url": "https://national.example/v1/records",
        "token": TOKEN,
        "batch_size": 50,
        "connect_timeout_s": 3.0,
        "read_timeout_s": 7.0,
        "backoff_base_s": 1.0,
        "backoff_cap_s": 60.0,
    }
    values.update(changes)
    return ForwardSettings(**values)


def stub_transport(stub: NationalStub) -> FunctionTransport:
    """The stub's handler as a transport function (no HTTP)."""

    def send(request: HttpRequest) -> HttpResponse:
        status, reply = stub.handle(request.headers.get("Authorization", ""), request.body or b"")
        return HttpResponse(status, {"Content-Type": "application/json"}, json.dumps(reply).encode())

    return FunctionTransport(send)


def forwarder(transport: FunctionTransport, clock: Clock, seed: int = 7, **changes: Any) -> Any:
    import random

    from server.province.forwarder import Forwarder

    return Forwarder(settings(**changes), transport, clock, random.Random(seed))


def item_states() -> dict[str, tuple[bool, bool, str]]:
    """uuid → (sent, parked, last_error) of every forward item."""
    from server.province.models import ForwardItem

    return {
        uuid: (sent is not None, parked is not None, error)
        for uuid, sent, parked, error in ForwardItem.objects.values_list(
            "visit__uuid", "sent_at", "parked_at", "last_error"
        )
    }


# -- (a) unit level ---------------------------------------------------------------------------------------------


def test_acknowledges_per_record_and_parks_rejected() -> None:
    uuids = store_visits(120)
    refused = {uuids[3], uuids[77]}
    stub = NationalStub(TOKEN, reject=lambda r: "missing district" if r["id"] in refused else None)
    transport = stub_transport(stub)
    clock = Clock()
    report = forwarder(transport, clock).run_once()

    assert report.error is None and report.drained, report.line()
    assert (report.sent, report.stored, report.duplicates, report.rejected) == (120, 118, 0, 2)
    assert [r.records for r in stub.requests] == [50, 50, 20]  # id order, batches of 50
    from server.province.models import ForwardItem

    in_id_order = list(ForwardItem.objects.order_by("id").values_list("visit__uuid", flat=True))
    assert [r["id"] for r in stub.received] == in_id_order and set(in_id_order) == set(uuids)  # each once
    states = item_states()
    assert {u for u, (sent, _, _) in states.items() if sent} == set(uuids) - refused
    for uuid in refused:
        assert states[uuid] == (False, True, "rejected: missing district")
    assert transport.last_timeouts == (3.0, 7.0)  # explicit timeouts on every request

    again = forwarder(transport, clock).run_once()  # nothing left: parked ones are never sent again
    assert (again.sent, again.backlog, again.parked) == (0, 0, 2)
    assert len(stub.requests) == 3


def test_only_what_the_endpoint_confirms_is_acknowledged() -> None:
    """The endpoint's first answer confirms only 4 of 10 records (and names one it was never sent): exactly
    those 4 are marked sent, so the next request carries the other 6 again, which the endpoint had stored
    after all and now answers "duplicate"."""
    uuids = store_visits(10)
    stub = NationalStub(TOKEN)
    inner = stub_transport(stub)
    answers: list[list[str]] = []

    def send(request: HttpRequest) -> HttpResponse:
        reply = inner.send(request, connect_timeout_s=1, read_timeout_s=1)
        results = json.loads(reply.body)["results"]
        if not answers:  # the first reply loses all but four results
            results = [*results[:4], {"id": "not-ours", "status": "stored"}]
        answers.append([r["id"] for r in results])
        return HttpResponse(200, {}, json.dumps({"results": results}).encode())

    report = forwarder(FunctionTransport(send), Clock()).run_once()
    assert report.drained, report.line()
    assert (report.sent, report.stored, report.duplicates) == (16, 4, 6), report.line()
    assert [r.records for r in stub.requests] == [10, 6]
    resent = {r["id"] for r in stub.received[10:]}
    assert resent == set(uuids) - set(answers[0]) and len(resent) == 6
    assert stub.count() == 10 and stub.duplicates == 6
    assert all(sent for sent, _, _ in item_states().values())


def test_an_answer_naming_nothing_is_a_retryable_failure() -> None:
    store_visits(3)
    transport = FunctionTransport(lambda _r: HttpResponse(200, {}, b'{"results": []}'))
    report = forwarder(transport, Clock()).run_once()
    assert report.error is not None and "answered none" in report.error
    assert report.backlog == 3 and report.next_attempt_at is not None


def test_413_halves_the_batch_and_a_record_too_large_alone_is_parked() -> None:
    uuids = store_visits(40)
    one = len(json.dumps({"records": [{"id": uuids[0]}]}))
    # About 8 records of the default mapping fit; the batch of 40 is split 40 → 20 → 10 → 5.
    stub = NationalStub(TOKEN, max_body_bytes=8 * 400)
    report = forwarder(stub_transport(stub), Clock(), batch_size=40).run_once()
    assert report.error is None and report.backlog == 0, report.line()
    assert stub.count() == 40 and report.stored == 40
    statuses = [r.status for r in stub.requests]
    assert statuses[:3] == [413, 413, 413] and set(statuses[3:]) == {200}
    assert all(r.body_bytes <= stub.max_body_bytes for r in stub.requests if r.status == 200)
    assert report.retries == 3

    more = store_visits(1, start=41)
    tiny = NationalStub(TOKEN, max_body_bytes=one)  # no record fits alone
    report = forwarder(stub_transport(tiny), Clock()).run_once()
    assert report.parked == 1 and report.rejected == 1 and tiny.count() == 0
    assert item_states()[more[0]] == (False, True, "too_large: refused by the endpoint even alone")


def test_retry_after_is_honoured_and_the_backoff_survives_a_restart() -> None:
    from server.province.models import ForwarderState

    store_visits(5)
    stub = NationalStub(TOKEN)
    calls: list[int] = []
    answers = [HttpResponse(503, {"Retry-After": "120"}, b'{"error": "unavailable"}')]

    def send(request: HttpRequest) -> HttpResponse:
        calls.append(1)
        if answers:
            return answers.pop(0)
        return stub_transport(stub).send(request, connect_timeout_s=1, read_timeout_s=1)

    clock = Clock()
    report = forwarder(FunctionTransport(send), clock).run_once()
    assert report.error is not None and "503" in report.error
    state = ForwarderState.objects.get()
    assert state.attempt == 1
    assert state.next_attempt_at >= T0 + timedelta(seconds=120)  # at least Retry-After, whatever the jitter
    assert "503" in state.last_error

    clock.now = T0 + timedelta(seconds=100)  # a new process (a restart) reads the same state
    waiting = forwarder(FunctionTransport(send), clock, seed=99).run_once()
    assert not waiting.attempted and waiting.next_attempt_at == state.next_attempt_at
    assert len(calls) == 1 and "backing off until" in waiting.line()

    clock.now = state.next_attempt_at + timedelta(seconds=1)
    done = forwarder(FunctionTransport(send), clock, seed=99).run_once()
    assert done.drained and stub.count() == 5, done.line()
    state.refresh_from_db()
    assert (state.attempt, state.next_attempt_at, state.last_error) == (0, None, "")
    assert state.last_success_at == clock.now


def test_backoff_is_exponential_with_full_jitter_under_the_cap() -> None:
    """No answer at all, ten times: each wait is within [0, min(cap, base·2^n)], they are not all the
    ceiling (jitter), and the attempt count is persisted each time."""
    from server.province.models import ForwarderState

    store_visits(2)

    def refuse(_request: HttpRequest) -> HttpResponse:
        raise ConnectFailed("cannot connect: refused")

    clock = Clock()
    running = forwarder(FunctionTransport(refuse), clock, seed=3, backoff_cap_s=16.0)
    waits: list[float] = []
    for n in range(10):
        report = running.run_once()
        assert report.attempted and "cannot connect" in (report.error or "")
        state = ForwarderState.objects.get()
        assert state.attempt == n + 1
        wait = (state.next_attempt_at - clock.now).total_seconds()
        assert 0.0 <= wait <= min(16.0, 1.0 * 2**n), (n, wait)
        waits.append(wait)
        clock.now = state.next_attempt_at
    assert len(set(waits)) == len(waits) and max(waits) > 4.0  # random, and it grew


def test_a_refused_token_waits_the_cap_and_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    from server.province.models import ForwarderState

    store_visits(3)
    stub = NationalStub("another-token")
    caplog.set_level(logging.DEBUG)
    report = forwarder(stub_transport(stub), Clock()).run_once()
    assert report.error is not None and "401" in report.error
    state = ForwarderState.objects.get()
    assert state.next_attempt_at == T0 + timedelta(seconds=60)  # the cap: retrying soon cannot help
    assert stub.count() == 0 and report.backlog == 3
    assert caplog.records and all(TOKEN not in r.getMessage() for r in caplog.records)
    assert TOKEN not in repr(settings())


def test_settings_from_the_environment(tmp_path: Path) -> None:
    from server.errors import RegisterError
    from server.province.forwarder import DEFAULT_MAPPING, ForwardSettings

    token = tmp_path / "token"
    token.write_text(TOKEN + "\n", encoding="ascii")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"visit_time": "event_time", "place": "location_code"}), encoding="utf-8")
    env = {
        "KIOSK_SERVER_FORWARD_URL": "https://nat.example/api",
        "KIOSK_SERVER_FORWARD_TOKEN_FILE": str(token),
    }
    plain = ForwardSettings.from_environ(env)
    assert plain.token == TOKEN and plain.mapping == DEFAULT_MAPPING and plain.ca_file is None
    mapped = ForwardSettings.from_environ(
        {**env, "KIOSK_SERVER_FORWARD_MAPPING": str(mapping), "KIOSK_SERVER_FORWARD_BATCH": "25"}
    )
    assert dict(mapped.mapping) == {"visit_time": "event_time", "place": "location_code"}
    assert mapped.batch_size == 25
    assert ForwardSettings.from_environ({**env, "KIOSK_SERVER_FORWARD_URL": "http://127.0.0.1:9/x"}).url

    def refused(changes: dict[str, str], words: str) -> None:
        with pytest.raises(RegisterError, match=words) as caught:
            ForwardSettings.from_environ({**env, **changes})
        assert TOKEN not in str(caught.value)

    refused({"KIOSK_SERVER_FORWARD_URL": "http://nat.example/api"}, "KIOSK_SERVER_FORWARD_URL")
    refused({"KIOSK_SERVER_FORWARD_URL": ""}, "is not set")
    refused({"KIOSK_SERVER_FORWARD_CA_FILE": str(tmp_path / "nope.pem")}, "KIOSK_SERVER_FORWARD_CA_FILE")
    refused({"KIOSK_SERVER_FORWARD_BATCH": "0"}, "KIOSK_SERVER_FORWARD_BATCH")
    for bad, words in (
        ({"x": "password"}, "not one of our fields"),
        ({"id": "uuid"}, "always the visit UUID"),
    ):
        mapping.write_text(json.dumps(bad), encoding="utf-8")
        refused({"KIOSK_SERVER_FORWARD_MAPPING": str(mapping)}, words)


def test_the_command_without_a_url_is_a_usage_error(tmp_path: Path) -> None:
    done = server_support.run_cli(tmp_path / "data", "forward", "--once")
    assert done.returncode == 2 and "KIOSK_SERVER_FORWARD_URL is not set" in done.stderr, done.stderr


# -- (b) end to end through the fault proxy ---------------------------------------------------------------------

FAULTS = FaultPlan(
    reset_before=0.05,
    reset_after_request=0.10,
    truncate_reply=0.05,
    stall=0.03,
    http_503=0.05,
    stall_s=2.5,  # past the forwarder's 2 s read timeout
    retry_after_s=1,
)
SEEDS = (1, 2, 3)
MAPPING = {
    "visit_time": "event_time",
    "place": "location_code",
    "citizen_id": "id_number",
    "citizen_name": "name",
    "gate": "device_id",
    "way": "direction",
}


def _forward_process(data_dir: Path, url: str, tmp_path: Path, log_path: Path) -> subprocess.Popen[bytes]:
    token_file = tmp_path / "national-token"
    token_file.write_text(TOKEN + "\n", encoding="ascii")
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(json.dumps(MAPPING), encoding="utf-8")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("KIOSK_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        {
            "KIOSK_SERVER_DATA": str(data_dir),
            "KIOSK_SERVER_FORWARD_URL": url,
            "KIOSK_SERVER_FORWARD_TOKEN_FILE": str(token_file),
            "KIOSK_SERVER_FORWARD_MAPPING": str(mapping_file),
            "KIOSK_SERVER_FORWARD_BATCH": "50",
            "KIOSK_SERVER_FORWARD_CONNECT_TIMEOUT_S": "1",
            "KIOSK_SERVER_FORWARD_READ_TIMEOUT_S": "2",
            "KIOSK_SERVER_FORWARD_BACKOFF_BASE_S": "0.1",
            "KIOSK_SERVER_FORWARD_BACKOFF_CAP_S": "1",
            "KIOSK_SERVER_FORWARD_IDLE_S": "0.2",
        }
    )
    script = Path(sys.executable).with_name("kiosk-server")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "server.cli"]
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [*command, "forward"],
            env=env,
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )


def _unsent() -> int:
    from server.province.models import ForwardItem

    return int(ForwardItem.objects.filter(sent_at__isnull=True).count())


@pytest.mark.parametrize("seed", SEEDS)
def test_faults_and_a_killed_forwarder_lose_nothing_and_store_nothing_twice(
    tmp_path: Path, seed: int, _django: Path
) -> None:
    from django.db import connections

    from server.province.models import ForwardItem, Visit

    assert RESET_AFTER_REQUEST in planned_actions(seed, FAULTS, 20), f"seed {seed} loses no reply early"
    uuids = store_visits(1000)
    expected = {v.uuid: v for v in Visit.objects.select_related("device", "location").filter(uuid__in=uuids)}
    connections.close_all()  # the forwarder process writes the same SQLite file
    log_path = tmp_path / "forward.log"
    kills: list[int] = []
    with NationalStub(TOKEN).start() as stub, FaultProxy("127.0.0.1", stub.port, seed, FAULTS) as proxy:
        url = f"{proxy.url}/v1/records"
        process = _forward_process(_django, url, tmp_path, log_path)
        try:

            def state() -> str:
                return (
                    f"seed {seed}: stub {stub.count()} (+{stub.duplicates} dup), unsent {_unsent()}, "
                    f"proxy {proxy.stats}:\n{log_path.read_text(errors='replace')[-3000:]}"
                )

            # A power cut for the forwarder a third of the way in: what the stub stored but the forwarder
            # had not marked sent goes again.
            poll(lambda: stub.count() >= 333 or process.poll() is not None, 60.0, what=state)
            kill_group(process)
            kills.append(stub.count())
            duplicates_before_kill = stub.duplicates
            process = _forward_process(_django, url, tmp_path, log_path)
            poll(lambda: _unsent() == 0 or process.poll() is not None, 60.0, what=state)
            assert process.poll() is None, state()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0, state()
        finally:
            kill_group(process)
        stats = proxy.stats
        assert not proxy.errors, proxy.errors

    # Every visit reached the endpoint, which stored each exactly once.
    assert stub.count() == len({r["id"] for r in stub.received}) == 1000
    assert set(stub.records) == set(uuids)
    assert ForwardItem.objects.filter(sent_at__isnull=False, parked_at__isnull=True).count() == 1000
    # At-least-once delivery: copies were sent again after lost replies, and the endpoint absorbed them.
    assert stats[RESET_AFTER_REQUEST] > 0, stats
    assert len(stub.received) == 1000 + stub.duplicates
    # The kill can leave at most its one batch in flight (50 records): more duplicates than that came from
    # replies the proxy lost after the endpoint had stored the batch.
    assert stub.duplicates > 50, (stub.duplicates, stats)
    # The mapping: exactly the configured field names, with our values.
    for uuid, record in stub.records.items():
        visit = expected[uuid]
        assert set(record) == {"id", *MAPPING}
        assert record["place"] == LOCATION and record["gate"] == DEVICE
        assert (record["citizen_id"], record["citizen_name"], record["way"]) == (
            visit.id_number,
            visit.name,
            visit.direction,
        )
        assert datetime.fromisoformat(record["visit_time"]) == visit.event_time
    log = log_path.read_text(encoding="utf-8", errors="replace")
    assert "forward: sent" in log and "error" in log  # it logged its cycles, faults included
    assert TOKEN not in log
    print(
        json.dumps(
            {
                "seed": seed,
                "duplicates_absorbed": stub.duplicates,
                "duplicates_before_kill": duplicates_before_kill,
                "requests": len(stub.requests),
                "stored_at_kill": kills,
                "proxy": {k: v for k, v in stats.items() if v},
            }
        )
    )
