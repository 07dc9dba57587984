"""Behaviour of ``ScanPipeline``: payloads and frames in, verdicts out, visits in a real SQLite file.

A real ``Store`` under ``tmp_path``, a ``FakeClock`` for the repeat window, the real ``Decoder`` for frames
rendered at test time. The disk is simulated only through the store's own seams: ``disk_free`` for the
free-space floor and ``PRAGMA max_page_count`` on the store's connection for a full disk.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from kiosk.clock import FakeClock
from kiosk.config import PolicyConfig
from kiosk.decode import Decoder
from kiosk.demo import CCCD_AN, CCCD_BINH, CCCD_DENIED, demo_deny_list, render_code
from kiosk.identity import IdentityKey, IdentityKeyring, IdentitySet
from kiosk.model import Direction, Kind, Outcome, Reason, mask_id, mask_name
from kiosk.pipeline import ScanPipeline
from kiosk.store import Store
from kiosk.store.db import sql

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
AN = CCCD_AN.encode("utf-8")
BINH = CCCD_BINH.encode("utf-8")
DENIED = CCCD_DENIED.encode("utf-8")
LOCATION_URL = b"https://qr.tokhaiyte.vn/place/ABC123"
POLICY = PolicyConfig()
PLENTY = 10**12


class FreeSpace:
    """The ``disk_free`` seam: free bytes that a test can change while the store is open."""

    def __init__(self, free: int = PLENTY) -> None:
        self.free = free

    def __call__(self, directory: Path) -> int:
        return self.free


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def disk() -> FreeSpace:
    return FreeSpace()


@pytest.fixture
def store(tmp_path: Path, disk: FreeSpace) -> Iterator[Store]:
    with Store.open(
        tmp_path / "kiosk.db",
        device_id="gate-1",
        location_code="HUE-0001",
        privacy_notice_version="2026-01",
        min_free_mb=1,
        disk_free=disk,
    ) as opened:
        yield opened


@pytest.fixture
def decoder() -> Iterator[Decoder]:
    with Decoder() as dec:
        yield dec


KEYRING = IdentityKeyring((IdentityKey("hue-test-1", b"pipeline tests identity key, 32+ bytes"),))


def make_pipeline(
    store: Store, decoder: Decoder, deny: IdentitySet | None = None, keyring: IdentityKeyring = KEYRING
) -> ScanPipeline:
    return ScanPipeline(
        store=store,
        policy=POLICY,
        direction=Direction.IN,
        keyring=keyring,
        deny=deny if deny is not None else IdentitySet(),
        decode=decoder.decode,
    )


def raw_cells(path: Path) -> list[object]:
    """Every value in every table of the database file, read with a separate connection."""
    with closing(sqlite3.connect(path)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [cell for t in tables for row in conn.execute(f'SELECT * FROM "{t}"') for cell in row]


def test_valid_cccd_is_granted_and_recorded_with_its_identity(
    store: Store, decoder: Decoder, clock: FakeClock
) -> None:
    pipeline = make_pipeline(store, decoder)

    verdict = pipeline.handle_payload(AN, clock.now())

    assert verdict.ok
    assert (verdict.outcome, verdict.reason, verdict.not_recorded) == (
        Outcome.GRANTED,
        Reason.OK,
        None,
    )
    assert verdict.visit is not None
    assert verdict.visit.seq == 1
    (stored,) = store.visits()
    assert stored == verdict.visit
    assert (stored.kind, stored.outcome, stored.reason) == (Kind.CCCD, Outcome.GRANTED, Reason.OK)
    assert stored.id_number == "046090001234"
    assert stored.name == "Nguyễn Văn An"
    assert stored.identity_hash == KEYRING.current.hash("id:046090001234")
    assert stored.identity_key_id == "hue-test-1"
    assert (stored.direction, stored.device_id, stored.location_code) == (
        Direction.IN,
        "gate-1",
        "HUE-0001",
    )
    assert stored.at == clock.now()


def test_the_database_holds_neither_masked_identity_nor_address_nor_raw_payload(
    store: Store, decoder: Decoder, clock: FakeClock
) -> None:
    make_pipeline(store, decoder).handle_payload(AN, clock.now())

    cells = [str(c) for c in raw_cells(store.path)]
    assert "Nguyễn Văn An" in cells
    assert "046090001234" in cells
    assert mask_name("Nguyễn Văn An") not in cells
    assert mask_id("046090001234") not in cells
    text = "\n".join(cells)
    assert "Lê Lợi" not in text  # the address
    assert "15031990" not in text  # the birth date
    assert CCCD_AN not in text  # the raw payload


def test_same_identity_within_the_repeat_window_is_not_a_second_visit(
    store: Store, decoder: Decoder, clock: FakeClock
) -> None:
    pipeline = make_pipeline(store, decoder)
    first = pipeline.handle_payload(AN, clock.now())

    clock.advance(POLICY.repeat_window_s - 1)
    again = pipeline.handle_payload(AN, clock.now())

    assert again.not_recorded is Reason.REPEAT
    assert again.visit is None
    assert (again.outcome, again.reason, again.ok) == (first.outcome, first.reason, True)
    assert again.decision.repeat
    assert [v.seq for v in store.visits()] == [1]


def test_another_identity_within_the_window_is_recorded(
    store: Store, decoder: Decoder, clock: FakeClock
) -> None:
    pipeline = make_pipeline(store, decoder)
    pipeline.handle_payload(AN, clock.now())

    clock.advance(1)
    other = pipeline.handle_payload(BINH, clock.now())

    assert other.visit is not None
    assert other.visit.seq == 2
    assert other.not_recorded is None


def test_same_identity_after_the_window_is_recorded_again(
    store: Store, decoder: Decoder, clock: FakeClock
) -> None:
    pipeline = make_pipeline(store, decoder)
    pipeline.handle_payload(AN, clock.now())

    clock.advance(POLICY.repeat_window_s)
    later = pipeline.handle_payload(AN, clock.now())

    assert later.not_recorded is None
    assert later.visit is not None
    assert later.visit.seq == 2
    assert [v.at.wall for v in store.visits()] == [clock.now().wall, NOW]


def test_deny_listed_identity_is_refused_and_recorded(
    store: Store, decoder: Decoder, clock: FakeClock
) -> None:
    pipeline = make_pipeline(store, decoder, deny=demo_deny_list(KEYRING.current))

    verdict = pipeline.handle_payload(DENIED, clock.now())

    assert not verdict.ok
    assert (verdict.outcome, verdict.reason) == (Outcome.REFUSED, Reason.DENY_LIST)
    assert verdict.visit is not None
    (stored,) = store.visits()
    assert (stored.outcome, stored.reason, stored.id_number) == (
        Outcome.REFUSED,
        Reason.DENY_LIST,
        "046085004321",
    )
    # The same list does not touch anyone else.
    assert pipeline.handle_payload(AN, clock.now()).ok


def test_location_url_is_refused_as_a_location_code(store: Store, decoder: Decoder, clock: FakeClock) -> None:
    verdict = make_pipeline(store, decoder).handle_payload(LOCATION_URL, clock.now())

    assert (verdict.outcome, verdict.reason) == (Outcome.REFUSED, Reason.LOCATION_CODE)
    assert verdict.decision.kind is Kind.LOCATION
    (stored,) = store.visits()
    assert (stored.kind, stored.reason, stored.name, stored.id_number) == (
        Kind.LOCATION,
        Reason.LOCATION_CODE,
        None,
        None,
    )


def test_below_the_free_space_floor_the_gate_is_out_of_service_and_records_nothing(
    store: Store, decoder: Decoder, clock: FakeClock, disk: FreeSpace
) -> None:
    pipeline = make_pipeline(store, decoder)
    pipeline.handle_payload(BINH, clock.now())

    disk.free = 0
    verdict = pipeline.handle_payload(AN, clock.now())

    # The credential itself is fine, but a kiosk that cannot record must not open the gate.
    assert verdict.decision.outcome is Outcome.GRANTED
    assert (verdict.outcome, verdict.reason) == (Outcome.REFUSED, Reason.OUT_OF_SERVICE)
    assert verdict.not_recorded is Reason.OUT_OF_SERVICE
    assert verdict.visit is None
    assert not verdict.ok
    assert [v.name for v in store.visits()] == ["Trần Thị Bình"]


def test_out_of_service_does_not_start_the_repeat_window(
    store: Store, decoder: Decoder, clock: FakeClock, disk: FreeSpace
) -> None:
    pipeline = make_pipeline(store, decoder)
    disk.free = 0
    pipeline.handle_payload(AN, clock.now())

    disk.free = PLENTY
    clock.advance(1)
    verdict = pipeline.handle_payload(AN, clock.now())

    assert verdict.visit is not None  # not swallowed as a "repeat" of a visit never recorded


def fill_until_full(pipeline: ScanPipeline, store: Store, clock: FakeClock) -> int:
    """Cap the store's file at its current size and record until a write fails; return visits stored."""
    pages = sql(store._db, "PRAGMA page_count").fetchone()[0]  # the store's own connection
    sql(store._db, f"PRAGMA max_page_count = {pages}")
    for i in range(1000):
        clock.advance(1)
        verdict = pipeline.handle_payload(LOCATION_URL + b"/%d" % i, clock.now())
        if verdict.visit is None:
            assert verdict.not_recorded is Reason.NOT_RECORDED
            return len(store.visits())
    pytest.fail("the capped database never filled up")


def test_full_disk_means_not_recorded_and_earlier_visits_are_intact(
    store: Store, decoder: Decoder, clock: FakeClock
) -> None:
    pipeline = make_pipeline(store, decoder)
    first = pipeline.handle_payload(AN, clock.now())
    assert first.visit is not None

    stored = fill_until_full(pipeline, store, clock)

    clock.advance(POLICY.repeat_window_s)
    verdict = pipeline.handle_payload(BINH, clock.now())
    assert verdict.not_recorded is Reason.NOT_RECORDED
    assert verdict.visit is None
    # The visitor would have been admitted, but an unrecorded entry goes to the guard, not through.
    assert verdict.decision.outcome is Outcome.GRANTED
    assert (verdict.outcome, verdict.reason, verdict.ok) == (Outcome.NEEDS_GUARD, Reason.NOT_RECORDED, False)
    visits = store.visits()
    assert len(visits) == stored > 1
    assert [v.seq for v in visits] == list(range(stored, 0, -1))
    assert visits[-1] == first.visit
    assert store.integrity_ok()

    # Space comes back: recording resumes with the next sequence number.
    sql(store._db, "PRAGMA max_page_count = 1000000")
    clock.advance(1)
    resumed = pipeline.handle_payload(BINH, clock.now())
    assert resumed.visit is not None
    assert resumed.visit.seq == stored + 1


def test_full_disk_is_not_a_repeat_start(store: Store, decoder: Decoder, clock: FakeClock) -> None:
    pipeline = make_pipeline(store, decoder)
    fill_until_full(pipeline, store, clock)
    assert pipeline.handle_payload(AN, clock.now()).visit is None

    sql(store._db, "PRAGMA max_page_count = 1000000")
    clock.advance(1)
    assert pipeline.handle_payload(AN, clock.now()).visit is not None


def test_full_disk_is_logged_as_disk_full(
    store: Store, decoder: Decoder, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline = make_pipeline(store, decoder)
    pipeline.handle_payload(AN, clock.now())

    with caplog.at_level(logging.ERROR, logger="kiosk.pipeline"):
        fill_until_full(pipeline, store, clock)

    messages = [r.getMessage() for r in caplog.records if r.name == "kiosk.pipeline"]
    assert messages
    assert "disk full" in messages[-1]


def test_frame_with_two_codes_side_by_side_gives_two_verdicts(
    store: Store, decoder: Decoder, clock: FakeClock
) -> None:
    left = render_code(AN, "paper", size=(400, 400), seed=1)
    right = render_code(BINH, "paper", size=(400, 400), seed=2)
    frame = np.ascontiguousarray(np.hstack([left, right]))

    verdicts = make_pipeline(store, decoder).handle_frame(frame, clock.now())

    assert len(verdicts) == 2
    by_payload = {v.symbol.raw: v for v in verdicts if v.symbol is not None}
    assert set(by_payload) == {AN, BINH}
    assert all(v.ok and v.visit is not None for v in verdicts)
    assert sorted(v.visit.seq for v in verdicts if v.visit is not None) == [1, 2]
    # Each verdict carries where its code was: AN on the left half, BINH on the right.
    an_symbol, binh_symbol = by_payload[AN].symbol, by_payload[BINH].symbol
    assert an_symbol is not None and binh_symbol is not None
    an_x = [p[0] for p in an_symbol.quad]
    binh_x = [p[0] for p in binh_symbol.quad]
    assert max(an_x) < 400 < min(binh_x)
    assert {v.name for v in store.visits()} == {"Nguyễn Văn An", "Trần Thị Bình"}


def test_empty_frame_gives_no_verdicts_and_records_nothing(
    store: Store, decoder: Decoder, clock: FakeClock
) -> None:
    frame = np.full((480, 640), 180, dtype=np.uint8)

    assert make_pipeline(store, decoder).handle_frame(frame, clock.now()) == []
    assert store.visits() == []


def test_the_repeat_window_survives_a_restart_in_the_same_boot(
    store: Store, decoder: Decoder, clock: FakeClock
) -> None:
    first = make_pipeline(store, decoder).handle_payload(AN, clock.now())
    assert first.visit is not None
    clock.advance(5)  # the kiosk restarts five seconds later (watchdog, power blip)
    restarted = make_pipeline(store, decoder)
    assert restarted.resume(store.visits(), clock.now()) == 1
    again = restarted.handle_payload(AN, clock.now())
    assert again.not_recorded is Reason.REPEAT
    # Visits from another boot have monotonic times that do not compare: they are ignored.
    other_boot = make_pipeline(store, decoder)
    later = FakeClock(clock.wall, monotonic_s=clock.monotonic_s, boot_id="next-boot")
    assert other_boot.resume(store.visits(), later.now()) == 0
    assert len(store.visits()) == 1


def test_a_failed_database_stops_recording_with_one_log_line(
    store: Store, decoder: Decoder, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline = make_pipeline(store, decoder)
    assert pipeline.handle_payload(AN, clock.now()).visit is not None
    assert pipeline.failed is None
    # The database stops accepting writes under the running gate (as a failing card or a file gone
    # read-only does): SQLITE_READONLY, not a full disk.
    sql(store._db, "PRAGMA query_only = 1")

    verdicts = []
    with caplog.at_level(logging.ERROR, logger="kiosk.pipeline"):
        for i in range(20):
            clock.advance(POLICY.repeat_window_s + 1)
            verdicts.append(pipeline.handle_payload(BINH if i % 2 else AN, clock.now()))

    assert pipeline.failed is not None
    assert all(v.not_recorded is Reason.NOT_RECORDED and v.visit is None for v in verdicts)
    assert all(v.outcome is Outcome.NEEDS_GUARD for v in verdicts)  # never "granted" without a record
    assert len(caplog.records) == 1 and "recording stopped" in caplog.records[0].getMessage()
    assert not caplog.records[0].exc_info
    sql(store._db, "PRAGMA query_only = 0")
    assert len(store.visits()) == 1  # nothing was written after the failure


def test_each_verdict_carries_the_direction_it_was_counted_in(
    store: Store, decoder: Decoder, clock: FakeClock
) -> None:
    """The guard switches a two-way gate to RA: the next verdict (and its record) says so, not the screen's guess."""
    pipeline = make_pipeline(store, decoder)
    first = pipeline.handle_payload(AN, clock.now())
    pipeline.direction = Direction.OUT
    second = pipeline.handle_payload(BINH, clock.now())
    repeat = pipeline.handle_payload(BINH, clock.now())
    assert (first.direction, second.direction, repeat.direction) == (
        Direction.IN,
        Direction.OUT,
        Direction.OUT,
    )
    assert second.visit is not None and second.visit.direction is Direction.OUT


def test_a_new_configuration_applies_from_the_next_code(
    store: Store, decoder: Decoder, clock: FakeClock
) -> None:
    pipeline = make_pipeline(store, decoder)
    assert pipeline.handle_payload(AN, clock.now()).outcome is Outcome.GRANTED
    deny = demo_deny_list(KEYRING.current)
    pipeline.update(policy=POLICY, trust=None, deny=deny, roster=IdentitySet())
    refused = pipeline.handle_payload(DENIED, clock.now())
    assert (refused.outcome, refused.reason) == (Outcome.REFUSED, Reason.DENY_LIST)
