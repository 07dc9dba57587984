"""The kiosk's side of a deletion request: ``Store.forget`` on a real SQLite store under tmp_path, and the sync
worker applying a configuration with a ``forget`` list (FakeServer + FunctionTransport, fake clock)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import peewee as pw
import pytest

from kiosk.identity import DEMO_KEYRING
from kiosk.model import Direction, Visit
from kiosk.store import Store
from kiosk.store.db import sql
from kiosk.sync.fake import FakeServer
from kiosk.sync.state import SyncState, forget_list, read_server_config, read_status
from tests.sync_support import TOKEN, Rig, open_store, record, sync_config

PERSON = "046090001234"
OTHER = "046090009999"
HASH = DEMO_KEYRING.current.hash(f"id:{PERSON}")


def manual(rig: Rig, number: str) -> Visit:
    visit = rig.store.record_manual(
        name="Nguyễn Văn An",
        id_number=number,
        note="quên điện thoại",
        guard="bảo vệ",
        at=rig.clock.now(),
        direction=Direction.IN,
        keyring=DEMO_KEYRING,
    )
    rig.clock.advance(1)
    return visit


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    config = sync_config(tmp_path)
    with open_store(config) as store:
        yield Rig(config, store, FakeServer(token=TOKEN))


def test_forget_removes_uploaded_and_unuploaded_visits_and_nothing_else(rig: Rig) -> None:
    store = rig.store
    uploaded = manual(rig, PERSON)
    store.acknowledge([uploaded.uuid], at=rig.clock.wall)
    pending = manual(rig, PERSON)
    parked = manual(rig, PERSON)
    assert store.park(parked.uuid, "conflict: x", at=rig.clock.wall)
    someone_else = manual(rig, OTHER)
    anonymous = record(store, rig.clock, 2)
    assert store.backlog() == 4 and store.parked_count() == 1

    assert store.forget([("other-key", HASH)]) == 0  # the same hash under another key is someone else
    assert store.forget([("demo", HASH)]) == 3

    for gone in (uploaded, pending, parked):
        assert store.get_visit(gone.uuid) is None
    assert {v.uuid for v in store.visits()} == {someone_else.uuid, *(v.uuid for v in anonymous)}
    assert store.backlog() == 3 and store.parked_count() == 0  # the others still wait for upload
    assert [v.uuid for v in store.pending(10)] == [someone_else.uuid, *(v.uuid for v in anonymous)]
    assert store.forget([("demo", HASH)]) == 0 and store.forget([]) == 0  # idempotent


def test_the_guard_against_deleting_unuploaded_visits_still_holds(rig: Rig) -> None:
    store = rig.store
    manual(rig, PERSON)
    waiting = manual(rig, OTHER)
    assert store.forget([("demo", HASH)]) == 1

    # Normal retention never takes an un-uploaded visit, however old.
    assert store.purge(rig.clock.wall + timedelta(days=3650), retention_days=0) == 0
    assert store.get_visit(waiting.uuid) is not None
    # And the database itself still refuses a plain delete of its outbox row.
    db = pw.SqliteDatabase(str(rig.config.store.database), pragmas={"foreign_keys": 1})
    try:
        db.connect()
        with pytest.raises(pw.IntegrityError, match="refusing to delete a visit that is not uploaded"):
            sql(db, "DELETE FROM outbox")
        remaining = sql(db, "SELECT count(*) FROM outbox WHERE uploaded_at IS NULL").fetchone()[0]
        marked = sql(db, "SELECT count(*) FROM outbox WHERE uploaded_at = 'forgotten'").fetchone()[0]
    finally:
        db.close()
    assert (remaining, marked) == (1, 0)  # the forgotten rows' mark never outlived their transaction


def test_the_worker_applies_a_configuration_with_forget(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    theirs = manual(rig, PERSON)
    other = manual(rig, OTHER)
    rig.server.stored[theirs.uuid] = "another visit's hash"  # the server parks it: never uploaded
    rig.server.config["forget"] = [{"key_id": "demo", "hash": HASH}]
    caplog.set_level("INFO")

    report = rig.worker.run_once()

    assert report.conflicts == 1 and report.stored == 1
    assert report.config_applied and report.forgotten == 1, report.line()
    assert "forgot 1 visits on the province's deletion requests" in report.line()
    assert any("forgot 1 visits" in r.getMessage() for r in caplog.records)
    assert rig.store.get_visit(theirs.uuid) is None and rig.store.get_visit(other.uuid) is not None
    assert rig.store.parked_count() == 0
    status = read_status(rig.config.sync.state_dir)
    assert status is not None and status.forgotten == 1
    assert SyncState(rig.config.sync.state_dir).load().forgotten == 1

    # The same configuration again (304): nothing more; a later visit of the person is a new visit and stays.
    later = manual(rig, PERSON)
    rig.clock.advance(rig.config.sync.config_poll_s + 1)
    again = rig.worker.run_once()
    assert again.forgotten == 0 and not again.config_applied
    assert rig.store.get_visit(later.uuid) is not None


def test_a_malformed_forget_list_refuses_the_configuration_and_deletes_nothing(rig: Rig) -> None:
    theirs = manual(rig, PERSON)
    rig.store.acknowledge([theirs.uuid], at=rig.clock.wall)
    rig.server.config["forget"] = [{"key_id": "demo", "hash": "not a hash"}]

    report = rig.worker.run_once()

    assert report.error is not None and "configuration refused" in report.error
    assert "forget[0]" in report.error and report.forgotten == 0
    assert rig.store.get_visit(theirs.uuid) is not None
    assert read_server_config(rig.config.sync.state_dir) is None  # the old (none) stays


def test_forget_list_shapes() -> None:
    from kiosk.errors import ProtocolError

    assert forget_list({}) == () and forget_list({"forget": None}) == () and forget_list({"forget": []}) == ()
    assert forget_list({"forget": [{"key_id": "demo", "hash": HASH}]}) == (("demo", HASH),)
    for bad in (
        "x",
        [["demo", HASH]],
        [{"key_id": "", "hash": HASH}],
        [{"key_id": "demo", "hash": HASH.upper()}],
    ):
        with pytest.raises(ProtocolError, match="configuration forget"):
            forget_list({"forget": bad})


def test_a_read_only_store_cannot_forget(rig: Rig) -> None:
    from kiosk.errors import StoreError

    manual(rig, PERSON)
    with (
        Store.open_read_only(rig.config.store.database) as snapshot,
        pytest.raises(StoreError, match="read-only"),
    ):
        snapshot.forget([("demo", HASH)])
