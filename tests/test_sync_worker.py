"""The sync worker against an in-memory server (FunctionTransport + FakeServer), a fake clock and seeded
random, on real SQLite files under tmp_path; and the ``kiosk sync`` / ``kiosk enroll`` command lines."""

from __future__ import annotations

import json
import logging
import stat
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.errors import ConnectFailed, TimedOut
from kiosk.store import Store
from kiosk.sync.client import visit_json
from kiosk.sync.fake import FakeServer, content_hash, fail, lose_reply, reply
from kiosk.sync.state import read_server_config, read_status
from kiosk.sync.transport import HttpRequest, HttpResponse
from kiosk.sync.worker import TOKEN_REFUSED, CycleReport
from tests.sync_support import TOKEN, Rig, open_store, record, sync_config


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    config = sync_config(tmp_path)
    with open_store(config) as store:
        yield Rig(config, store, FakeServer(token=TOKEN))


def test_every_pending_visit_is_uploaded_and_acknowledged_per_record(rig: Rig) -> None:
    visits = record(rig.store, rig.clock, 120)

    report = rig.worker.run_once()

    assert (report.sent, report.stored, report.duplicates, report.conflicts) == (120, 120, 0, 0)
    assert report.drained and report.backlog == 0 and report.error is None
    assert rig.upload_sizes() == [50, 50, 20]
    assert set(rig.server.stored) == {v.uuid for v in visits}
    assert all(v.uploaded for v in rig.store.visits())
    status = read_status(rig.config.sync.state_dir)
    assert status is not None and status.online and status.backlog == 0


def test_only_the_uuids_the_server_answered_are_acknowledged(rig: Rig) -> None:
    visits = record(rig.store, rig.clock, 3)

    def answer_first_only(request: HttpRequest, handle: object) -> HttpResponse:
        first = json.loads(request.body or b"")["visits"][0]["uuid"]
        body = {"received_at": "x", "results": [{"uuid": first, "status": "stored"}]}
        return HttpResponse(200, {}, json.dumps(body).encode())

    rig.server.fault("/visits", answer_first_only, reply(503, {"error": "unavailable", "detail": "x"}))
    report = rig.worker.run_once()

    assert report.stored == 1 and report.error is not None
    assert [v.uuid for v in rig.store.pending(10)] == [v.uuid for v in visits[1:]]


def test_a_duplicate_is_acknowledged(rig: Rig) -> None:
    visits = record(rig.store, rig.clock, 2)
    rig.server.stored[visits[0].uuid] = content_hash(visit_json(visits[0]))  # an earlier reply was lost

    report = rig.worker.run_once()

    assert (report.stored, report.duplicates) == (1, 1)
    assert rig.store.backlog() == 0


def test_a_conflict_is_parked_and_never_sent_again(rig: Rig) -> None:
    visits = record(rig.store, rig.clock, 3)
    rig.server.stored[visits[1].uuid] = "another visit's hash"

    report = rig.worker.run_once()
    assert (report.stored, report.conflicts, report.parked, report.backlog) == (2, 1, 1, 0)
    assert report.drained
    parked = rig.store.parked()
    assert [p.visit.uuid for p in parked] == [visits[1].uuid]
    assert parked[0].reason.startswith("conflict:")

    record(rig.store, rig.clock, 1)
    rig.clock.advance(10)
    rig.worker.run_once()
    sent = [
        v["uuid"]
        for r in rig.server.requests
        if r.url.endswith("/visits")
        for v in json.loads(r.body or b"")["visits"]
    ]
    assert sent.count(visits[1].uuid) == 1
    assert rig.store.parked_count() == 1
    assert rig.server.heartbeats[0]["parked"] == 1


def test_413_halves_the_batch_down_to_one(rig: Rig) -> None:
    record(rig.store, rig.clock, 8)
    too_large = reply(413, {"error": "batch_too_large", "detail": "at most 1 MiB"})
    rig.server.fault("/visits", too_large, too_large, too_large)

    report = rig.worker.run_once()

    assert rig.upload_sizes()[:4] == [8, 4, 2, 1]
    assert report.retries == 3 and report.stored == 8 and report.drained


def test_a_visit_too_large_even_alone_is_parked(rig: Rig) -> None:
    (visit,) = record(rig.store, rig.clock, 1)
    rig.server.fault("/visits", reply(413, {"error": "batch_too_large", "detail": "x", "max_visits": 500}))

    report = rig.worker.run_once()

    assert report.invalid == 1 and report.drained
    assert rig.store.parked()[0].visit.uuid == visit.uuid


def test_422_parks_the_named_visit_and_sends_the_rest(rig: Rig) -> None:
    visits = record(rig.store, rig.clock, 4)
    rig.server.fault("/visits", reply(422, {"error": "invalid_visit", "detail": "visit 2: bad kind"}))

    report = rig.worker.run_once()

    assert (report.invalid, report.stored, report.backlog) == (1, 3, 0)
    assert [p.visit.uuid for p in rig.store.parked()] == [visits[2].uuid]
    assert visits[2].uuid not in rig.server.stored


def test_retry_after_is_honoured(rig: Rig) -> None:
    record(rig.store, rig.clock, 2)
    rig.server.fault("/visits", reply(503, {"error": "unavailable", "detail": "x"}, {"Retry-After": "120"}))

    report = rig.worker.run_once()
    assert report.retries == 1 and not report.drained
    assert report.next_attempt_at is not None
    assert report.next_attempt_at >= rig.clock.wall + timedelta(seconds=120)
    assert report.next_attempt_at <= rig.clock.wall + timedelta(seconds=3600)
    assert rig.worker.next_wait_s() >= 120

    rig.clock.advance(60)
    assert not rig.worker.run_once().attempted  # still backing off: nothing sent
    assert len(rig.upload_sizes()) == 1
    rig.clock.advance((report.next_attempt_at - rig.clock.wall).total_seconds())
    assert rig.worker.run_once().drained


def test_back_off_grows_is_capped_and_survives_a_restart(rig: Rig) -> None:
    record(rig.store, rig.clock, 1)
    cap = rig.config.sync.backoff_cap_s
    rig.server.fault("/visits", *[fail(ConnectFailed("no route")) for _ in range(12)])
    waits = []
    for _ in range(12):
        report = rig.worker.run_once()
        assert report.error is not None and "no route" in report.error
        assert report.next_attempt_at is not None
        wait = (report.next_attempt_at - rig.clock.wall).total_seconds()
        waits.append(wait)
        rig.clock.advance(wait + 0.001)
    assert all(0 <= w <= cap for w in waits)
    assert max(waits) > 2 * 2**2  # it grew beyond the first ceilings
    assert rig.worker.saved_state.backoff.attempt == 12

    # one more failure, then a "restart": a new worker reads the back-off from state.json
    rig.server.fault("/visits", fail(TimedOut("read timeout")))
    report = rig.worker.run_once()
    restarted = rig.new_worker()
    assert restarted.saved_state.backoff == rig.worker.saved_state.backoff
    assert restarted.saved_state.backoff.attempt == 13
    if report.next_attempt_at is not None and report.next_attempt_at > rig.clock.wall:
        assert not restarted.run_once().attempted
    rig.clock.advance(cap + 1)
    assert restarted.run_once().drained
    assert restarted.saved_state.backoff.attempt == 0


def test_401_stops_with_enrol_again(rig: Rig) -> None:
    record(rig.store, rig.clock, 2)
    worker = rig.new_worker(token="revoked-token-000000")

    stop = threading.Event()
    report = worker.run(stop)  # returns by itself: no stop needed

    assert report.auth_refused and report.error == TOKEN_REFUSED
    assert rig.store.backlog() == 2 and not rig.server.stored
    status = read_status(rig.config.sync.state_dir)
    assert status is not None and status.auth_refused and not status.online
    assert status.last_error == TOKEN_REFUSED


def test_the_token_never_reaches_the_log(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    record(rig.store, rig.clock, 3)
    rig.server.fault(
        "/visits", fail(TimedOut("read timeout")), reply(401, {"error": "token_revoked", "detail": "x"})
    )
    for _ in range(3):
        report = rig.worker.run_once(force=True)
        logging.getLogger("test").info("%r %r %s", report, rig.server.requests[-1], report.line())
    assert TOKEN not in caplog.text
    assert "Bearer ***" in caplog.text
    for path in rig.config.sync.state_dir.iterdir():
        if path.name != "token" and path.is_file():
            assert TOKEN not in path.read_text(encoding="utf-8"), path


def test_truncated_reply_is_retried_and_then_answered_duplicate(rig: Rig) -> None:
    visits = record(rig.store, rig.clock, 3)

    def truncated(request: HttpRequest, handle: object) -> HttpResponse:
        whole = handle()  # type: ignore[operator]
        return HttpResponse(200, {}, whole.body[: len(whole.body) // 2])

    rig.server.fault("/visits", truncated)
    first = rig.worker.run_once()
    assert first.retries == 1 and "not valid JSON" in (first.error or "")
    assert rig.store.backlog() == 3  # nothing acknowledged without a whole answer
    assert set(rig.server.stored) == {v.uuid for v in visits}

    rig.clock.advance(400)
    second = rig.worker.run_once()
    assert (second.duplicates, second.stored, second.backlog) == (3, 0, 0)


def test_killed_mid_batch_nothing_is_lost(rig: Rig, tmp_path: Path) -> None:
    """The server stored the batch, then the worker process died before the reply: a new process sends the
    batch again and the server answers "duplicate"."""
    visits = record(rig.store, rig.clock, 5)
    gate_store = rig.store
    sync_store = open_store(rig.config, owner=False)
    rig.server.fault("/visits", lose_reply(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        rig.new_worker(sync_store).run_once()
    sync_store.close()  # the process is gone
    assert set(rig.server.stored) == {v.uuid for v in visits}
    assert gate_store.backlog() == 5

    with open_store(rig.config, owner=False) as again:
        report = rig.new_worker(again).run_once()
    assert (report.duplicates, report.stored, report.backlog) == (5, 0, 0)
    assert gate_store.backlog() == 0 and len(gate_store.visits()) == 5


def test_heartbeat_follows_the_protocol_and_its_interval(rig: Rig) -> None:
    record(rig.store, rig.clock, 2)
    rig.server.fault("/visits", fail(ConnectFailed("down")))
    rig.worker.run_once()
    rig.clock.advance(400)
    rig.worker.run_once()
    (beat,) = rig.server.heartbeats
    assert set(beat) == {
        "sent_at",
        "clock_synchronised",
        "version",
        "camera_state",
        "frame_rate",
        "decode_ms_p50",
        "backlog",
        "oldest_pending_at",
        "parked",
        "disk_free_mb",
        "location",
    }
    assert beat["camera_state"] == "running" and beat["backlog"] == 0 and beat["parked"] == 0
    assert beat["location"]["code"] == "HUE-001"

    record(rig.store, rig.clock, 1)
    rig.clock.advance(10)
    rig.worker.run_once()
    assert len(rig.server.heartbeats) == 1  # not yet due
    rig.clock.advance(rig.config.sync.heartbeat_s)
    rig.worker.run_once()
    assert len(rig.server.heartbeats) == 2


def test_configuration_is_pulled_then_304_keeps_it(rig: Rig) -> None:
    report = rig.worker.run_once()
    assert report.config_applied
    applied = read_server_config(rig.config.sync.state_dir)
    assert applied is not None and applied.etag == rig.server.etag
    assert applied.settings["location"]["name"] == "UBND phường Vĩnh Ninh"
    assert applied.deny_list is not None and applied.deny_list.is_file()
    # The worker's saved state names the applied configuration too (in memory and on disk).
    assert rig.worker.saved_state.config_etag == rig.server.etag == rig.state.load().config_etag

    rig.clock.advance(rig.config.sync.config_poll_s + 1)
    report = rig.worker.run_once()
    assert not report.config_applied
    config_requests = [r for r in rig.server.requests if r.url.endswith("/config")]
    assert config_requests[-1].headers["If-None-Match"] == rig.server.etag
    assert read_server_config(rig.config.sync.state_dir) == applied


def test_configuration_is_kept_when_the_server_is_unreachable(rig: Rig) -> None:
    rig.worker.run_once()
    applied = read_server_config(rig.config.sync.state_dir)
    assert applied is not None
    rig.server.config["retention"] = {"days": 60}
    rig.server.fault("/config", fail(ConnectFailed("down")))
    rig.clock.advance(rig.config.sync.config_poll_s + 1)

    report = rig.worker.run_once()

    assert report.error is not None and not report.config_applied
    assert read_server_config(rig.config.sync.state_dir) == applied
    rig.clock.advance(rig.config.sync.backoff_cap_s + 1)
    assert rig.worker.run_once().config_applied
    now = read_server_config(rig.config.sync.state_dir)
    assert now is not None and now.settings["retention"] == {"days": 60}


def test_run_waits_with_the_stop_event_and_stops(rig: Rig) -> None:
    record(rig.store, rig.clock, 3)
    stop = threading.Event()
    seen: list[CycleReport] = []

    def on_cycle(report: CycleReport) -> None:
        seen.append(report)
        stop.set()

    rig.worker.run(stop, on_cycle)
    assert len(seen) == 1 and seen[0].stored == 3


# -- the command line ------------------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from app.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from tests.cli_support import isolate_cli

    return isolate_cli(
        tmp_path,
        monkeypatch,
        '[device]\nid = "dev-1"\n[location]\ncode = "HUE-001"\n'
        f'[store]\ndatabase = "{tmp_path / "kiosk.db"}"\nadmin_settings = "{tmp_path / "admin.toml"}"\n'
        f'[sync]\nstate_dir = "{tmp_path / "sync"}"\n',
    )


def test_sync_without_a_server_says_to_enroll(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run_cli(capsys, "sync", "--once")
    assert code == 2
    assert len(err.splitlines()) == 1 and "kiosk enroll" in err and "sync.server_url" in err


def test_sync_without_a_token_says_to_enroll(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run_cli(capsys, "sync", "--once", "--set", "sync.server_url=https://province.example")
    assert code == 2
    assert len(err.splitlines()) == 1 and "kiosk enroll" in err and "token" in err


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["enroll", "--server", "https://province.example"], "--code CODE, --code-qr IMAGE or --camera"),
        (["enroll", "--code", "ABCD-EFGH-JKLM"], "--server URL"),
        (["enroll", "--server", "http://province.example", "--code", "ABCD"], "http://127.0.0.1"),
        (["enroll", "--server", "https://province.example", "--code", "AB CD;"], "letters, digits"),
        (["enroll", "--code", "ABCD", "--code-qr", "x.png"], "one of them"),
    ],
)
def test_enroll_argument_errors(
    cli: Path, capsys: pytest.CaptureFixture[str], argv: list[str], hint: str
) -> None:
    code, _out, err = run_cli(capsys, *argv)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("kiosk: error:") and hint in err


def test_enroll_unreachable_server_is_one_line(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, _out, err = run_cli(capsys, "enroll", "--server", f"http://127.0.0.1:{port}", "--code", "ABCD-EFGH")
    assert code == 1
    assert len(err.splitlines()) == 1 and "cannot connect" in err
    assert not (cli.parent / "sync" / "token").exists()


@pytest.fixture
def fake_network(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    """``kiosk enroll`` and ``kiosk sync`` talk to a FakeServer instead of the network."""
    from kiosk.sync import transport

    server = FakeServer(token=TOKEN)
    monkeypatch.setattr(transport, "RequestsTransport", lambda *_a, **_k: transport.FunctionTransport(server))
    return server


def test_enroll_then_sync_once(
    cli: Path, capsys: pytest.CaptureFixture[str], fake_network: FakeServer, tmp_path: Path
) -> None:
    code, out, err = run_cli(
        capsys, "enroll", "--server", "https://province.example", "--code", "ABCD-EFGH-JKLM"
    )
    assert code == 0, err
    assert "device id dev-1" in out and "location HUE-001" in out and TOKEN not in out + err
    token = tmp_path / "sync" / "token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600 and token.read_text().strip() == TOKEN
    assert 'server_url = "https://province.example"' in (tmp_path / "admin.toml").read_text()

    code, out, err = run_cli(capsys, "sync", "--once")  # nothing recorded yet: drained
    assert code == 0, err
    assert out.startswith("sync: sent 0") and len(out.splitlines()) == 1

    config = sync_config(tmp_path)
    from kiosk.clock import FakeClock
    from tests.sync_support import T0

    with Store.open(
        tmp_path / "kiosk.db", device_id="dev-1", location_code="HUE-001", privacy_notice_version="2026-01"
    ) as gate:
        record(gate, FakeClock(T0), 2)
        fake_network.fault("/visits", fail(ConnectFailed("down")))
        code, out, _err = run_cli(capsys, "sync", "--once")
        assert code == 1 and "error:" in out and gate.backlog() == 2
        code, out, _err = run_cli(capsys, "sync", "--once")
        assert code == 0 and "stored 2" in out and gate.backlog() == 0
    assert config.sync.server_url  # the helper's config is still valid


def test_enroll_with_a_used_code_is_refused(
    cli: Path, capsys: pytest.CaptureFixture[str], fake_network: FakeServer
) -> None:
    code, _out, err = run_cli(capsys, "enroll", "--server", "https://province.example", "--code", "USED-CODE")
    assert code == 1 and "ask for a new one" in err and len(err.splitlines()) == 1


def test_enroll_from_a_qr_code(
    cli: Path, capsys: pytest.CaptureFixture[str], fake_network: FakeServer, tmp_path: Path
) -> None:
    import segno

    image = tmp_path / "enrol.png"
    segno.make_qr("KIOSK-ENROL:https://province.example#ABCD-EFGH-JKLM").save(str(image), scale=8, border=4)
    code, out, err = run_cli(capsys, "enroll", "--code-qr", str(image))
    assert code == 0, err
    assert "enrolled with https://province.example" in out


def test_progress_before_a_fault_restarts_the_back_off(rig: Rig) -> None:
    """A flaky link that lets one batch through per cycle never pushes the wait towards the cap."""
    record(rig.store, rig.clock, 8 * rig.config.sync.batch_size)

    def passes(_request: object, handle: Callable[[], object]) -> object:
        return handle()

    for _ in range(8):
        rig.server.fault("/visits", passes, fail(ConnectFailed("reset by peer")))
    attempts, waits = [], []
    while rig.store.backlog():
        report = rig.worker.run_once()
        assert report.stored == rig.config.sync.batch_size
        attempts.append(rig.worker.saved_state.backoff.attempt)
        waits.append(rig.worker.next_wait_s())
        rig.clock.advance(waits[-1] + 0.001)
    # Seven cycles end in a fault after a batch got through: each is a first failure, never a growing one.
    assert attempts == [1] * 7 + [0]
    assert max(waits[:-1]) <= rig.config.sync.backoff_base_s


def test_after_a_failure_the_remaining_back_off_is_waited_not_the_idle_time(rig: Rig) -> None:
    record(rig.store, rig.clock, 1)
    rig.server.fault("/visits", fail(ConnectFailed("no route")))
    report = rig.worker.run_once()
    assert report.next_attempt_at is not None
    rig.clock.advance((report.next_attempt_at - rig.clock.wall).total_seconds() + 1)
    assert rig.worker.next_wait_s() == 0  # the back-off ran out (a long read timeout): retry at once
    assert rig.worker.run_once().drained
    assert rig.worker.next_wait_s() == 5.0  # idle: look at the outbox again in a while
