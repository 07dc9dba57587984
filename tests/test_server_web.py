"""The province's web pages in-process (Django's test client on a real SQLite database): sign-in with CSRF,
what each role sees on the dashboard, in its filters, on location pages and in exports; the dashboard's
figures on a small hand-made province; CSV and Excel exports (masked, formula-safe, audited); and the
``account`` / ``district`` / ``office`` / ``location set`` commands that set the roles and rosters up."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import uuid as uuidlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.cli import main
from tests import server_support

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
#: The pages' clock in these tests: 10:30 on 10 June 2025, Vietnam time.
NOW = datetime(2025, 6, 10, 10, 30, tzinfo=ZONE)
TODAY = NOW.date().isoformat()
YESTERDAY = (NOW.date() - timedelta(days=1)).isoformat()
ID_NUMBER = "046090001234"
NAME = "Nguyễn Văn An"
FORMULA_NAME = '=HYPERLINK("http://x.example","y")'
PASSWORD = "gate-monitor-Hue-2025"


@pytest.fixture(scope="module", autouse=True)
def _django(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server_support.configure_django(tmp_path_factory)


def _clean() -> None:
    from server.province.models import Account, AuditEntry

    # Accounts hold their district and office (PROTECT): gone before clean_database deletes those.
    AuditEntry.objects.all().delete()
    Account.objects.all().delete()
    server_support.clean_database()


@pytest.fixture(autouse=True)
def _empty(monkeypatch: pytest.MonkeyPatch, _django: Path) -> Iterator[None]:
    from server.web import dashboard

    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "server.settings")
    monkeypatch.setenv("KIOSK_SERVER_DATA", str(_django))
    monkeypatch.setattr(dashboard, "clock", lambda: NOW)
    _clean()
    yield
    _clean()


# -- a small province: two districts, three offices, three locations, three kiosks, nine visits -------------


def at(hour: int, minute: int = 0, days_ago: int = 0) -> datetime:
    return datetime(2025, 6, 10 - days_ago, hour, minute, tzinfo=ZONE)


def make_visit(device: Any, when: datetime, *, name: str = NAME, seq: int = 1) -> Any:
    """A stored visit, counted into the per-day charts as an upload counts it (``server.province.rollup``)."""
    from server.province import rollup
    from server.province.models import Visit

    rollup.add([(device.location_id, when)])
    return Visit.objects.create(
        uuid=str(uuidlib.uuid4()),
        device=device,
        location=device.location,
        kiosk_location_code=device.location.code,
        seq=seq,
        kind="cccd",
        identity_hash="ab" * 32,
        identity_key_id="k1",
        id_number=ID_NUMBER,
        name=name,
        direction="in",
        outcome="granted",
        reason="ok",
        wall_time=when,
        clock_synchronised=True,
        boot_id="boot",
        monotonic_s=1.0,
        privacy_notice_version="1",
        received_at=when + timedelta(minutes=1),
        event_time=when,
        content_hash="c" * 64,
    )


def beat(device: Any, received: datetime, **payload: Any) -> None:
    from server.province.models import Heartbeat

    body = {"sent_at": received.isoformat(), **payload}
    Heartbeat.objects.create(
        device=device, received_at=received, sent_at=received, clock_offset_s=1.5, payload=body
    )


@pytest.fixture
def province() -> dict[str, Any]:
    """Districts A (Huế: offices O1, O2; locations L1, L2) and B (Phong Điền: office O3, location L3)."""
    from server.province.models import Device, District, Location, Office

    a = District.objects.create(name="Huế")
    b = District.objects.create(name="Phong Điền")
    o1 = Office.objects.create(name="Sở Y tế", district=a)
    o2 = Office.objects.create(name="UBND phường Phú Hội", district=a)
    o3 = Office.objects.create(name="UBND thị xã", district=b)
    l1 = Location.objects.create(code="L1", name="Sở Y tế", district="Huế", district_unit=a, office=o1)
    l2 = Location.objects.create(code="L2", name="Phú Hội", district="Huế", district_unit=a, office=o2)
    l3 = Location.objects.create(code="L3", name="Thị xã", district="Phong Điền", district_unit=b, office=o3)
    g1 = Device.objects.create(device_id="g1", location=l1, last_seen_at=NOW - timedelta(minutes=5))
    Device.objects.create(device_id="g2", location=l1)  # never heard from: silent
    g3 = Device.objects.create(device_id="g3", location=l3, last_seen_at=NOW - timedelta(hours=2))
    # g1: the latest heartbeat counts (backlog 3), not the older one (backlog 9).
    beat(g1, NOW - timedelta(hours=2), backlog=9, clock_synchronised=True, camera_state="running")
    beat(
        g1,
        NOW - timedelta(minutes=5),
        backlog=3,
        oldest_pending_at=(NOW - timedelta(minutes=20)).isoformat(),
        clock_synchronised=True,
        camera_state="running",
        version="0.1.0",
    )
    beat(g3, NOW - timedelta(hours=2), backlog=4, clock_synchronised=False, camera_state="lost")
    # Today at L1: 00:10 (the previous day in UTC), 08:05, 08:40, 09:10; yesterday one at 23:50.
    make_visit(g1, at(0, 10))
    make_visit(g1, at(8, 5))
    make_visit(g1, at(8, 40))
    make_visit(g1, at(9, 10), name=FORMULA_NAME)
    make_visit(g1, at(23, 50, days_ago=1))
    # L2 has no kiosk row here but a visit (from a device since moved): count by location, not device.
    moved = Device.objects.create(device_id="g-old", location=l2, revoked_at=NOW - timedelta(days=1))
    make_visit(moved, at(10, 0))
    make_visit(g3, at(9, 30))
    make_visit(g3, at(10, 15))
    return {"A": a, "B": b, "O1": o1, "O2": o2, "O3": o3}


def user(username: str, role: str | None, **account: Any) -> Any:
    from django.contrib.auth.models import User

    from server.province.models import Account

    person = User.objects.create(username=username)
    if role is not None:
        Account.objects.create(user=person, role=role, **account)
    return person


def signed_in(person: Any) -> Any:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(person)
    return client


def page(client: Any, path: str) -> str:
    reply = client.get(path)
    assert reply.status_code == 200, (path, reply.status_code)
    return str(reply.content.decode("utf-8"))


def card(html: str, name: str) -> int:
    found = re.search(rf'id="card-{name}">.*?<div class="value">(\d+)</div>', html, re.S)
    assert found, name
    return int(found.group(1))


def shown_locations(html: str) -> set[str]:
    return set(re.findall(r'data-location="([^"]+)"', html))


def chart(html: str, script_id: str) -> dict[str, Any]:
    found = re.search(rf'<script id="{script_id}" type="application/json">(.*?)</script>', html, re.S)
    assert found, script_id
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def options(html: str, name: str) -> set[str]:
    select = re.search(rf'<select name="{name}">(.*?)</select>', html, re.S)
    return set(re.findall(r'<option value="(\d+)"', select.group(1))) if select else set()


def csv_rows(reply: Any) -> list[dict[str, str]]:
    assert reply.status_code == 200
    assert reply["Content-Type"].startswith("text/csv")
    text = b"".join(reply.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


# -- signing in ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/locations/L1/", "/export/visits.csv", "/export/visits.xlsx"])
def test_every_page_needs_a_sign_in(path: str, province: dict[str, Any]) -> None:
    from django.test import Client

    reply = Client().get(path)
    assert reply.status_code == 302
    assert reply["Location"].startswith("/login/?next=")


def test_sign_in_and_out_need_the_csrf_token_and_the_password_is_argon2() -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    from server.province.accounts import add_account

    add_account("ward", role="province", password=PASSWORD)
    assert User.objects.get(username="ward").password.startswith("argon2$")
    client = Client(enforce_csrf_checks=True)
    assert client.get("/login/").status_code == 200
    token = client.cookies["csrftoken"].value

    assert client.post("/login/", {"username": "ward", "password": PASSWORD}).status_code == 403
    assert client.get("/").status_code == 302  # not signed in by the forged request
    wrong = client.post("/login/", {"username": "ward", "password": "not-it", "csrfmiddlewaretoken": token})
    assert wrong.status_code == 200 and client.get("/").status_code == 302

    signed = client.post("/login/", {"username": "ward", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert signed.status_code == 302 and signed["Location"] == "/"
    assert client.get("/").status_code == 200

    token = client.cookies["csrftoken"].value  # rotated at sign-in
    assert client.post("/logout/").status_code == 403
    assert client.get("/").status_code == 200  # still signed in
    assert client.post("/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_repeated_failed_sign_ins_are_audited_then_refused_for_a_while() -> None:
    from django.test import Client
    from django.utils import timezone

    from server.province.accounts import add_account
    from server.province.models import AuditEntry
    from server.web.accounts import MAX_FAILURES

    add_account("ward", role="province", password=PASSWORD)
    client = Client()
    for _ in range(MAX_FAILURES):
        assert client.post("/login/", {"username": "ward", "password": "guess"}).status_code == 200
    failures = AuditEntry.objects.filter(action="login_failed")
    assert failures.count() == MAX_FAILURES
    assert all(e.detail["username"] == "ward" and len(e.detail["client"]) == 64 for e in failures)
    assert all("guess" not in str(e.detail) for e in failures)
    # Now even the right password is not checked until the window has passed.
    refused = client.post("/login/", {"username": "ward", "password": PASSWORD})
    assert refused.status_code == 429 and refused["Retry-After"] == "900"
    assert "15" in refused.content.decode() and client.get("/").status_code == 302
    AuditEntry.objects.filter(action="login_failed").update(at=timezone.now() - timedelta(minutes=16))
    assert client.post("/login/", {"username": "ward", "password": PASSWORD}).status_code == 302


def test_a_new_password_from_the_operator_lifts_a_lockout() -> None:
    from django.test import Client

    from server.errors import RegisterError
    from server.province.accounts import add_account, set_password
    from server.web.accounts import MAX_FAILURES

    add_account("ward", role="province", password=PASSWORD)
    client = Client()
    for _ in range(MAX_FAILURES):
        client.post("/login/", {"username": "ward", "password": "guess"})
    with pytest.raises(RegisterError, match="too short"):
        set_password("ward", "short")
    set_password("ward", "a-brand-new-password-7")
    assert (
        client.post("/login/", {"username": "ward", "password": "a-brand-new-password-7"}).status_code == 302
    )


def test_a_disabled_account_cannot_sign_in(capsys: pytest.CaptureFixture[str]) -> None:
    from django.test import Client

    from server.province.accounts import add_account

    add_account("ward", role="province", password=PASSWORD)
    assert main(["account", "disable", "ward"]) == 0
    assert Client().login(username="ward", password=PASSWORD) is False
    assert main(["account", "enable", "ward"]) == 0
    assert Client().login(username="ward", password=PASSWORD) is True
    capsys.readouterr()


# -- the dashboard: figures and scoping ------------------------------------------------------------------------


def test_the_province_dashboard_figures(province: dict[str, Any]) -> None:
    html = page(signed_in(user("prov", "province")), "/")
    assert shown_locations(html) == {"L1", "L2", "L3"}
    assert card(html, "locations") == 3
    assert card(html, "devices") == 3  # g1, g2, g3; the revoked one is not counted
    assert card(html, "visits-today") == 7  # 4 at L1 (00:10 included), 1 at L2, 2 at L3
    assert card(html, "silent") == 2  # g2 never heard from, g3 two hours ago
    assert card(html, "backlog") == 7  # g1's latest (3, not 9) + g3's 4
    per_hour = chart(html, "visits-per-hour")
    assert len(per_hour["counts"]) == 24 and sum(per_hour["counts"]) == 7
    assert per_hour["counts"][0] == 1 and per_hour["counts"][8] == 2
    assert per_hour["counts"][9] == 2 and per_hour["counts"][10] == 2
    per_day = chart(html, "visits-per-day")
    assert len(per_day["labels"]) == 30
    assert per_day["labels"][-1] == TODAY and per_day["counts"][-1] == 7
    assert per_day["labels"][-2] == YESTERDAY and per_day["counts"][-2] == 1
    assert sum(per_day["counts"]) == 8
    # Each location's visits today, in its row.
    assert re.search(r'data-location="L1".*?data-visits-today="4"', html, re.S)
    assert options(html, "district") == {str(province["A"].pk), str(province["B"].pk)}


def test_a_district_account_sees_its_district_only(province: dict[str, Any]) -> None:
    a, b = province["A"], province["B"]
    client = signed_in(user("huế", "district", district=a))
    html = page(client, "/")
    assert shown_locations(html) == {"L1", "L2"}
    assert card(html, "visits-today") == 5
    assert card(html, "silent") == 1  # g2; g3 is in the other district
    assert card(html, "backlog") == 3
    assert sum(chart(html, "visits-per-hour")["counts"]) == 5
    assert options(html, "district") == {str(a.pk)}
    assert options(html, "office") == {str(province["O1"].pk), str(province["O2"].pk)}
    assert shown_locations(page(client, f"/?office={province['O2'].pk}")) == {"L2"}
    assert "g1" in page(client, "/locations/L1/")
    for path in (
        f"/?district={b.pk}",
        f"/?office={province['O3'].pk}",
        "/?district=nonsense",
        "/locations/L3/",
        "/locations/NOWHERE/",
        "/export/visits.csv?location=L3",
        f"/export/visits.csv?district={b.pk}",
        f"/export/visits.xlsx?office={province['O3'].pk}",
    ):
        assert client.get(path).status_code == 404, path
    rows = csv_rows(client.get(f"/export/visits.csv?from={YESTERDAY}&to={TODAY}"))
    assert sorted({r["location"] for r in rows}) == ["L1", "L2"] and len(rows) == 6


def test_an_office_account_sees_its_office_only(province: dict[str, Any]) -> None:
    client = signed_in(user("clerk", "office", office=province["O1"], district=province["A"]))
    html = page(client, "/")
    assert shown_locations(html) == {"L1"}
    assert card(html, "visits-today") == 4
    assert card(html, "devices") == 2
    assert options(html, "district") == set()
    for path in (f"/?office={province['O2'].pk}", "/locations/L2/", "/export/visits.csv?location=L2"):
        assert client.get(path).status_code == 404, path
    rows = csv_rows(client.get("/export/visits.csv"))  # today by default
    assert {r["location"] for r in rows} == {"L1"} and len(rows) == 4


def test_the_province_filters_by_district_and_office(province: dict[str, Any]) -> None:
    client = signed_in(user("prov", "province"))
    html = page(client, f"/?district={province['B'].pk}")
    assert shown_locations(html) == {"L3"} and card(html, "visits-today") == 2
    html = page(client, f"/?office={province['O2'].pk}")
    assert shown_locations(html) == {"L2"} and card(html, "visits-today") == 1


def test_an_account_without_a_role_sees_nothing(province: dict[str, Any]) -> None:
    client = signed_in(user("nobody", None))
    html = page(client, "/")
    assert shown_locations(html) == set() and card(html, "visits-today") == 0
    assert client.get("/locations/L1/").status_code == 404
    assert csv_rows(client.get("/export/visits.csv")) == []


def test_a_location_page(province: dict[str, Any]) -> None:
    html = page(signed_in(user("prov", "province")), "/locations/L1/")
    assert card(html, "visits-today") == 4
    assert set(re.findall(r'data-device="([^"]+)"', html)) == {"g1", "g2"}
    assert chart(html, "visits-per-day")["counts"][-2:] == [1, 4]
    assert "0.1.0" in html  # g1's version, from its latest heartbeat


def test_the_chart_library_is_served_by_the_server(province: dict[str, Any]) -> None:
    from django.contrib.staticfiles import finders

    html = page(signed_in(user("prov", "province")), "/")
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts and all(s.startswith("/static/") for s in scripts)
    for script in scripts:
        found = finders.find(script.removeprefix("/static/"))
        assert found is not None, script
    assert "Chart.js v4" in Path(str(finders.find("vendor/chartjs/chart.umd.min.js"))).read_text()[:200]
    assert finders.find("vendor/chartjs/LICENSE.md") is not None


# -- exports -------------------------------------------------------------------------------------------------


def test_a_csv_export_is_masked_formula_safe_and_audited(province: dict[str, Any]) -> None:
    from server.province.models import AuditEntry
    from server.web.dashboard import EXPORT_COLUMNS

    client = signed_in(user("prov", "province"))
    reply = client.get(f"/export/visits.csv?from={TODAY}&to={TODAY}")
    assert reply["Content-Disposition"] == f'attachment; filename="visits-all-{TODAY}-{TODAY}.csv"'
    rows = csv_rows(reply)
    assert len(rows) == 7 and list(rows[0]) == list(EXPORT_COLUMNS)
    assert {r["id_number"] for r in rows} == {"••••1234"}
    assert {r["name"] for r in rows} == {"Nguyễn V. A", "'=."}  # the formula's mask is neutralised too
    assert [r["time"] for r in rows][:2] == ["2025-06-10 00:10:00", "2025-06-10 08:05:00"]
    assert {r["district"] for r in rows} == {"Huế", "Phong Điền"}
    (entry,) = AuditEntry.objects.all()
    assert entry.username == "prov" and entry.action == "export_visits"
    assert entry.detail == {
        "format": "csv",
        "date_from": TODAY,
        "date_to": TODAY,
        "district": None,
        "office": None,
        "location": None,
        "rows": 7,
    }


def test_an_account_with_full_identities_exports_them_formula_safe(province: dict[str, Any]) -> None:
    from server.province.models import AuditEntry

    client = signed_in(user("tracer", "province", full_identities=True))
    rows = csv_rows(client.get(f"/export/visits.csv?location=L1&from={TODAY}"))
    assert len(rows) == 4 and {r["id_number"] for r in rows} == {ID_NUMBER}
    assert {r["name"] for r in rows} == {NAME, "'" + FORMULA_NAME}
    (entry,) = AuditEntry.objects.all()
    assert entry.detail["location"] == "L1" and entry.detail["rows"] == 4
    assert ID_NUMBER not in json.dumps(entry.detail) and "Nguy" not in json.dumps(
        entry.detail, ensure_ascii=False
    )


def test_an_excel_export_opens_with_openpyxl(province: dict[str, Any]) -> None:
    from openpyxl import load_workbook

    from server.province.models import AuditEntry
    from server.web.dashboard import EXPORT_COLUMNS

    client = signed_in(user("huế", "district", district=province["A"]))
    reply = client.get(f"/export/visits.xlsx?district={province['A'].pk}&from={YESTERDAY}&to={TODAY}")
    assert reply.status_code == 200
    assert reply["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(reply.content), read_only=True)
    rows = list(book["visits"].iter_rows(values_only=True))
    book.close()
    assert rows[0] == EXPORT_COLUMNS
    assert len(rows) == 7  # header + L1's 4 today and 1 yesterday + L2's 1
    assert rows[1][0] == "2025-06-09 23:50:00" and rows[1][8] == "••••1234"
    assert "'=." in [r[9] for r in rows]
    (entry,) = AuditEntry.objects.all()
    assert entry.detail["format"] == "xlsx" and entry.detail["rows"] == 6
    assert entry.detail["district"] == province["A"].pk


@pytest.mark.parametrize(
    "query", ["from=10/06/2025", f"from={TODAY}&to={YESTERDAY}", "from=2024-01-01&to=2025-06-10"]
)
def test_a_bad_export_range_is_400_and_not_audited(query: str, province: dict[str, Any]) -> None:
    from server.province.models import AuditEntry

    reply = signed_in(user("prov", "province")).get(f"/export/visits.csv?{query}")
    assert reply.status_code == 400
    assert not AuditEntry.objects.exists()


# -- the commands: accounts, districts, offices, rosters -------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    import sys

    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        status = main(list(args))
    finally:
        sys.stdin = saved
    out, err = capsys.readouterr()
    return status, out, err


def test_districts_offices_and_accounts_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from server.province.models import Account, Office

    assert run(capsys, "district", "add", "Huế")[0] == 0
    assert run(capsys, "office", "add", "Sở Y tế", "--district", "Huế")[0] == 0
    office = Office.objects.get()
    status, out, _ = run(capsys, "office", "list")
    assert status == 0 and out.startswith(f"{office.pk}\tSở Y tế\tHuế")
    assert run(capsys, "district", "list")[1] == "Huế\t1 office(s)\n"

    args = ("account", "add", "clerk", "--role", "office", "--office", str(office.pk), "--password-stdin")
    assert run(capsys, *args, stdin=PASSWORD + "\n")[0] == 0
    account = Account.objects.select_related("user").get()
    assert account.role == "office" and account.office == office and account.district == office.district
    assert account.user.check_password(PASSWORD) and account.user.password.startswith("argon2$")
    status, out, _ = run(capsys, "account", "list")
    assert status == 0 and out.startswith("clerk\toffice Sở Y tế") and "\tactive\t" in out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("district", "add", "Huế"), "already exists"),
        (("office", "add", "X", "--district", "Nowhere"), "no district"),
        (("account", "add", "a", "--role", "district", "--password-stdin"), "--district"),
        (("account", "add", "a", "--role", "office", "--office", "999", "--password-stdin"), "no office"),
        (("account", "add", "a", "--role", "province", "--district", "Huế", "--password-stdin"), "province"),
        (("account", "add", "a", "--role", "province", "--password-stdin"), "password"),  # too short
        (("account", "disable", "nobody"), "no account"),
        (("office", "roster", "999", "none"), "no office"),
        (("location", "set", "L1", "--district-unit", "Nowhere"), "no district"),
        (("location", "set", "L1", "--office", "abc"), "office id"),
    ],
)
def test_bad_register_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], says: str
) -> None:
    run(capsys, "district", "add", "Huế")
    run(capsys, "location", "add", "L1", "--name", "Sở Y tế")
    status, _, err = run(capsys, *args, stdin="short\n")
    assert status == 2, err
    assert err.count("\n") == 1 and says in err and "Traceback" not in err


def test_an_office_roster_reaches_its_locations_configuration(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from kiosk.roster import Roster, RosterEntry, save_roster
    from server.province.configdoc import config_document
    from server.province.models import Location, Office

    run(capsys, "district", "add", "Huế")
    run(capsys, "district", "add", "Phong Điền")
    run(capsys, "office", "add", "Sở Y tế", "--district", "Huế")
    run(capsys, "location", "add", "L1", "--name", "Sở Y tế")
    office = Office.objects.get()
    kept = tmp_path / "roster.json"
    save_roster(Roster("k1", (RosterEntry("Nguyễn Văn An", "a" * 64, "••••1234"),)), kept)
    status, out, _ = run(capsys, "office", "roster", str(office.pk), str(kept))
    assert status == 0 and "1 staff" in out

    before = config_document(Location.objects.get())
    assert before["roster"] is None
    # An office but another district: refused, nothing changed.
    status, _, err = run(
        capsys, "location", "set", "L1", "--office", str(office.pk), "--district-unit", "Phong Điền"
    )
    assert status == 2 and "Huế" in err
    assert run(capsys, "location", "set", "L1", "--office", str(office.pk))[0] == 0
    location = Location.objects.select_related("office", "district_unit").get()
    assert location.office == office and location.district_unit == office.district  # the office's district
    after = config_document(location)
    assert after["roster"]["entries"][0]["masked_id"] == "••••1234" and after["etag"] != before["etag"]
    # A location's own roster comes first.
    own = tmp_path / "own.json"
    save_roster(Roster("k1", (RosterEntry("Trần Thị Bình", "b" * 64, "••••5678"),)), own)
    assert run(capsys, "location", "set", "L1", "--roster", str(own))[0] == 0
    assert config_document(Location.objects.get())["roster"]["entries"][0]["masked_id"] == "••••5678"


def test_an_office_roster_imported_from_a_csv_staff_list(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from server.province.models import Office

    run(capsys, "district", "add", "Huế")
    run(capsys, "office", "add", "Sở Y tế", "--district", "Huế")
    office = Office.objects.get()
    staff = tmp_path / "staff.csv"
    staff.write_text(f"Họ và tên,Số CCCD\n{NAME},{ID_NUMBER}\n", encoding="utf-8")
    status, _, err = run(capsys, "office", "roster", str(office.pk), str(staff))
    assert status == 2 and "--key-file" in err
    keys = tmp_path / "keys.json"
    secret = base64.b64encode(bytes(range(32))).decode()
    keys.write_text(json.dumps({"keys": [{"id": "hue-2025", "secret": secret}]}), encoding="utf-8")
    status, _, err = run(capsys, "office", "roster", str(office.pk), str(staff), "--key-file", str(keys))
    assert status == 0, err
    roster = Office.objects.get().roster
    assert roster["key_id"] == "hue-2025" and len(roster["entries"]) == 1
    assert roster["entries"][0]["name"] == NAME and ID_NUMBER not in json.dumps(roster)
