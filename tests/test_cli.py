"""The ``kiosk`` command line as operators and scripts use it (the contract in ``app.cli``'s docstring).

Commands run in-process through ``app.cli.main``; a few run as real subprocesses to prove that no
traceback ever reaches the user. QR images are rendered at test time and written with OpenCV; databases
are real SQLite files under ``tmp_path``. Each test gets an empty config file through ``KIOSK_CONFIG`` so
that no machine configuration leaks in.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import subprocess
import sys
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from openpyxl import load_workbook

from app.cli import main
from kiosk.demo import (
    CCCD_AN,
    CCCD_BINH,
    DemoSigner,
    demo_cases,
    render_code,
    vaccination_claims,
)
from kiosk.export import COLUMNS, VIETNAM_TIME
from tests.cli_support import isolate_cli

AN_ID = "046090001234"
BAD_DATE_CCCD = "046090001234|191234567|Nguyễn Văn An|31022001|Nam|12 Lê Lợi|20042021"
ADDRESS_PARTS = ("Lê Lợi", "Vĩnh Ninh", "Hùng Vương", "Phú Hội")
VIETNAMESE = "Nguyễn Văn An · Phường Vĩnh Ninh, Thành phố Huế"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No KIOSK_* variables and no /etc/kiosk: an empty config file, and tmp_path as the cwd."""
    return isolate_cli(tmp_path, monkeypatch)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def one_json(lines: list[str]) -> dict[str, object]:
    assert len(lines) == 1, lines
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    return obj


def assert_one_error_line(err: str, *fragments: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kiosk: error:"), err
    for fragment in fragments:
        assert fragment in lines[0]


def write_code(path: Path, payload: str | bytes, style: str = "paper") -> Path:
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    assert cv2.imwrite(str(path), render_code(data, style, seed=7))
    return path


def write_blank(path: Path) -> Path:
    assert cv2.imwrite(str(path), np.full((480, 640), 200, dtype=np.uint8))
    return path


def inside(quad: list[list[float]], x: float, y: float) -> bool:
    contour = np.array(quad, dtype=np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(contour, (x, y), measureDist=False) > 0


# -- decode -----------------------------------------------------------------------------------------


def test_decode_prints_one_json_line_per_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code_png = write_code(tmp_path / "code.png", VIETNAMESE)
    blank_png = write_blank(tmp_path / "blank.png")

    status, lines, err = run(capsys, "decode", str(code_png), str(blank_png))

    assert status == 0, err
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    for obj, image in ((first, code_png), (second, blank_png)):
        assert set(obj) == {"image", "symbols", "ms"}
        assert obj["image"] == str(image)
        assert isinstance(obj["ms"], float)
        assert obj["ms"] >= 0
    (symbol,) = first["symbols"]
    assert set(symbol) == {"text", "bytes_hex", "quad"}
    assert symbol["text"] == VIETNAMESE
    assert bytes.fromhex(symbol["bytes_hex"]) == VIETNAMESE.encode("utf-8")
    quad = symbol["quad"]
    assert len(quad) == 4
    assert all(len(point) == 2 for point in quad)
    assert inside(quad, 320, 240)  # render_code centres the code in a 640×480 frame
    assert not inside(quad, 20, 20)
    assert second["symbols"] == []


def test_decode_keeps_the_exact_bytes_of_a_non_utf8_payload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = b"\xff\xfe046090001234\x80"
    png = write_code(tmp_path / "latin.png", payload)

    status, lines, _ = run(capsys, "decode", str(png))

    assert status == 0
    (symbol,) = one_json(lines)["symbols"]  # type: ignore[misc]
    assert bytes.fromhex(symbol["bytes_hex"]) == payload


def test_decode_missing_file_reports_it_and_carries_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.png"
    good = write_code(tmp_path / "good.png", CCCD_AN)

    status, lines, err = run(capsys, "decode", str(missing), str(good))

    assert status != 0
    err_lines = err.splitlines()
    assert len(err_lines) == 1
    assert "missing.png" in err_lines[0]
    assert "Traceback" not in err
    assert len(lines) == 2
    failed, read = (json.loads(line) for line in lines)
    assert failed["image"] == str(missing)
    assert failed["symbols"] == []
    assert [s["text"] for s in read["symbols"]] == [CCCD_AN]


# -- verify -----------------------------------------------------------------------------------------


def test_verify_cccd_prints_a_masked_subject(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, err = run(capsys, "verify", CCCD_AN)

    assert status == 0, err
    obj = one_json(lines)
    assert (obj["kind"], obj["ok"], obj["reason"]) == ("cccd", True, "ok")
    assert obj["subject"] == {"name": "Nguyễn V. A", "id": "••••1234"}
    assert isinstance(obj["warnings"], list)
    out = "\n".join(lines)
    assert AN_ID not in out
    assert "Nguyễn Văn An" not in out
    assert not any(part in out for part in ADDRESS_PARTS)


@pytest.mark.parametrize(
    ("payload", "kind", "reason"),
    [
        ("046090001234|Nguyen Van An", "cccd", "malformed"),
        (BAD_DATE_CCCD, "cccd", "bad_date"),
        ("046090005678||=HYPERLINK(1)|15031990|Nam|x|20042021", "cccd", "formula_name"),
        ("https://qr.tokhaiyte.vn/place/ABC123", "location", "location_code"),
        ("WIFI:S:CafeHue;T:WPA;P:12345678;;", "unknown", "unknown_format"),
    ],
)
def test_verify_refused_payload_exits_1_with_its_reason(
    capsys: pytest.CaptureFixture[str], payload: str, kind: str, reason: str
) -> None:
    status, lines, _ = run(capsys, "verify", payload)

    assert status == 1
    obj = one_json(lines)
    assert (obj["kind"], obj["ok"], obj["reason"], obj["subject"]) == (kind, False, reason, {})


def stdin_bytes(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(data)))


def test_verify_dash_reads_the_payload_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin_bytes(monkeypatch, CCCD_BINH.encode("utf-8") + b"\n")

    status, lines, _ = run(capsys, "verify", "-")

    assert status == 0
    obj = one_json(lines)
    assert (obj["kind"], obj["ok"]) == ("cccd", True)
    assert obj["subject"] == {"name": "Trần T. B", "id": "••••9876"}


def test_verify_stdin_bytes_that_are_not_utf8_are_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin_bytes(monkeypatch, b"046090001234||Nguy\xe1n V\xe3n An|15031990|Nam|x|20042021")

    status, lines, _ = run(capsys, "verify", "-")

    assert status == 1
    obj = one_json(lines)
    assert (obj["ok"], obj["reason"]) == (False, "not_utf8")


def test_verify_without_a_payload_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, err = run(capsys, "verify")

    assert status == 2
    assert lines == []
    assert_one_error_line(err, "PAYLOAD")


def test_verify_bad_at_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, err = run(capsys, "verify", "--at", "yesterday-ish", CCCD_AN)

    assert status == 2
    assert lines == []
    assert_one_error_line(err, "--at", "yesterday-ish")


# -- verify: DCC --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signer() -> DemoSigner:
    return DemoSigner.create(datetime.now(UTC))


@pytest.fixture(scope="module")
def dcc(signer: DemoSigner) -> str:
    now = datetime.now(UTC)
    claims = vaccination_claims(now - timedelta(days=30), now + timedelta(days=335), "URN:UVCI:01:VN:T1")
    return signer.sign_dcc(claims)


def write_trust_cert(directory: Path, signer: DemoSigner, form: str) -> Path:
    der = signer.certificate_der
    if form == "der":
        data = der
    elif form == "pem":
        data = x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM)
    else:
        data = base64.b64encode(der) + b"\n"
    path = directory / f"dsc.{form}"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("form", ["der", "pem", "b64"])
def test_verify_dcc_with_a_trusted_signer_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], signer: DemoSigner, dcc: str, form: str
) -> None:
    cert = write_trust_cert(tmp_path, signer, form)

    status, lines, err = run(capsys, "verify", "--trust-cert", str(cert), dcc)

    assert status == 0, err
    obj = one_json(lines)
    assert (obj["kind"], obj["ok"], obj["reason"]) == ("dcc", True, "ok")
    subject = obj["subject"]
    assert isinstance(subject, dict)
    assert subject["country"] == "VN"
    assert subject["certificate_type"] == "v"


def test_verify_dcc_masks_the_name_family_name_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], signer: DemoSigner, dcc: str
) -> None:
    cert = write_trust_cert(tmp_path, signer, "der")

    _, lines, _ = run(capsys, "verify", "--trust-cert", str(cert), dcc)

    subject = one_json(lines)["subject"]
    assert isinstance(subject, dict)
    assert subject["name"] == "Nguyễn V. A"  # fn "Nguyễn", gn "Văn An": as on the CCCD


def test_verify_dcc_after_its_expiry_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], signer: DemoSigner, dcc: str
) -> None:
    cert = write_trust_cert(tmp_path, signer, "der")
    later = (datetime.now(UTC) + timedelta(days=400)).isoformat()

    status, lines, _ = run(capsys, "verify", "--trust-cert", str(cert), "--at", later, dcc)

    assert status == 1
    obj = one_json(lines)
    assert (obj["kind"], obj["ok"], obj["reason"]) == ("dcc", False, "dcc_expired")


def test_verify_dcc_without_a_trusted_signer_is_unknown_kid(
    capsys: pytest.CaptureFixture[str], dcc: str
) -> None:
    status, lines, _ = run(capsys, "verify", dcc)

    assert status == 1
    obj = one_json(lines)
    assert (obj["kind"], obj["ok"], obj["reason"]) == ("dcc", False, "dcc_unknown_kid")


def test_verify_dcc_with_a_json_trust_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], signer: DemoSigner, dcc: str
) -> None:
    trust = tmp_path / "trust.json"
    entry = {"country": "VN", "der": base64.b64encode(signer.certificate_der).decode("ascii")}
    trust.write_text(json.dumps({"certificates": [entry]}), encoding="utf-8")

    status, lines, err = run(capsys, "verify", "--trust-list", str(trust), dcc)

    assert status == 0, err
    obj = one_json(lines)
    assert (obj["kind"], obj["ok"], obj["reason"]) == ("dcc", True, "ok")


@pytest.mark.parametrize("flag", ["--trust-cert", "--trust-list"])
def test_verify_with_a_garbage_trust_file_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dcc: str, flag: str
) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01 this is not a certificate {[\xff")

    status, lines, err = run(capsys, "verify", flag, str(garbage), dcc)

    assert status != 0
    assert lines == []
    assert_one_error_line(err, "garbage.bin")


# -- scan, visits, export ---------------------------------------------------------------------------


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    return {
        "an": write_code(tmp_path / "an.png", CCCD_AN),
        "bad": write_code(tmp_path / "bad.png", BAD_DATE_CCCD),
        "blank": write_blank(tmp_path / "blank.png"),
        "binh": write_code(tmp_path / "binh.png", CCCD_BINH, style="phone"),
    }


def test_scan_prints_one_verdict_line_per_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], images: dict[str, Path]
) -> None:
    db = tmp_path / "kiosk.db"
    order = ("an", "bad", "blank", "binh")

    status, lines, _ = run(capsys, "scan", "--db", str(db), *(str(images[k]) for k in order))

    assert status == 1  # something was refused
    assert len(lines) == 4
    an, bad, blank, binh = lines
    assert an.startswith(f"{images['an']}: GRANTED cccd Nguyễn V. A ••••1234 (ok)")
    assert an.endswith("recorded #1")
    assert bad.startswith(f"{images['bad']}: REFUSED")
    assert "(bad_date)" in bad
    assert blank.startswith(f"{images['blank']}: NO CODE")
    assert binh.startswith(f"{images['binh']}: GRANTED cccd Trần T. B ••••9876")
    out = "\n".join(lines)
    assert AN_ID not in out
    assert db.exists()


def test_scan_of_valid_codes_only_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], images: dict[str, Path]
) -> None:
    status, lines, _ = run(
        capsys, "scan", "--db", str(tmp_path / "k.db"), str(images["an"]), str(images["binh"])
    )

    assert status == 0
    assert [line.split(": ", 1)[1].split()[0] for line in lines] == ["GRANTED", "GRANTED"]


def test_scan_of_an_image_with_two_codes_is_still_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import cv2

    from kiosk.demo import CCCD_AN, CCCD_BINH, render_code

    image = tmp_path / "two.png"
    cv2.imwrite(
        str(image),
        np.hstack([render_code(CCCD_AN.encode(), "paper"), render_code(CCCD_BINH.encode(), "paper")]),
    )

    status, lines, _ = run(capsys, "scan", "--db", str(tmp_path / "k.db"), str(image))

    assert status == 0
    assert len(lines) == 1
    assert lines[0].count("GRANTED") == 2 and "recorded #1" in lines[0] and "recorded #2" in lines[0]


@pytest.fixture
def scanned_db(tmp_path: Path, capsys: pytest.CaptureFixture[str], images: dict[str, Path]) -> Path:
    db = tmp_path / "kiosk.db"
    order = ("an", "bad", "blank", "binh")
    main(["scan", "--db", str(db), *(str(images[k]) for k in order)])
    capsys.readouterr()
    return db


def test_visits_json_lists_the_scanned_visits_masked(
    capsys: pytest.CaptureFixture[str], scanned_db: Path
) -> None:
    status, lines, _ = run(capsys, "visits", "--db", str(scanned_db), "--json")

    assert status == 0
    rows = [json.loads(line) for line in lines]
    assert [r["seq"] for r in rows] == [3, 2, 1]  # newest first
    assert [(r["outcome"], r["reason"], r["kind"]) for r in rows] == [
        ("granted", "ok", "cccd"),
        ("refused", "bad_date", "cccd"),
        ("granted", "ok", "cccd"),
    ]
    assert [(r["name"], r["id"]) for r in rows] == [
        ("Trần T. B", "••••9876"),
        (None, None),
        ("Nguyễn V. A", "••••1234"),
    ]
    out = "\n".join(lines)
    assert AN_ID not in out
    assert "Nguyễn Văn An" not in out


def test_visits_on_a_missing_database_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "nowhere.db"

    status, lines, err = run(capsys, "visits", "--db", str(db))

    assert status == 2
    assert lines == []
    assert_one_error_line(err, "nowhere.db")
    assert not db.exists()


def export_range() -> tuple[str, str]:
    # The visits were recorded just now; a day either side keeps this safe across midnight.
    today = datetime.now(VIETNAM_TIME).date()
    return str(today - timedelta(days=1)), str(today + timedelta(days=1))


def test_export_csv_and_xlsx_hold_the_scanned_visits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scanned_db: Path
) -> None:
    first, last = export_range()
    csv_path, xlsx_path = tmp_path / "out.csv", tmp_path / "out.xlsx"

    for fmt, path in (("csv", csv_path), ("xlsx", xlsx_path)):
        status, lines, err = run(
            capsys,
            "export",
            "--db",
            str(scanned_db),
            "--from",
            first,
            "--to",
            last,
            "--format",
            fmt,
            "-o",
            str(path),
        )
        assert status == 0, err
        assert lines == [f"exported 3 visits from {first} to {last} to {path}"]

    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        csv_rows = list(csv.reader(fh))
    assert csv_rows[0] == list(COLUMNS)
    body = [dict(zip(COLUMNS, row, strict=True)) for row in csv_rows[1:]]
    assert [r["seq"] for r in body] == ["1", "2", "3"]
    assert [r["name"] for r in body] == ["Nguyễn Văn An", "", "Trần Thị Bình"]
    assert [r["id_number"] for r in body] == [AN_ID, "", "046305009876"]
    assert [r["reason"] for r in body] == ["ok", "bad_date", "ok"]
    text = csv_path.read_text(encoding="utf-8-sig")
    assert not any(part in text for part in ADDRESS_PARTS)

    book = load_workbook(xlsx_path)
    try:
        xlsx_rows = [
            ["" if cell is None else str(cell) for cell in row]
            for row in book["visits"].iter_rows(values_only=True)
        ]
    finally:
        book.close()
    assert xlsx_rows == csv_rows


def test_export_of_a_range_without_visits_has_only_the_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scanned_db: Path
) -> None:
    out = tmp_path / "old.csv"

    status, lines, _ = run(
        capsys,
        "export",
        "--db",
        str(scanned_db),
        "--from",
        "2021-01-01",
        "--to",
        "2021-01-31",
        "-o",
        str(out),
    )

    assert status == 0
    assert lines[0].startswith("exported 0 visits")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        assert list(csv.reader(fh)) == [list(COLUMNS)]


@pytest.mark.parametrize(
    ("date_from", "date_to", "fragment"),
    [
        ("2026-03-02", "2026-03-01", "--to is before --from"),
        ("2026-02-30", "2026-03-01", "--from"),
        ("2026-03-01", "tomorrow", "--to"),
    ],
)
def test_export_bad_dates_are_usage_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    scanned_db: Path,
    date_from: str,
    date_to: str,
    fragment: str,
) -> None:
    out = tmp_path / "never.csv"

    status, lines, err = run(
        capsys,
        "export",
        "--db",
        str(scanned_db),
        "--from",
        date_from,
        "--to",
        date_to,
        "-o",
        str(out),
    )

    assert status == 2
    assert lines == []
    assert_one_error_line(err, fragment)
    assert not out.exists()


# -- configuration errors, demo, help ------------------------------------------------------------------


def test_invalid_config_value_names_the_key_and_the_allowed_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines, err = run(
        capsys, "scan", "--db", str(tmp_path / "k.db"), "--set", "policy.mode=bogus", "x.png"
    )

    assert status == 2
    assert lines == []
    assert_one_error_line(err, "policy.mode", "bogus", "log", "health", "allowlist")
    assert not (tmp_path / "k.db").exists()


def test_missing_config_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "visits", "--config", str(tmp_path / "missing.toml"))

    assert status == 2
    assert_one_error_line(err, "missing.toml")


def test_demo_gets_every_verdict_it_expects(capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(UTC)
    expected = len(demo_cases(DemoSigner.create(now), now))

    status, lines, err = run(capsys, "demo")

    assert status == 0, "\n".join(lines) + err
    assert len(lines) == expected + 2  # a heading, one line per case, a summary
    assert lines[-1].startswith(f"{expected}/{expected} verdicts as expected")
    assert not any("UNEXPECTED" in line for line in lines)


@pytest.mark.parametrize("command", [[], ["decode"], ["verify"], ["scan"], ["visits"], ["export"], ["demo"]])
def test_help_of_every_command_exits_0(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])

    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: kiosk {' '.join(command)}".rstrip())


# -- no traceback reaches the user (real processes) ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected_status", "fragment"),
    [
        (["verify"], 2, "PAYLOAD"),
        (["verify", "--trust-list", "garbage.json", "HC1:X"], 1, "garbage.json"),
        (["export", "--from", "2026-13-01", "--to", "2026-12-31"], 2, "--from"),
    ],
)
def test_subprocess_errors_are_one_line_without_traceback(
    tmp_path: Path, isolated: Path, args: list[str], expected_status: int, fragment: str
) -> None:
    (tmp_path / "garbage.json").write_text("{ not json", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env["KIOSK_CONFIG"] = str(isolated)

    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert proc.returncode == expected_status, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert_one_error_line(proc.stderr, fragment)
