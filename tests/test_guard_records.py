"""The guard console's records and queries (kiosk.guard, Store.record_manual / record_override / search /
inside_now) on real SQLite files under tmp_path; no mocked database."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import peewee as pw
import pytest

from kiosk.errors import AlreadyOverriddenError, PayloadError, StoreError
from kiosk.export import VIETNAM_TIME
from kiosk.guard import (
    MAX_NOTE_CHARS,
    OVERRIDE_REASONS,
    InsideCount,
    console_line,
    count_inside,
    fold,
)
from kiosk.identity import IdentityKey, IdentityKeyring
from kiosk.model import ClockReading, Credential, Decision, Direction, Kind, Outcome, Reason, Visit
from kiosk.store import Store
from kiosk.store import db as schema

MIB = 1024 * 1024
KEYRING = IdentityKeyring((IdentityKey("hue-test-1", b"guard records test identity key, 32+ bytes"),))
# 08:00 in Vietnam on 2 March 2026; the day began at 2026-03-01T17:00Z.
DAY_START = datetime(2026, 3, 2, tzinfo=VIETNAM_TIME)
T0 = DAY_START + timedelta(hours=8)
AN_ID = "046090001234"


def clock(at: datetime = T0, mono: float = 100.0) -> ClockReading:
    return ClockReading(wall=at, synchronised=True, boot_id="boot-1", monotonic_s=mono)


def scanned(
    id_number: str = AN_ID,
    name: str = "Nguyễn Văn An",
    outcome: Outcome = Outcome.GRANTED,
    reason: Reason = Reason.OK,
) -> Decision:
    key = f"id:{id_number}"
    return Decision(
        outcome,
        reason,
        Kind.CCCD,
        Credential(Kind.CCCD, key, id_number, name),
        identity_hash=KEYRING.hash(key),
        identity_key_id=KEYRING.current.key_id,
    )


UNREADABLE = Decision(Outcome.REFUSED, Reason.UNKNOWN_FORMAT, Kind.UNKNOWN)

OpenStore = Callable[..., Store]


@pytest.fixture
def open_store(open_store: OpenStore) -> OpenStore:
    """The shared store opener (tests/conftest.py) as gate-1 of HUE-0001."""
    return partial(open_store, device_id="gate-1", location_code="HUE-0001", privacy_notice_version="2026-01")


@pytest.fixture
def store(open_store: OpenStore) -> Store:
    return open_store()


def manual(store: Store, **overrides: Any) -> Visit:
    fields: dict[str, Any] = {
        "name": "Lê Thị Hoa",
        "id_number": "079123456789",
        "note": "visitor without phone",
        "guard": "guard",
        "at": clock(),
        "direction": Direction.IN,
        "keyring": KEYRING,
    }
    fields.update(overrides)
    return store.record_manual(**fields)


def raw_row(db_path: Path, uuid: str) -> dict[str, Any]:
    with closing(sqlite3.connect(db_path)) as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("SELECT * FROM visit WHERE uuid = ?", (uuid,)).fetchone())


# ------------------------------------------------------------------------------------------------
# manual entry


def test_manual_entry_is_a_manual_visit_with_guard_and_reason_queued_for_upload(
    store: Store, db_path: Path
) -> None:
    visit = manual(store, name="  Lê   Thị Hoa ", note="khách\n  không có   điện thoại", guard="Bảo vệ 2")

    assert (visit.kind, visit.outcome, visit.reason, visit.manual) == (
        Kind.MANUAL,
        Outcome.GRANTED,
        Reason.MANUAL_ENTRY,
        True,
    )
    assert visit.name == "Lê Thị Hoa"
    assert visit.id_number == "079123456789"
    assert visit.identity_hash == KEYRING.hash("id:079123456789")
    assert visit.identity_key_id == "hue-test-1"
    assert (visit.guard, visit.note) == ("Bảo vệ 2", "khách không có điện thoại")
    assert (visit.original_outcome, visit.original_reason) == (None, None)
    # Queued like any scan: the sync worker sends it.
    assert [v.uuid for v in store.pending(10)] == [visit.uuid]
    assert store.backlog() == 1
    assert store.visits() == [visit]
    store.close()
    row = raw_row(db_path, visit.uuid)
    assert (row["kind"], row["reason"], row["manual"], row["guard"], row["note"]) == (
        "manual",
        "manual_entry",
        1,
        "Bảo vệ 2",
        "khách không có điện thoại",
    )
    with Store.open_read_only(db_path) as reader:
        assert reader.visits() == [visit]


def test_manual_entry_without_an_id_has_no_identity(store: Store) -> None:
    visit = manual(store, id_number="   ", direction=Direction.BOTH)
    assert (visit.id_number, visit.identity_hash, visit.identity_key_id) == (None, None, None)
    assert visit.direction is Direction.IN  # a two-way gate records an entry, as the scan pipeline does
    assert manual(store, id_number=None, direction=Direction.OUT).direction is Direction.OUT


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"name": ""}, Reason.MALFORMED),
        ({"name": "   "}, Reason.MALFORMED),
        ({"name": '=HYPERLINK("http://x")'}, Reason.FORMULA_NAME),
        ({"name": "＠Lê Hoa"}, Reason.FORMULA_NAME),
        ({"name": "Lê\u200bHoa"}, Reason.CONTROL_CHARS),
        ({"name": "Lê Hoa 😀"}, Reason.MALFORMED),
        ({"id_number": "04609000123"}, Reason.BAD_ID),  # 11 digits
        ({"id_number": "0460900012345"}, Reason.BAD_ID),
        ({"id_number": "０４６０９０００１２３４"}, Reason.BAD_ID),  # full-width digits
        ({"id_number": "046090-01234"}, Reason.BAD_ID),
        ({"note": ""}, Reason.EMPTY),
        ({"note": " \n\u200b "}, Reason.EMPTY),
        ({"note": "x" * (MAX_NOTE_CHARS + 1)}, Reason.TOO_LONG),
    ],
)
def test_invalid_manual_input_is_refused_with_a_reason(
    store: Store, overrides: dict[str, Any], reason: Reason
) -> None:
    with pytest.raises(PayloadError) as err:
        manual(store, **overrides)
    assert (err.value.reason, err.value.kind) == (reason, Kind.MANUAL)
    assert store.backlog() == 0
    assert store.visits() == []


@pytest.mark.parametrize("guard", ["", "   ", "1234", "12 34", "g" * 65])
def test_a_guard_is_named_by_role_never_by_pin(store: Store, guard: str) -> None:
    with pytest.raises(ValueError, match="guard"):
        manual(store, guard=guard)
    assert store.backlog() == 0


def test_a_note_of_exactly_the_limit_is_kept_whole(store: Store) -> None:
    note = "ạ" * MAX_NOTE_CHARS
    assert manual(store, note=note).note == note


def test_a_read_only_store_records_nothing(store: Store, db_path: Path) -> None:
    store.close()
    with Store.open_read_only(db_path) as reader, pytest.raises(StoreError, match="read-only"):
        manual(reader)


# ------------------------------------------------------------------------------------------------
# override


def test_override_records_the_original_verdict_guard_and_reason(store: Store, db_path: Path) -> None:
    refusal = store.record(
        scanned(outcome=Outcome.NEEDS_GUARD, reason=Reason.NOT_ON_ROSTER),
        at=clock(mono=100.0),
        direction=Direction.OUT,
    )
    later = clock(T0 + timedelta(seconds=20), mono=120.0)

    override = store.record_override(refusal, note=OVERRIDE_REASONS[1], guard="guard", at=later)

    assert override.uuid != refusal.uuid
    assert override.seq == refusal.seq + 1
    assert (override.kind, override.identity_hash, override.identity_key_id) == (
        refusal.kind,
        refusal.identity_hash,
        refusal.identity_key_id,
    )
    assert (override.name, override.id_number, override.direction) == (
        "Nguyễn Văn An",
        AN_ID,
        Direction.OUT,
    )
    assert (override.outcome, override.reason, override.manual) == (
        Outcome.GRANTED,
        Reason.GUARD_OVERRIDE,
        True,
    )
    assert (override.original_outcome, override.original_reason) == (
        Outcome.NEEDS_GUARD,
        Reason.NOT_ON_ROSTER,
    )
    assert (override.guard, override.note, override.at) == ("guard", "visitor expected by the office", later)
    # The refusal stays as recorded; both go to the server.
    assert store.visits() == [override, refusal]
    assert [v.uuid for v in store.pending(10)] == [refusal.uuid, override.uuid]
    store.close()
    row = raw_row(db_path, override.uuid)
    assert (row["original_outcome"], row["original_reason"], row["guard"]) == (
        "needs_guard",
        "not_on_roster",
        "guard",
    )


def test_override_of_an_unreadable_code_checked_by_hand(store: Store) -> None:
    refusal = store.record(UNREADABLE, at=clock(), direction=Direction.IN)
    override = store.record_override(
        refusal, note="  code damaged, identity checked by hand ", guard="guard", at=clock()
    )
    assert (override.kind, override.name, override.identity_hash) == (Kind.UNKNOWN, None, None)
    assert (override.original_outcome, override.original_reason) == (Outcome.REFUSED, Reason.UNKNOWN_FORMAT)
    assert override.note == "code damaged, identity checked by hand"


def test_only_a_recorded_refusal_can_be_overridden(store: Store) -> None:
    granted = store.record(scanned(), at=clock(), direction=Direction.IN)
    with pytest.raises(ValueError, match="only a refusal"):
        store.record_override(granted, note="known staff member", guard="guard", at=clock())
    refusal = store.record(UNREADABLE, at=clock(), direction=Direction.IN)
    with pytest.raises(PayloadError) as err:
        store.record_override(refusal, note="  ", guard="guard", at=clock())
    assert err.value.reason is Reason.EMPTY
    override = store.record_override(refusal, note="known staff member", guard="guard", at=clock())
    with pytest.raises(ValueError, match="only a refusal"):
        store.record_override(override, note="known staff member", guard="guard", at=clock())
    # A visit this record does not hold (or one whose outcome was edited on the way) is not trusted.
    stranger = Visit(**{**{f: getattr(refusal, f) for f in Visit.__slots__}, "uuid": "not-recorded-here"})
    with pytest.raises(ValueError, match="not in this record"):
        store.record_override(stranger, note="known staff member", guard="guard", at=clock())
    assert store.backlog() == 3


def test_an_override_is_linked_to_the_refusal_it_replaced(store: Store, db_path: Path) -> None:
    refusal = store.record(UNREADABLE, at=clock(), direction=Direction.IN)
    other = store.record(UNREADABLE, at=clock(), direction=Direction.IN)
    assert store.override_of(refusal.uuid) is None

    override = store.record_override(refusal, note="known staff member", guard="guard", at=clock())

    assert override.overrides == refusal.uuid
    assert store.override_of(refusal.uuid) == override == store.get_visit(override.uuid)
    assert store.override_of(other.uuid) is None
    assert store.override_of(override.uuid) is None
    assert (refusal.overrides, other.overrides, store.get_visit(refusal.uuid).overrides) == (None, None, None)
    assert all(v.overrides is None for v in store.visits() if v.uuid != override.uuid)
    store.close()
    assert raw_row(db_path, override.uuid)["overrides"] == refusal.uuid
    assert raw_row(db_path, refusal.uuid)["overrides"] is None
    with Store.open_read_only(db_path) as reader:
        assert reader.override_of(refusal.uuid) == override


def test_a_refusal_is_overridden_only_once_and_the_second_writes_nothing(store: Store) -> None:
    refusal = store.record(
        scanned(outcome=Outcome.NEEDS_GUARD, reason=Reason.NOT_ON_ROSTER), at=clock(), direction=Direction.IN
    )
    first = store.record_override(refusal, note="known staff member", guard="guard", at=clock())
    before = (store.visits(), store.backlog())

    with pytest.raises(AlreadyOverriddenError, match="already let in by the guard") as err:
        store.record_override(refusal, note="emergency or official duty", guard="Bảo vệ 2", at=clock())

    assert (err.value.refusal, err.value.override) == (refusal.uuid, first.uuid)
    assert (store.visits(), store.backlog()) == before
    # The numbering goes on without a gap the refused attempt could have left behind.
    assert store.record(UNREADABLE, at=clock(), direction=Direction.IN).seq == first.seq + 1


def test_the_unique_index_holds_when_the_check_is_bypassed(
    open_store: OpenStore, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes (the gate's console and, say, a second store on the same file) that both read "not
    overridden yet": the database's unique index refuses the second, with the same error."""
    gate = open_store()
    refusal = gate.record(UNREADABLE, at=clock(), direction=Direction.IN)
    other = Store.open(
        db_path,
        device_id="gate-1",
        location_code="HUE-0001",
        privacy_notice_version="2026-01",
        min_free_mb=0,
        disk_free=lambda _d: 100 * MIB,
        owner=False,
    )
    try:
        monkeypatch.setattr(Store, "override_of", lambda _self, _uuid: None)  # both checks see nothing
        first = gate.record_override(refusal, note="known staff member", guard="guard", at=clock())
        with pytest.raises(AlreadyOverriddenError, match="already let in by the guard") as err:
            other.record_override(refusal, note="known staff member", guard="guard", at=clock())
        assert isinstance(err.value.__cause__, pw.IntegrityError)  # the index, not the check, refused it
        assert err.value.refusal == refusal.uuid
        with pytest.raises(AlreadyOverriddenError):
            gate.record_override(refusal, note="known staff member", guard="guard", at=clock())
        monkeypatch.undo()
        assert [v.uuid for v in other.visits()] == [first.uuid, refusal.uuid]
        assert gate.backlog() == 2
    finally:
        other.close()
        gate.close()
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT count(*) FROM visit WHERE overrides IS NOT NULL").fetchone() == (1,)
        # Only a real link is unique: any number of visits have none.
        assert conn.execute("SELECT count(*) FROM visit WHERE overrides IS NULL").fetchone() == (1,)


def test_the_database_itself_refuses_a_second_link_to_one_refusal(store: Store, db_path: Path) -> None:
    refusal = store.record(UNREADABLE, at=clock(), direction=Direction.IN)
    store.record_override(refusal, note="known staff member", guard="guard", at=clock())
    store.close()
    with closing(sqlite3.connect(db_path)) as conn, pytest.raises(sqlite3.IntegrityError, match="overrides"):
        conn.execute("UPDATE visit SET overrides = ? WHERE uuid = ?", (refusal.uuid, refusal.uuid))


def test_console_lines_mark_a_refusal_already_let_in(store: Store) -> None:
    refusal = store.record(UNREADABLE, at=clock(), direction=Direction.IN)
    override = store.record_override(refusal, note="known staff member", guard="guard", at=clock())
    line = console_line(refusal, overridden=store.override_of(refusal.uuid) is not None)
    assert (line.overridable, line.overridden) == (False, True)
    assert (console_line(refusal).overridable, console_line(refusal).overridden) == (True, False)
    # Only a refusal is ever marked.
    assert console_line(override, overridden=True).overridden is False


def test_stock_override_reasons_are_short_english_codes() -> None:
    assert len(OVERRIDE_REASONS) >= 4
    assert len(set(OVERRIDE_REASONS)) == len(OVERRIDE_REASONS)
    assert all(r.isascii() and 0 < len(r) <= 60 and r == r.strip() for r in OVERRIDE_REASONS)


def test_a_schema_3_database_gains_the_guard_columns(open_store: OpenStore, db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    old = schema.make_database(db_path)
    old.connect()
    try:
        assert schema.migrate(old, target=3) == 3
        schema.sql(
            old,
            "INSERT INTO visit (uuid, seq, device_id, location_code, kind, identity_hash, id_number, name, "
            "direction, outcome, reason, wall_utc, clock_synchronised, boot_id, monotonic_s, "
            "privacy_notice_version, manual, warnings, identity_key_id) VALUES ('u-1', 1, 'gate-1', "
            "'HUE-0001', 'manual', NULL, NULL, 'Lê Văn Cũ', 'in', 'granted', 'ok', "
            "'2026-01-01T00:00:00.000000+00:00', 1, 'b', 1.0, '2025-12', 1, '', NULL)",
        )
        schema.sql(old, "INSERT INTO outbox (visit_id, uploaded_at) VALUES (1, NULL)")
        schema.sql(old, "INSERT INTO device_sequence (device_id, last_seq) VALUES ('gate-1', 1)")
    finally:
        old.close()

    store = open_store()

    (old_visit,) = store.visits()
    assert (old_visit.name, old_visit.guard, old_visit.note, old_visit.original_outcome) == (
        "Lê Văn Cũ",
        None,
        None,
        None,
    )
    assert manual(store).seq == 2


def test_a_schema_5_database_gains_the_override_link_and_keeps_its_data(
    open_store: OpenStore, db_path: Path
) -> None:
    db_path.parent.mkdir(parents=True)
    old = schema.make_database(db_path)
    old.connect()
    try:
        assert schema.migrate(old, target=5) == 5
        columns = (
            "uuid, seq, device_id, location_code, kind, identity_hash, id_number, name, direction, outcome, "
            "reason, wall_utc, clock_synchronised, boot_id, monotonic_s, privacy_notice_version, manual, "
            "warnings, identity_key_id, guard, note, original_outcome, original_reason"
        )
        common = "'gate-1', 'HUE-0001', 'unknown', NULL, NULL, NULL, 'in'"
        tail = "'2026-01-01T00:00:00.000000+00:00', 1, 'b', 1.0, '2025-12'"
        schema.sql(
            old,
            f"INSERT INTO visit ({columns}) VALUES ('u-1', 1, {common}, 'refused', 'unknown_format', {tail}, "
            "0, '', NULL, NULL, NULL, NULL, NULL)",
        )
        schema.sql(
            old,
            f"INSERT INTO visit ({columns}) VALUES ('u-2', 2, {common}, 'granted', 'guard_override', {tail}, "
            "1, '', NULL, 'guard', 'known staff member', 'refused', 'unknown_format')",
        )
        schema.sql(
            old,
            "INSERT INTO outbox (visit_id, uploaded_at, parked_at, parked_reason) VALUES (1, NULL, "
            "'2026-01-02T00:00:00.000000+00:00', 'conflict')",
        )
        schema.sql(
            old, "INSERT INTO outbox (visit_id, uploaded_at) VALUES (2, '2026-01-02T00:00:00.000000+00:00')"
        )
        schema.sql(old, "INSERT INTO device_sequence (device_id, last_seq) VALUES ('gate-1', 2)")
    finally:
        old.close()

    store = open_store()

    earlier, parked = store.visits()
    assert (earlier.uuid, earlier.reason, earlier.original_reason, earlier.uploaded) == (
        "u-2",
        Reason.GUARD_OVERRIDE,
        Reason.UNKNOWN_FORMAT,
        True,
    )
    # An override recorded before schema 6 names no refusal: nothing tells which one it replaced.
    assert (earlier.overrides, parked.overrides) == (None, None)
    assert [(p.visit.uuid, p.reason) for p in store.parked()] == [("u-1", "conflict")]
    override = store.record_override(parked, note="known staff member", guard="guard", at=clock())
    assert (override.seq, override.overrides) == (3, "u-1")
    with pytest.raises(AlreadyOverriddenError):
        store.record_override(parked, note="known staff member", guard="guard", at=clock())
    store.close()
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (schema.SCHEMA_VERSION,) == (6,)
        indexes = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'visit_overrides'").fetchone()
        assert "UNIQUE" in indexes[0] and "WHERE overrides IS NOT NULL" in indexes[0]


# ------------------------------------------------------------------------------------------------
# search


@pytest.fixture
def seeded(store: Store) -> Store:
    store.record(scanned(AN_ID, "Nguyễn Văn An"), at=clock(), direction=Direction.IN)
    store.record(scanned("079123456789", "Đặng Thị Bích"), at=clock(), direction=Direction.IN)
    store.record(scanned("001200004321", "Trần Văn Lan"), at=clock(), direction=Direction.IN)
    manual(store, name="Phạm Anh Tuấn", id_number=None)
    store.record(UNREADABLE, at=clock(), direction=Direction.IN)
    store.record(scanned(AN_ID, "Nguyễn Văn An"), at=clock(), direction=Direction.OUT)
    return store


def names(visits: list[Visit]) -> list[str | None]:
    return [v.name for v in visits]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nguyen", ["Nguyễn Văn An", "Nguyễn Văn An"]),
        ("NGUYEN VAN", ["Nguyễn Văn An", "Nguyễn Văn An"]),
        ("an nguyen", ["Nguyễn Văn An", "Nguyễn Văn An"]),  # any order
        ("Nguyễn", ["Nguyễn Văn An", "Nguyễn Văn An"]),
        ("dang", ["Đặng Thị Bích"]),
        ("đặng bich", ["Đặng Thị Bích"]),
        ("an", ["Nguyễn Văn An", "Phạm Anh Tuấn", "Nguyễn Văn An"]),  # beginnings of words: not "Lan"
        ("van", ["Nguyễn Văn An", "Trần Văn Lan", "Nguyễn Văn An"]),
        ("tuan", ["Phạm Anh Tuấn"]),
        ("1234", ["Nguyễn Văn An", "Nguyễn Văn An"]),
        ("4321", ["Trần Văn Lan"]),
        ("456789", ["Đặng Thị Bích"]),
        ("an 1234", ["Nguyễn Văn An", "Nguyễn Văn An"]),
        ("lan 1234", []),
        ("nguyen an hung", []),
    ],
)
def test_search_by_name_without_accents_or_by_last_digits(
    seeded: Store, text: str, expected: list[str]
) -> None:
    assert names(seeded.search(text)) == expected


@pytest.mark.parametrize("text", ["", "   ", "1", "234", "an 23", "%", "_", "'; DROP TABLE visit; --"])
def test_search_needs_a_name_or_four_digits(seeded: Store, text: str) -> None:
    assert seeded.search(text) == []
    assert len(seeded.visits()) == 6


def test_search_is_newest_first_and_limited(seeded: Store) -> None:
    found = seeded.search("nguyen")
    assert [v.direction for v in found] == [Direction.OUT, Direction.IN]
    assert found[0].seq > found[1].seq
    assert seeded.search("nguyen", limit=1) == found[:1]
    assert seeded.search("nguyen", limit=0) == []


def test_search_results_shown_on_the_console_never_hold_the_full_id(seeded: Store) -> None:
    full_ids = (AN_ID, "079123456789", "001200004321")
    lines = [console_line(v) for text in ("1234", "dang", "van", "4321") for v in seeded.search(text)]
    assert lines
    for line in lines:
        text = repr(line) + " ".join(str(getattr(line, f)) for f in line.__slots__)
        assert not any(full in text for full in full_ids)
        assert line.masked_id.startswith("••••") and len(line.masked_id) == 8
    assert {line.masked_id for line in lines} == {"••••1234", "••••6789", "••••4321"}
    manual_line = console_line(seeded.search("tuan")[0])
    assert (manual_line.masked_id, manual_line.manual, manual_line.guard) == ("", True, "guard")


def test_console_lines_offer_an_override_for_refusals_only(seeded: Store) -> None:
    lines = [console_line(v) for v in seeded.visits()]
    assert [line.overridable for line in lines] == [False, True, False, False, False, False]


def test_fold_removes_vietnamese_accents_and_case() -> None:
    assert fold("Nguyễn  Văn   ĐẶNG") == "nguyen van dang"
    assert fold("Phạm Thị Hường") == "pham thi huong"
    assert fold("đ Đ") == "d d"


def test_search_works_on_a_read_only_snapshot(seeded: Store, db_path: Path) -> None:
    seeded.close()
    with Store.open_read_only(db_path) as reader:
        assert names(reader.search("dang")) == ["Đặng Thị Bích"]


# ------------------------------------------------------------------------------------------------
# people inside now


def test_inside_now_counts_each_person_once_per_direction_change(store: Store) -> None:
    a, b, e, f = "046090000001", "046090000002", "046090000005", "046090000006"
    at = DAY_START - timedelta(minutes=30)  # last night: not today
    store.record(scanned(e, "Người Hôm Qua"), at=clock(at), direction=Direction.IN)
    steps = [
        (scanned(a, "Người A"), Direction.IN),
        (scanned(a, "Người A"), Direction.IN),  # scanned twice on the way in: one person
        (scanned(b, "Người B"), Direction.IN),
        (scanned(a, "Người A"), Direction.OUT),
        (scanned(b, "Người B"), Direction.OUT),
        (scanned(b, "Người B"), Direction.OUT),  # twice on the way out
        (scanned(b, "Người B", Outcome.REFUSED, Reason.DENY_LIST), Direction.IN),  # refused: not inside
        (UNREADABLE, Direction.IN),
    ]
    for minute, (decision, direction) in enumerate(steps, start=1):
        store.record(decision, at=clock(T0 + timedelta(minutes=minute)), direction=direction)
    manual(store, id_number=None)  # no identity: always counts
    manual(store, id_number=None)
    refusal = store.record(
        scanned(a, "Người A", Outcome.NEEDS_GUARD, Reason.NOT_ON_ROSTER), at=clock(), direction=Direction.IN
    )
    store.record_override(refusal, note="known staff member", guard="guard", at=clock())  # A back in

    count = store.inside_now(DAY_START)

    assert (count.entered, count.left, count.inside) == (5, 2, 3)
    assert store.inside_now(DAY_START - timedelta(days=1)).entered == 6

    # People who came in before the day began and leave today: never a negative number inside.
    for person in (e, f):
        store.record(scanned(person, "Người Sớm"), at=clock(), direction=Direction.OUT)
    store.record(scanned(f, "Người Sớm"), at=clock(), direction=Direction.OUT)
    late = store.inside_now(DAY_START + timedelta(hours=12))
    assert late == InsideCount(entered=0, left=0)
    today = store.inside_now(DAY_START)
    assert (today.entered, today.left, today.inside) == (5, 4, 1)


def test_inside_now_without_visits_is_zero(store: Store) -> None:
    assert store.inside_now(DAY_START) == InsideCount(0, 0)
    assert InsideCount(2, 5).inside == 0


def test_count_inside_keeps_keys_apart_and_reads_both_as_in() -> None:
    rows = [
        (Direction.IN, "k1", "h"),
        (Direction.IN, "k2", "h"),  # the same hash text under another key is another identity
        (Direction.BOTH, "k1", "h"),
        (Direction.OUT, None, None),
        (Direction.OUT, None, None),
    ]
    assert count_inside(rows) == InsideCount(entered=2, left=2)


def test_times_are_compared_in_utc(store: Store) -> None:
    just_after = DAY_START.astimezone(UTC) + timedelta(microseconds=1)
    store.record(scanned(), at=clock(just_after), direction=Direction.IN)
    store.record(
        scanned("046090000009"), at=clock(DAY_START - timedelta(microseconds=1)), direction=Direction.IN
    )
    assert store.inside_now(DAY_START).entered == 1
