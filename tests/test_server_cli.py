"""``kiosk-server``: the register commands in-process on the test database, and as a real command (usage
errors, a bad database URL, ``serve`` over TLS) in subprocesses."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from server.cli import main
from tests import server_support

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def _django(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server_support.configure_django(tmp_path_factory)


@pytest.fixture(autouse=True)
def _empty(monkeypatch: pytest.MonkeyPatch, _django: Path) -> Iterator[None]:
    # main() reads these; set here so the test's monkeypatch restores them afterwards.
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "server.settings")
    monkeypatch.setenv("KIOSK_SERVER_DATA", str(_django))
    server_support.clean_database()
    yield


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_location_add_and_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "location", "add", "HUE-0001", "--name", "Sở Y tế", "--district", "Huế")[0] == 0
    assert run(capsys, "location", "add", "HUE-0002", "--name", "UBND phường")[0] == 0
    status, out, _ = run(capsys, "location", "list")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("HUE-0001\tSở Y tế\tHuế") and lines[1].startswith("HUE-0002")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("location", "add", "HUE-0001", "--name", "again"), "already exists"),
        (("location", "add", "bad code!", "--name", "x"), "not valid"),
        (("code", "new", "--location", "NOWHERE", "--device", "gate-1"), "no location"),
        (("code", "new", "--location", "HUE-0001", "--device", "gate-1", "--qr", "x.png"), "--server-url"),
        (("code", "new", "--location", "HUE-0001", "--device", "gate-1", "--days", "0"), "--days"),
        (("device", "revoke", "gate-404"), "no device"),
        (("visits", "--location", "NOWHERE"), "no location"),
        (("serve", "--certfile", "cert.pem"), "--keyfile"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], says: str
) -> None:
    run(capsys, "location", "add", "HUE-0001", "--name", "Sở Y tế")
    status, _, err = run(capsys, *args)
    assert status == 2
    assert err.count("\n") == 1 and says in err and "Traceback" not in err


def test_usage_error_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["location", "frobnicate"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice" in err


def test_code_new_prints_a_one_time_code_that_enrols(capsys: pytest.CaptureFixture[str]) -> None:
    from django.test import Client

    run(capsys, "location", "add", "HUE-0001", "--name", "Sở Y tế")
    status, out, err = run(capsys, "code", "new", "--location", "HUE-0001", "--device", "gate-1")
    assert status == 0 and "shown only now" in err
    code = out.split()[0]
    assert len(code) == 14 and code.count("-") == 2
    client = Client()
    reply = client.post("/api/v1/enrol", json.dumps({"code": code}), "application/json")
    assert reply.status_code == 201 and reply.json()["device_id"] == "gate-1"


def test_code_new_writes_a_qr_code_with_the_server_url(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import cv2
    import zxingcpp

    run(capsys, "location", "add", "HUE-0001", "--name", "Sở Y tế")
    png = tmp_path / "enrol.png"
    args = (
        "code",
        "new",
        "--location",
        "HUE-0001",
        "--device",
        "gate-1",
        "--server-url",
        "https://kiosk.hue.gov.vn",
    )
    status, out, _ = run(capsys, *args, "--qr", str(png))
    assert status == 0
    code, text = out.split()
    assert text == f"KIOSK-ENROL:https://kiosk.hue.gov.vn#{code}"
    decoded = zxingcpp.read_barcodes(cv2.imread(str(png), cv2.IMREAD_GRAYSCALE))
    assert [symbol.text for symbol in decoded] == [text]


def test_device_revoke_makes_the_token_401_and_shows_in_the_list(capsys: pytest.CaptureFixture[str]) -> None:
    from django.test import Client

    from server.province import register

    run(capsys, "location", "add", "HUE-0001", "--name", "Sở Y tế")
    assert run(capsys, "device", "add", "gate-2", "--location", "HUE-0001")[0] == 0
    code, _ = register.issue_enrolment_code("HUE-0001", "gate-1", now=datetime.now(UTC))
    token = register.enrol(code, now=datetime.now(UTC))[1]
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/v1/device", **auth).status_code == 200

    status, out, _ = run(capsys, "device", "revoke", "gate-1")
    assert status == 0 and "revoked" in out
    reply = client.get("/api/v1/device", **auth)
    assert (reply.status_code, reply.json()["error"]) == (401, "token_revoked")
    listing = run(capsys, "device", "list")[1].splitlines()
    assert listing[0].startswith("gate-1\tHUE-0001\trevoked")
    assert listing[1].startswith("gate-2\tHUE-0001\tnot enrolled")


def test_visits_lists_recent_visits_with_identities_masked(capsys: pytest.CaptureFixture[str]) -> None:
    from server.province import register
    from server.province.ingest import store_batch
    from tests.test_server_api import visit

    run(capsys, "location", "add", "HUE-0001", "--name", "Sở Y tế")
    run(capsys, "location", "add", "HUE-0002", "--name", "UBND")
    code, _ = register.issue_enrolment_code("HUE-0001", "gate-1", now=datetime.now(UTC))
    device = register.enrol(code, now=datetime.now(UTC))[0]
    rows: list[dict[str, Any]] = [visit(i) for i in range(1, 4)]
    rows[1]["wall_time"] = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    for row in rows:
        row["wall_time"] = datetime.fromisoformat(str(row["wall_time"]))
    store_batch(device, rows, now=datetime.now(UTC))

    status, out, _ = run(capsys, "visits", "--limit", "2")
    assert status == 0
    assert "046090001234" not in out and "Nguyễn Văn An" not in out
    lines = out.splitlines()
    assert lines[0].startswith("HUE-0001") and "2 recent" in lines[0]
    assert lines[1].endswith("Nguyễn V. A ••••1234") and "2026-11-29 16:00:00" in lines[1]  # Asia/Ho_Chi_Minh
    assert lines[3].startswith("HUE-0002") and "0 recent" in lines[3]
    assert len(run(capsys, "visits", "--location", "HUE-0002")[1].splitlines()) == 1


def test_openapi_prints_the_document_kept_in_docs(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "openapi")
    assert status == 0
    assert out == (REPO / "docs" / "openapi.json").read_text(encoding="utf-8")


def test_a_bad_database_url_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = server_support.run_cli(tmp_path, "--database-url", "nosuchdb://x/y", "location", "list")
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_serve_over_tls_migrates_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    context = ssl.create_default_context()
    ca.configure_trust(context)

    data = tmp_path / "data"
    with server_support.start_server(data, certfile=certfile, keyfile=keyfile) as server:
        assert server.url.startswith("https://")
        status, body, _ = server_support.http_json("GET", f"{server.url}/api/v1/health", context=context)
        assert (status, body["status"]) == (200, "ok")
        assert server_support.run_cli(data, "location", "add", "HUE-0001", "--name", "x").returncode == 0
        server.restart()
        assert "HUE-0001" in server_support.run_cli(data, "location", "list").stdout
        assert server.stop() == 0
    assert (data / "secret_key").stat().st_mode & 0o777 == 0o600
    log = server.log_text()
    assert all(json.loads(line) for line in log.splitlines() if line.strip())


def test_createsuperuser_passes_its_options_to_django(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.contrib.auth.models import User

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-test-password-1")
    status, _, _ = run(
        capsys, "createsuperuser", "--noinput", "--username", "admin", "--email", "admin@hue.gov.vn"
    )
    assert status == 0
    assert User.objects.get(username="admin").is_superuser


def test_location_set_changes_what_its_kiosks_pull(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from kiosk.identity import DEMO_KEYRING, hash_list_document
    from server.province.configdoc import config_document
    from server.province.models import Location

    run(capsys, "location", "add", "HUE-0001", "--name", "Sở Y tế")
    before = config_document(Location.objects.get(code="HUE-0001"))
    deny = tmp_path / "deny.json"
    deny.write_text(
        json.dumps(hash_list_document(["id:046090001234"], DEMO_KEYRING.current)), encoding="utf-8"
    )
    status, out, err = run(
        capsys,
        "location",
        "set",
        "HUE-0001",
        "--policy",
        "health",
        "--repeat-window",
        "60",
        "--retention-days",
        "14",
        "--address",
        "10 Lê Lợi",
        "--deny-list",
        str(deny),
    )
    assert status == 0, err
    assert "configuration version 2" in out
    after = config_document(Location.objects.get(code="HUE-0001"))
    assert after["etag"] != before["etag"]
    assert after["policy"] == {"mode": "health", "repeat_window_s": 60} and after["retention"] == {"days": 14}
    assert after["location"]["address"] == "10 Lê Lợi"
    assert after["deny_list"]["key_id"] == DEMO_KEYRING.current.key_id
    assert run(capsys, "location", "set", "HUE-0001", "--deny-list", "none")[0] == 0
    assert config_document(Location.objects.get(code="HUE-0001"))["deny_list"] is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--policy", "health"), "no location"),
        ((), "nothing to change"),
        (("--repeat-window", "9999"), "0 to 3600"),
        (("--retention-days", "0"), "1 to 3650"),
        (("--deny-list", "BAD"), "hashes"),
        (("--trust-list", "BAD"), "trust-list"),
        (("--roster", "BAD"), "roster"),
        (("--deny-list", "MISSING"), "cannot be read"),
    ],
)
def test_location_set_refuses_bad_input_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    from server.province.models import Location

    run(capsys, "location", "add", "HUE-0001", "--name", "Sở Y tế")
    bad = tmp_path / "bad.json"
    bad.write_text('{"key_id": "k", "hashes": ["not-a-hash"]}', encoding="utf-8")
    args = tuple(
        str(bad) if a == "BAD" else str(tmp_path / "missing.json") if a == "MISSING" else a for a in args
    )
    code = "NOWHERE" if expected == "no location" else "HUE-0001"
    status, _, err = run(capsys, "location", "set", code, *args)
    assert status == 2 and expected in err, err
    location = Location.objects.get(code="HUE-0001")
    assert (location.config_version, location.deny_list, location.policy_mode) == (1, None, "log")


def test_flags_thresholds_are_shown_changed_checked_and_reset(capsys: pytest.CaptureFixture[str]) -> None:
    from server.province.rules import load_thresholds

    status, out, _ = run(capsys, "flags", "thresholds")
    assert status == 0 and "  device_silent_min = 60.0" in out
    status, out, err = run(
        capsys, "flags", "thresholds", "--set", "device_silent_min=90", "--set", "office_open=08:00"
    )
    assert status == 0, err
    assert "* device_silent_min = 90.0" in out and "* office_open = '08:00'" in out
    assert load_thresholds().device_silent_min == 90.0
    status, _, err = run(capsys, "flags", "thresholds", "--set", "manual_share_max=2")
    assert status == 2 and "manual_share_max=2: from 0 to 1" in err
    status, _, err = run(capsys, "flags", "thresholds", "--set", "nonsense=1")
    assert status == 2 and "unknown" in err
    assert load_thresholds().manual_share_max == 0.30  # nothing saved by a refused change
    run(capsys, "flags", "thresholds", "--reset", "device_silent_min", "--reset", "office_open")
    assert load_thresholds().device_silent_min == 60.0 and load_thresholds().office_open == "07:30"
