"""A clumsy operator cannot destroy the record from the command line.

Exports never overwrite without ``--force`` and never write over the database or its side files at all;
``visits`` and ``export`` read without creating, repairing or moving anything; one gate per database.
Commands run in-process through ``app.cli.main`` on real SQLite files under ``tmp_path``.
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import pytest

from app.cli import main
from kiosk.demo import CCCD_AN, CCCD_BINH, render_code
from kiosk.export import VIETNAM_TIME
from kiosk.store import Store
from tests.cli_support import isolate_cli


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate_cli(tmp_path, monkeypatch, '[location]\ncode = "HUE-001"\n')


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # drop what fixtures printed
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def files(directory: Path) -> dict[str, bytes]:
    """Every file's bytes except SQLite's shared-memory WAL index, which any reader updates."""
    return {
        p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file() and p.suffix != ".db-shm"
    }


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.db"
    images = []
    for i, payload in enumerate((CCCD_AN, CCCD_BINH)):
        image = tmp_path / f"code{i}.png"
        assert cv2.imwrite(str(image), render_code(payload.encode(), "paper", seed=3))
        images.append(str(image))
    assert main(["scan", "--db", str(path), *images]) == 0
    return path


def days() -> tuple[str, str]:
    today = datetime.now(VIETNAM_TIME).date()
    return str(today - timedelta(days=1)), str(today + timedelta(days=1))


# ------------------------------------------------------------------------------------------------
# exports never clobber


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm", ".lock", ".seq"])
def test_export_never_writes_over_the_database_even_with_force(
    capsys: pytest.CaptureFixture[str], db: Path, suffix: str
) -> None:
    first, last = days()
    target = Path(f"{db}{suffix}")
    target.touch()
    before = files(db.parent)

    for extra in ([], ["--force"]):
        code, _, err = run(
            capsys, "export", "--db", str(db), "--from", first, "--to", last, "-o", str(target), *extra
        )
        assert code == 2 and "never writes over it" in err
    assert files(db.parent) == before
    with Store.open_read_only(db) as store:
        assert len(store.visits()) == 2


def test_export_never_writes_over_the_configuration(
    capsys: pytest.CaptureFixture[str], db: Path, isolated: Path
) -> None:
    first, last = days()
    before = isolated.read_bytes()
    code, _, err = run(
        capsys, "export", "--db", str(db), "--from", first, "--to", last, "-o", str(isolated), "--force"
    )
    assert code == 2 and "configuration file" in err
    assert isolated.read_bytes() == before


def test_export_refuses_an_existing_file_unless_forced(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    first, last = days()
    target = tmp_path / "report.csv"
    target.write_text("the office's own notes\n", encoding="utf-8")

    code, _, err = run(capsys, "export", "--db", str(db), "--from", first, "--to", last, "-o", str(target))
    assert code == 2 and "already exists" in err and "--force" in err
    assert target.read_text(encoding="utf-8") == "the office's own notes\n"

    code, out, _ = run(
        capsys, "export", "--db", str(db), "--from", first, "--to", last, "-o", str(target), "--force"
    )
    assert code == 0 and "exported 2 visits" in out
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 3
    assert not list(tmp_path.glob(".visits-*"))  # no temporary file left behind


def test_a_failed_export_leaves_the_old_file_whole(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, last = days()
    target = tmp_path / "report.csv"
    target.write_text("last week's export\n", encoding="utf-8")

    def broken(*_args: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("kiosk.export.export_visits", broken)
    code, _, err = run(
        capsys, "export", "--db", str(db), "--from", first, "--to", last, "-o", str(target), "--force"
    )
    assert code == 2 and "No space left" in err
    assert target.read_text(encoding="utf-8") == "last week's export\n"
    assert not list(tmp_path.glob(".visits-*"))


def test_export_to_a_folder_says_to_give_a_file_name(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    first, last = days()
    code, _, err = run(capsys, "export", "--db", str(db), "--from", first, "--to", last, "-o", str(tmp_path))
    assert code == 2 and "is a folder" in err


def test_export_dash_writes_to_standard_output(
    capsysbinary: pytest.CaptureFixture[bytes], db: Path, tmp_path: Path
) -> None:
    first, last = days()
    capsysbinary.readouterr()  # what the fixture's scan printed
    code = main(["export", "--db", str(db), "--from", first, "--to", last, "-o", "-"])
    out, err = capsysbinary.readouterr()
    assert code == 0
    rows = list(csv.reader(io.StringIO(out.decode("utf-8-sig"))))
    assert len(rows) == 3
    assert b"exported 2 visits" in err
    assert not (tmp_path / "-").exists()


# ------------------------------------------------------------------------------------------------
# read-only commands are read-only


def test_visits_on_the_config_file_refuses_and_leaves_it(
    capsys: pytest.CaptureFixture[str], isolated: Path
) -> None:
    before = files(isolated.parent)
    code, out, err = run(capsys, "visits", "--db", str(isolated))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "not a visit database" in err
    assert files(isolated.parent) == before


def test_visits_on_another_applications_database_adds_no_tables(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = tmp_path / "inventory.sqlite"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE item (id INTEGER PRIMARY KEY)")
        conn.commit()
    before = files(tmp_path)
    for command in (["visits"], ["export", "--from", days()[0], "--to", days()[1], "-o", "x.csv"]):
        code, _, err = run(capsys, *command, "--db", str(other))
        assert code == 1 and "another application's SQLite database" in err
    assert files(tmp_path) == before


def test_visits_and_export_work_while_the_gate_records(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    with Store.open(db, device_id="kiosk-dev", location_code="HUE-001", privacy_notice_version="1"):
        code, out, _ = run(capsys, "visits", "--db", str(db), "--json")
        assert code == 0 and out.count("\n") == 2
        first, last = days()
        code, _, _ = run(
            capsys, "export", "--db", str(db), "--from", first, "--to", last, "-o", str(tmp_path / "a.csv")
        )
        assert code == 0


def test_visits_of_a_damaged_database_reports_and_moves_nothing(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    data = db.read_bytes()
    db.write_bytes(data[:4096] + b"\xff" * (len(data) - 4096))
    before = files(db.parent)
    code, _, err = run(capsys, "visits", "--db", str(db))
    assert code == 1 and "damaged" in err and "nothing was changed" in err
    assert files(db.parent) == before


# ------------------------------------------------------------------------------------------------
# one gate per database; the demo never touches real data


def test_a_second_gate_on_the_same_database_is_refused_naming_the_first(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    image = tmp_path / "code0.png"
    with Store.open(db, device_id="kiosk-dev", location_code="HUE-001", privacy_notice_version="1"):
        code, _, err = run(capsys, "scan", "--db", str(db), str(image))
    assert code == 1
    assert f"pid {os.getpid()}" in err and "only one gate" in err
    with Store.open_read_only(db) as store:
        assert len(store.visits()) == 2  # nothing recorded twice


def test_the_demo_records_into_a_throw_away_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    real = tmp_path / "real.db"
    code, out, _ = run(capsys, "demo", "--set", f"store.database={real}")
    assert code == 0 and "verdicts as expected" in out
    assert not real.exists()
