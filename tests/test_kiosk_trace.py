"""Contact tracing on the kiosk: the pure rules of ``kiosk.trace`` and ``kiosk trace`` over a real local record
(a Store under ``tmp_path`` with planted visits), masked by default."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.cli import main
from kiosk.identity import DEMO_KEYRING, IdentityKey, IdentityKeyring
from kiosk.model import ClockReading, Credential, Decision, Direction, Kind, Outcome, Reason
from kiosk.trace import (
    COLUMNS,
    Period,
    Subject,
    TraceProblem,
    TraceQueryError,
    TraceVisit,
    birth_year_of,
    person_windows,
    trace_visits,
)
from tests.cli_support import isolate_cli
from tests.conftest import OpenStore

VN = timezone(timedelta(hours=7))
DAY = date(2026, 11, 28)
NEXT = DAY + timedelta(days=1)
PERSON = "046090001234"
PERSON_NAME = "Nguyễn Văn An"
INSIDE = "046085000001"
OUTSIDE = "046085000002"
MIDNIGHT = "046085000004"


def at(day: date, hhmm: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN)


# -- the rules -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "year"),
    [
        ("046090001234", 1990),  # 0: 1900s, a man
        ("046185001234", 1985),  # 1: 1900s, a woman
        ("001205001234", 2005),  # 2: 2000s, a man
        ("079312001234", 2012),  # 3: 2000s, a woman
        ("046400001234", 2100),  # 4: 2100s
        ("04609000123", None),  # 11 digits
        ("046O90001234", None),  # a letter O
        ("０４６０９０００１２３４", None),  # full-width digits are not a citizen ID
        (None, None),
    ],
)
def test_the_birth_year_comes_from_digits_4_to_6_of_a_citizen_id(
    number: str | None, year: int | None
) -> None:
    assert birth_year_of(number) == year


@pytest.mark.parametrize(
    ("id_number", "name", "year", "problem"),
    [
        (None, None, None, TraceProblem.NO_SUBJECT),
        ("12345", None, None, TraceProblem.BAD_ID),
        (None, "Nguyễn Văn An", None, TraceProblem.NO_BIRTH_YEAR),
        (None, None, "1990", TraceProblem.NO_BIRTH_YEAR),
        (None, "Nguyễn Văn An", "90", TraceProblem.BAD_BIRTH_YEAR),
        (None, "   ", "1990", TraceProblem.NO_BIRTH_YEAR),
        (None, "---", "1990", TraceProblem.BAD_NAME),
    ],
)
def test_a_question_that_cannot_be_asked_names_its_reason(
    id_number: str | None, name: str | None, year: str | None, problem: TraceProblem
) -> None:
    with pytest.raises(TraceQueryError) as caught:
        Subject.parse(id_number, name, year)
    assert caught.value.reason is problem


def tv(uuid: str, hhmm: str, direction: Direction, day: date = DAY, location: str = "L1") -> TraceVisit:
    return TraceVisit(
        uuid, location, at(day, hhmm), direction, Outcome.GRANTED, "cccd", None, None, None, None
    )


def test_an_entry_and_its_exit_make_one_window_and_a_lone_visit_its_own() -> None:
    margin = timedelta(minutes=15)
    windows = person_windows(
        [
            tv("a", "09:00", Direction.IN),
            tv("b", "09:30", Direction.OUT),
            tv("c", "12:00", Direction.IN),  # no exit scanned
            tv("d", "12:10", Direction.IN, location="L2"),  # an exit elsewhere does not close it
            tv("e", "12:40", Direction.OUT, location="L2"),
            tv("f", "23:55", Direction.IN, location="L2"),  # from one day into the next
            tv("g", "00:20", Direction.OUT, day=NEXT, location="L2"),
        ],
        margin,
    )
    assert [(w.location, w.start, w.end, [v.uuid for v in w.visits]) for w in windows] == [
        ("L1", at(DAY, "08:45"), at(DAY, "09:45"), ["a", "b"]),
        ("L1", at(DAY, "11:45"), at(DAY, "12:15"), ["c"]),
        ("L2", at(DAY, "11:55"), at(DAY, "12:55"), ["d", "e"]),
        ("L2", at(DAY, "23:40"), at(NEXT, "00:35"), ["f", "g"]),
    ]


def test_a_rotated_key_still_matches_and_the_number_is_never_compared() -> None:
    old, new = IdentityKey("k-1", b"1" * 32), IdentityKey("k-2", b"2" * 32)
    keyring = IdentityKeyring((new, old))
    hashed_before = TraceVisit(
        "v1",
        "L1",
        at(DAY, "09:00"),
        Direction.IN,
        Outcome.GRANTED,
        "cccd",
        old.hash(f"id:{PERSON}"),
        old.key_id,
        None,
        None,
    )
    wrong_hash = TraceVisit(
        "v2",
        "L1",
        at(DAY, "10:00"),
        Direction.IN,
        Outcome.GRANTED,
        "cccd",
        "0" * 64,
        new.key_id,
        PERSON,
        None,
    )
    result = trace_visits(
        Subject.parse(PERSON), Period(DAY, DAY), timedelta(minutes=15), [hashed_before, wrong_hash], keyring
    )
    assert [v.uuid for v in result.visits] == ["v1"]


# -- kiosk trace -----------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate_cli(tmp_path, monkeypatch)


def record(
    store: object,
    when: datetime,
    id_number: str,
    name: str,
    direction: Direction = Direction.IN,
    *,
    synced: bool = True,
) -> None:
    identity_key = f"id:{id_number}"
    credential = Credential(kind=Kind.CCCD, identity_key=identity_key, id_number=id_number, name=name)
    decision = Decision(
        outcome=Outcome.GRANTED,
        reason=Reason.OK,
        kind=Kind.CCCD,
        credential=credential,
        identity_hash=DEMO_KEYRING.hash(identity_key),
        identity_key_id=DEMO_KEYRING.current.key_id,
    )
    clock = ClockReading(
        wall=when, synchronised=synced, boot_id="b0" * 16, monotonic_s=when.timestamp() % 10_000
    )
    store.record(decision, at=clock, direction=direction)  # type: ignore[attr-defined]


@pytest.fixture
def planted(open_store: OpenStore, db_path: Path) -> Path:
    """A kiosk's record: the person's morning visit and a stay across midnight, and the people around them."""
    store = open_store()
    record(store, at(DAY, "09:00"), PERSON, PERSON_NAME)
    record(store, at(DAY, "09:30"), PERSON, PERSON_NAME, Direction.OUT)
    record(store, at(DAY, "09:40"), INSIDE, "Lê Văn Cường")
    record(store, at(DAY, "10:00"), OUTSIDE, "Phạm Thị Dung")
    record(store, at(DAY, "23:55"), PERSON, PERSON_NAME)
    record(store, at(NEXT, "00:10"), MIDNIGHT, "Võ Thị Giang", synced=False)
    record(store, at(NEXT, "00:20"), PERSON, PERSON_NAME, Direction.OUT)
    record(store, at(DAY, "15:00"), "046091009999", PERSON_NAME)  # a namesake born in 1991
    store.close()
    return db_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_kiosk_trace_shows_the_visits_and_contacts_masked(
    capsys: pytest.CaptureFixture[str], planted: Path
) -> None:
    code, out, err = run(
        capsys, "trace", "--db", str(planted), "--id", PERSON, "--from", str(DAY), "--to", str(NEXT)
    )
    assert code == 0, err
    assert "4 visits:" in out and "2 contacts:" in out
    assert "••••1234" in out and "Lê V. C ••••0001" in out and "Võ T. G ••••0004" in out
    assert "2026-11-29 00:10:00 [kiosk clock not synchronised]" in out
    for hidden in (PERSON, INSIDE, MIDNIGHT, OUTSIDE, "••••0002", "Nguyễn Văn An", "Lê Văn Cường"):
        assert hidden not in out


def test_kiosk_trace_by_name_and_birth_year_as_full_csv(
    capsys: pytest.CaptureFixture[str], planted: Path, tmp_path: Path
) -> None:
    target = tmp_path / "trace.csv"
    code, out, err = run(
        capsys,
        "trace",
        "--db",
        str(planted),
        "--name",
        "nguyen van AN",
        "--birth-year",
        "1990",
        "--from",
        str(DAY),
        "--to",
        str(DAY),
        "--format",
        "csv",
        "--full",
        "-o",
        str(target),
    )
    assert code == 0, err
    assert str(target) in out
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS
    records = [dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]]
    # the first day only: the stay that began then still finds the contact after midnight
    assert [(r["row"], r["time"], r["id_number"]) for r in records] == [
        ("person", "2026-11-28 09:00:00", PERSON),
        ("person", "2026-11-28 09:30:00", PERSON),
        ("person", "2026-11-28 23:55:00", PERSON),
        ("contact", "2026-11-28 09:40:00", INSIDE),
        ("contact", "2026-11-29 00:10:00", MIDNIGHT),
    ]
    assert records[3]["name"] == "Lê Văn Cường"
    assert records[4]["clock_unsynchronised"] == "True"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--id", "12345"], "12 digits"),
        (["--name", "Nguyễn Văn An"], "birth year"),
        (["--id", PERSON, "--from", "2026-11-29", "--to", "2026-11-28"], "before the first"),
        (["--id", PERSON, "--margin-min", "-5"], "--margin-min"),
        (["--id", PERSON, "--name", "An"], "not allowed with"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], planted: Path, argv: list[str], fragment: str
) -> None:
    code, out, err = run(capsys, "trace", "--db", str(planted), *argv)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kiosk: error:") and fragment in lines[0], err


def test_kiosk_trace_never_writes_over_an_existing_file(
    capsys: pytest.CaptureFixture[str], planted: Path, tmp_path: Path
) -> None:
    target = tmp_path / "keep.txt"
    target.write_text("mine", encoding="utf-8")
    code, _, err = run(capsys, "trace", "--db", str(planted), "--id", PERSON, "-o", str(target))
    assert code == 2 and "already exists" in err
    assert target.read_text(encoding="utf-8") == "mine"
