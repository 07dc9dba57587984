"""Contact tracing on the provincial server (``server.province.tracing`` and the ``/trace/`` pages) on planted
overlaps in a temporary database: the margin, a visit across midnight, an unsynchronised kiosk clock, a
rotated identity key, name + birth year, role scoping, masking, the audit log and the exports."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from kiosk.identity import IdentityKey, IdentityKeyring
from kiosk.trace import COLUMNS, Period, Subject, TraceResult
from tests import server_support

VN = timezone(timedelta(hours=7))
DAY = date(2026, 11, 28)
PERSON = "046090001234"  # born 1990 (digit 4 = 0: 1900s, male; digits 5-6 = 90)
PERSON_NAME = "Nguyễn Văn An"
NEW_KEY = IdentityKey("hue-2026-2", b"n" * 32)
OLD_KEY = IdentityKey("hue-2026-1", b"o" * 32)
KEYRING = IdentityKeyring((NEW_KEY, OLD_KEY))
# Contacts, one per planted case
INSIDE = "046085000001"  # 5 minutes after the person left: inside the 15-minute margin
OUTSIDE = "046085000002"  # 15 minutes after the window closed
OTHER_PLACE = "046085000003"  # at the same time, another location
MIDNIGHT = "046085000004"  # 00:10 the next day, while the person was there from 23:55 to 00:20
BY_RECEIPT = "046085000005"  # near the server's receive time of an unsynchronised kiosk's visit
BY_WALL = "046085000006"  # near that visit's wrong wall time: must not be found
FOREIGN = "046085000007"  # at the other district's location


@pytest.fixture(scope="module", autouse=True)
def _django(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server_support.configure_django(tmp_path_factory)


def _empty() -> None:
    from django.contrib.auth.models import User

    from server.province.models import AuditEntry

    User.objects.all().delete()  # accounts first: they protect their districts
    AuditEntry.objects.all().delete()
    server_support.clean_database()


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    key_file = tmp_path / "identity.key"
    key_file.write_text(
        json.dumps(
            {"keys": [{"id": k.key_id, "secret": base64.b64encode(k.secret).decode()} for k in KEYRING.keys]}
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("KIOSK_SERVER_IDENTITY_KEY_FILE", str(key_file))
    _empty()
    yield
    _empty()


def at(day: date, hhmm: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN)


NEXT = DAY + timedelta(days=1)


class Province:
    """A planted province: two districts, their locations and one kiosk at each."""

    def __init__(self) -> None:
        from server.province.models import Device, District, Location, Office

        self.huong_thuy = District.objects.create(name="Hương Thủy")
        self.phong_dien = District.objects.create(name="Phong Điền")
        office = Office.objects.create(name="UBND Hương Thủy", district=self.huong_thuy)
        self.locations = {
            "HT-1": Location.objects.create(
                code="HT-1", name="Bộ phận một cửa", district_unit=self.huong_thuy, office=office
            ),
            "HT-2": Location.objects.create(code="HT-2", name="Trạm y tế", district_unit=self.huong_thuy),
            "PD-1": Location.objects.create(
                code="PD-1", name="Chợ Phong Điền", district_unit=self.phong_dien
            ),
        }
        self.devices = {
            code: Device.objects.create(device_id=f"gate-{code}", location=loc)
            for code, loc in self.locations.items()
        }
        self.seq = 0

    def visit(
        self,
        code: str,
        wall: datetime,
        id_number: str | None,
        name: str | None = "Trần Thị Bình",
        *,
        direction: str = "in",
        synchronised: bool = True,
        received: datetime | None = None,
        key: IdentityKey = NEW_KEY,
    ) -> None:
        """One visit stored through the upload path (``store_batch``), which sets its event time."""
        from server.province.ingest import store_batch

        self.seq += 1
        doc = server_support.visit_doc(
            f"gate-{code}",
            code,
            self.seq,
            kind="cccd" if id_number else "manual",
            identity_hash=key.hash(f"id:{id_number}") if id_number else None,
            identity_key_id=key.key_id if id_number else None,
            id_number=id_number,
            name=name,
            direction=direction,
            wall_time=wall,
            clock_synchronised=synchronised,
            monotonic_s=float(self.seq),
            manual=id_number is None,
        )
        result = store_batch(self.devices[code], [doc], now=received or wall + timedelta(minutes=2))
        assert result.results[0].status == "stored"

    def user(self, username: str, role: str, *, full: bool = False, district: Any = None) -> Any:
        from django.contrib.auth.models import User

        from server.province.models import Account

        user = User.objects.create_user(username, password="not-used-here-9f2c")
        Account.objects.create(user=user, role=role, district=district, full_identities=full)
        return user


@pytest.fixture
def province() -> Province:
    """The planted overlaps (Vietnam time)."""
    p = Province()
    # 1. A morning at HT-1: in 09:00, out 09:30 (the old key: hashed before the rotation) -> 08:45-09:45
    p.visit("HT-1", at(DAY, "09:00"), PERSON, PERSON_NAME, key=OLD_KEY)
    p.visit("HT-1", at(DAY, "09:30"), PERSON, PERSON_NAME, direction="out")
    p.visit("HT-1", at(DAY, "09:35"), INSIDE, "Lê Văn Cường")
    p.visit("HT-1", at(DAY, "09:44"), INSIDE, "Lê Văn Cường", direction="out")
    p.visit("HT-1", at(DAY, "10:00"), OUTSIDE, "Phạm Thị Dung")
    p.visit("HT-2", at(DAY, "09:10"), OTHER_PLACE, "Hoàng Văn Em")
    # 2. Across midnight at HT-1: 23:55 -> 00:20
    p.visit("HT-1", at(DAY, "23:55"), PERSON, PERSON_NAME)
    p.visit("HT-1", at(NEXT, "00:20"), PERSON, PERSON_NAME, direction="out")
    p.visit("HT-1", at(NEXT, "00:10"), MIDNIGHT, "Võ Thị Giang")
    # 3. An unsynchronised kiosk at HT-2: it says 03:00; the server received the visit at 14:00
    p.visit("HT-2", at(DAY, "03:00"), PERSON, PERSON_NAME, synchronised=False, received=at(DAY, "14:00"))
    p.visit("HT-2", at(DAY, "14:05"), BY_RECEIPT, "Đặng Văn Hải")
    p.visit("HT-2", at(DAY, "03:05"), BY_WALL, "Bùi Thị Hoa")
    # 4. The other district
    p.visit("PD-1", at(DAY, "11:00"), PERSON, PERSON_NAME)
    p.visit("PD-1", at(DAY, "11:05"), FOREIGN, "Ngô Văn Khoa")
    # Namesakes: another birth year, and a visit without a number: never the person by name + year
    p.visit("HT-1", at(DAY, "15:00"), "046091009999", PERSON_NAME)
    p.visit("HT-1", at(DAY, "16:00"), None, PERSON_NAME)
    return p


def run_trace(subject: Subject, locations: Any = None, margin_min: int = 15) -> TraceResult:
    from server.province.tracing import province_keyring, trace

    return trace(
        subject, Period(DAY, NEXT), timedelta(minutes=margin_min), locations, keyring=province_keyring()
    )


def contact_numbers(result: TraceResult) -> set[str]:
    return {c.id_number or "" for c in result.contacts}


# -- the query -------------------------------------------------------------------------------------------


def test_contacts_inside_the_margin_are_found_and_outside_it_are_not(province: Province) -> None:
    result = run_trace(Subject.parse(PERSON))
    # every visit of the person, across the key rotation, the unsynchronised clock and both districts
    assert len(result.visits) == 6
    assert {v.location for v in result.visits} == {"HT-1", "HT-2", "PD-1"}
    found = contact_numbers(result)
    assert INSIDE in found
    assert OUTSIDE not in found
    assert OTHER_PLACE not in found
    morning = next(w for w in result.windows if w.window.start == at(DAY, "08:45"))
    assert morning.window.end == at(DAY, "09:45")  # entry - margin .. exit + margin
    (inside,) = morning.contacts
    # one contact with both of the times they overlapped
    assert inside.id_number == INSIDE
    assert [v.time for v in inside.visits] == [at(DAY, "09:35"), at(DAY, "09:44")]
    # a smaller margin leaves the 09:44 exit out, not the person
    narrow = run_trace(Subject.parse(PERSON), margin_min=5)
    assert INSIDE in contact_numbers(narrow)
    assert at(DAY, "09:44") not in {v.time for c in narrow.contacts for v in c.visits}


def test_a_visit_straddling_midnight_finds_the_contact_on_the_next_day(province: Province) -> None:
    result = run_trace(Subject.parse(PERSON))
    night = next(w for w in result.windows if w.window.start == at(DAY, "23:40"))
    assert night.window.end == at(NEXT, "00:35")
    assert [c.id_number for c in night.contacts] == [MIDNIGHT]
    assert night.contacts[0].visits[0].day == NEXT
    days = dict(result.days)
    assert [v.time for v in days[NEXT]] == [at(NEXT, "00:20")]
    # asked for the first day only, the stay that began then still finds the contact after midnight
    from server.province.tracing import province_keyring, trace

    first_day = trace(
        Subject.parse(PERSON), Period(DAY, DAY), timedelta(minutes=15), keyring=province_keyring()
    )
    assert MIDNIGHT in contact_numbers(first_day)


def test_an_unsynchronised_kiosk_clock_is_placed_at_the_servers_receive_time(province: Province) -> None:
    result = run_trace(Subject.parse(PERSON))
    unsynced = next(v for v in result.visits if v.location == "HT-2")
    assert unsynced.time == at(DAY, "14:00")  # not the kiosk's 03:00
    found = contact_numbers(result)
    assert BY_RECEIPT in found
    assert BY_WALL not in found


def test_name_and_birth_year_match_folded_names_with_the_year_from_the_id_number(province: Province) -> None:
    result = run_trace(Subject.parse(name="NGUYEN  van an", birth_year="1990"))
    assert len(result.visits) == 6
    assert {v.id_number for v in result.visits} == {
        PERSON
    }  # not the 1991 namesake, not the one without a number
    assert INSIDE in contact_numbers(result) and MIDNIGHT in contact_numbers(result)
    assert not run_trace(Subject.parse(name="Nguyễn Văn An", birth_year="1989")).visits


def test_a_district_account_cannot_trace_into_another_districts_locations(province: Province) -> None:
    from server.web.scope import visible_locations

    official = province.user("ht-officer", "district", district=province.huong_thuy)
    result = run_trace(Subject.parse(PERSON), visible_locations(official))
    assert {v.location for v in result.visits} == {"HT-1", "HT-2"}
    assert FOREIGN not in contact_numbers(result)
    assert INSIDE in contact_numbers(result)
    everything = run_trace(Subject.parse(PERSON))
    assert FOREIGN in contact_numbers(everything)


def test_the_query_count_does_not_grow_with_the_number_of_visits(province: Province) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for day in range(1, 10):
        province.visit("HT-1", at(DAY - timedelta(days=day), "08:00"), PERSON, PERSON_NAME)
    with CaptureQueriesContext(connection) as queries:
        from server.province.tracing import province_keyring, trace

        result = trace(
            Subject.parse(PERSON),
            Period(DAY - timedelta(days=9), NEXT),
            timedelta(minutes=15),
            keyring=province_keyring(),
        )
    assert len(result.visits) == 15
    assert len(queries) <= 3  # the person's visits, the locations' ids, one OR'd range query for contacts


# -- the pages -------------------------------------------------------------------------------------------


def client_for(user: Any) -> Any:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/trace/").status_code == 200  # the form, and the CSRF cookie with it
    return client


def post(client: Any, path: str, **fields: str) -> Any:
    data = {"date_from": DAY.isoformat(), "date_to": NEXT.isoformat(), "margin_min": "15", **fields}
    data["csrfmiddlewaretoken"] = client.cookies["csrftoken"].value
    return client.post(path, data)


def test_the_pages_need_a_login_and_the_query_a_csrf_token(province: Province) -> None:
    from django.test import Client

    anonymous = Client(enforce_csrf_checks=True)
    reply = anonymous.get("/trace/")
    assert reply.status_code == 302 and reply["Location"].startswith("/login/")
    client = client_for(province.user("chief", "province", full=True))
    no_token = client.post(
        "/trace/", {"id_number": PERSON, "date_from": "2026-11-28", "date_to": "2026-11-29"}
    )
    assert no_token.status_code == 403
    bad = post(client, "/trace/", id_number="12345")
    assert bad.status_code == 400
    assert "12" in bad.content.decode()


def test_identities_are_full_for_tracing_officers_and_masked_for_others(province: Province) -> None:
    officer = client_for(province.user("chief", "province", full=True))
    page = post(officer, "/trace/", id_number=PERSON).content.decode()
    assert PERSON in page and INSIDE in page and "Lê Văn Cường" in page
    assert FOREIGN in page  # the province sees every district

    clerk = client_for(province.user("ht-clerk", "district", district=province.huong_thuy))
    reply = post(clerk, "/trace/", id_number=PERSON)
    assert reply.status_code == 200
    page = reply.content.decode()
    assert "••••1234" in page and "••••0001" in page and "Lê V. C" in page
    for full in (INSIDE, MIDNIGHT, "Lê Văn Cường", "Nguyễn Văn An"):
        assert full not in page
    # the number the clerk typed comes back only in the form's own fields (to re-run or export the query)
    assert page.count(PERSON) == page.count(f'value="{PERSON}"') == 2
    assert "••••0007" not in page  # the other district's contact


def test_every_query_and_export_is_audited_without_a_number_or_a_name(province: Province) -> None:
    from server.province.models import AuditEntry

    client = client_for(province.user("chief", "province", full=True))
    assert post(client, "/trace/", id_number=PERSON).status_code == 200
    assert post(client, "/trace/", name="nguyễn văn an", birth_year="1990").status_code == 200
    assert post(client, "/trace/export/", id_number=PERSON, format="csv").status_code == 200
    assert post(client, "/trace/export/", id_number=PERSON, format="xlsx").status_code == 200
    entries = list(AuditEntry.objects.order_by("at", "id"))
    assert [e.action for e in entries] == ["trace_query", "trace_query", "trace_export", "trace_export"]
    assert all(e.username == "chief" for e in entries)
    by_id, by_name, csv_entry, _xlsx_entry = (e.detail for e in entries)
    assert by_id["subject"] == f"{NEW_KEY.key_id}:{NEW_KEY.hash(f'id:{PERSON}')}"
    assert by_name["subject"] == "name+year"
    assert by_id["first"] == "2026-11-28" and by_id["last"] == "2026-11-29" and by_id["margin_min"] == 15
    assert by_id["visits"] == 6 and by_id["contacts"] == by_name["contacts"] >= 4
    assert csv_entry["format"] == "csv" and csv_entry["rows"] > 6
    text = json.dumps([e.detail for e in entries], ensure_ascii=False).casefold()
    for secret in (PERSON, INSIDE, MIDNIGHT, "nguyễn", "nguyen", "cường"):
        assert secret.casefold() not in text


def test_the_csv_export_holds_the_visits_and_the_contacts(province: Province) -> None:
    client = client_for(province.user("ht-clerk", "district", district=province.huong_thuy))
    reply = post(client, "/trace/export/", id_number=PERSON, format="csv")
    assert reply.status_code == 200
    assert reply["Content-Type"].startswith("text/csv")
    assert "attachment" in reply["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(reply.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS
    records = [dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]]
    person = [r for r in records if r["row"] == "person"]
    contacts = [r for r in records if r["row"] == "contact"]
    assert [r["time"] for r in person] == [
        "2026-11-28 09:00:00",
        "2026-11-28 09:30:00",
        "2026-11-28 14:00:00",
        "2026-11-28 23:55:00",
        "2026-11-29 00:20:00",
    ]
    assert {r["id_number"] for r in person} == {"••••1234"}
    assert {(r["id_number"], r["time"]) for r in contacts} == {
        ("••••0001", "2026-11-28 09:35:00"),
        ("••••0001", "2026-11-28 09:44:00"),
        ("••••0004", "2026-11-29 00:10:00"),
        ("••••0005", "2026-11-28 14:05:00"),
    }
    midnight = next(r for r in contacts if r["id_number"] == "••••0004")
    assert (midnight["window_start"], midnight["window_end"]) == (
        "2026-11-28 23:40:00",
        "2026-11-29 00:35:00",
    )


def test_the_excel_export_opens(province: Province) -> None:
    from openpyxl import load_workbook

    client = client_for(province.user("chief", "province", full=True))
    reply = post(client, "/trace/export/", id_number=PERSON, format="xlsx")
    assert reply.status_code == 200
    sheet = load_workbook(io.BytesIO(reply.content), read_only=True)["trace"]
    rows = [tuple(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == COLUMNS
    assert (PERSON, PERSON_NAME) in {(r[8], r[9]) for r in rows[1:] if r[0] == "person"}
    assert FOREIGN in {r[8] for r in rows[1:] if r[0] == "contact"}
