"""The province's web pages in a real browser: Debian's Chromium driven by Playwright (tests/browser_support.py)
against a real ``kiosk-server serve`` on a seeded province (50 locations, 30 days of visits, planted
violations, flags evaluated), with a province account (full identities), a district account and an office
account made by ``kiosk-server account add --password-stdin``.

What a user does, through the pages' own forms: signing in as each role (each sees only its locations), the
signs of violation filtered to one district, a flag marked handled with a note (and audited), a tracing
query and its CSV export, the dashboard's CSV export opened and checked, a citizen report sent without
signing in (and then listed with the signs of violation), and a location's QR board PDF downloaded and read
back with the kiosk's own decoder. Expected values come from the server's SQLite file, read with sqlite3.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests import server_support
from tests.browser_support import chromium_or_skip, launch

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # the server's TIME_ZONE: its days and hours
LOCATIONS = 50
DAYS = 30
#: Fewer public visits a day than the default 40: the seed takes half the time, the planted violations stay.
VISITS_PER_DAY = 10
PASSWORD = "browser-test-Hue-2026"
TIMEOUT_MS = 20_000


@dataclass(frozen=True)
class Province:
    url: str
    db: Path
    district_id: int
    district_name: str
    office_id: int
    planted: list[dict[str, str]]

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        connection = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def codes(self, where: str = "1", *params: Any) -> set[str]:
        sql = (
            "SELECT l.code FROM province_location l LEFT JOIN province_office o ON o.id = l.office_id "
            f"WHERE {where}"
        )
        return {row[0] for row in self.query(sql, *params)}

    def district_codes(self) -> set[str]:
        return self.codes("l.district_unit_id = ? OR o.district_id = ?", self.district_id, self.district_id)

    def office_codes(self) -> set[str]:
        return self.codes("l.office_id = ?", self.office_id)

    def audit(self, action: str, username: str) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT detail FROM province_auditentry WHERE action = ? AND username = ? ORDER BY id",
            action,
            username,
        )
        return [json.loads(row[0]) for row in rows]


def _cli(data_dir: Path, *args: str) -> None:
    done = server_support.run_cli(data_dir, *args, timeout_s=120)
    assert done.returncode == 0, f"kiosk-server {' '.join(args)}: {done.stdout}\n{done.stderr}"


def _add_account(data_dir: Path, username: str, *args: str) -> None:
    done = subprocess.run(
        [*server_support._kiosk_server(), "account", "add", username, *args, "--password-stdin"],
        env=server_support.server_env(data_dir),
        cwd=data_dir,
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"account add {username}: {done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Province]:
    chromium_or_skip()  # before the seed: no browser, no point in the server
    data_dir = tmp_path_factory.mktemp("browser-province")
    _cli(data_dir, "migrate")
    _cli(
        data_dir,
        "seed",
        "--locations",
        str(LOCATIONS),
        "--days",
        str(DAYS),
        "--visits-per-day",
        str(VISITS_PER_DAY),
    )
    _cli(data_dir, "flags", "evaluate", "--days", str(DAYS))
    db = data_dir / "server.sqlite3"
    # The district and office accounts: the office with the most locations, and its district.
    connection = sqlite3.connect(db)
    try:
        office_id, district_id, district_name = connection.execute(
            "SELECT o.id, d.id, d.name FROM province_office o JOIN province_district d ON d.id = o.district_id "
            "JOIN province_location l ON l.office_id = o.id GROUP BY o.id ORDER BY COUNT(l.id) DESC, o.id LIMIT 1"
        ).fetchone()
    finally:
        connection.close()
    _add_account(data_dir, "tinh", "--role", "province", "--full-identities")
    _add_account(data_dir, "huyen", "--role", "district", "--district", district_name)
    _add_account(data_dir, "coquan", "--role", "office", "--office", str(office_id))
    planted = json.loads((data_dir / "seed-planted.json").read_text(encoding="utf-8"))["planted"]
    with server_support.start_server(data_dir, workers=2) as server:
        yield Province(server.url, db, district_id, district_name, office_id, planted)


@pytest.fixture(scope="module")
def browser(province: Province) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (no cookies) in English, so a failure reads in the test's language."""
    ctx = browser.new_context(accept_downloads=True, locale="en-US", viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        yield ctx
    finally:
        ctx.close()


def _sign_in(context: Any, province: Province, username: str, password: str = PASSWORD) -> Any:
    page = context.new_page()
    page.goto(f"{province.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()
    return page


def _dashboard_codes(page: Any) -> set[str]:
    return set(
        page.locator("table.locations tbody tr.first").evaluate_all("rs => rs.map(r => r.dataset.location)")
    )


def _choices(page: Any, name: str) -> set[str]:
    """The values a dashboard filter offers, but "all"."""
    values = page.locator(f"select[name={name}] option").evaluate_all("os => os.map(o => o.value)")
    return {v for v in values if v}


def _last_working_day() -> date:
    """The seed's last working day (it ends yesterday): offices have few visits or none at weekends."""
    day = datetime.now(ZONE).date() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _utc_bounds(first: date, last: date) -> tuple[str, str]:
    """[start, end) of local days first…last, as the naive UTC text SQLite holds."""
    start = datetime.combine(first, datetime.min.time(), ZONE).astimezone(ZoneInfo("UTC"))
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), ZONE).astimezone(ZoneInfo("UTC"))
    return start.strftime("%Y-%m-%d %H:%M:%S"), end.strftime("%Y-%m-%d %H:%M:%S")


# -- signing in ----------------------------------------------------------------------------------------


def test_each_role_signs_in_and_sees_only_its_locations(context: Any, province: Province) -> None:
    every = province.codes()
    assert len(every) == LOCATIONS
    district, office = province.district_codes(), province.office_codes()
    assert 1 < len(office) < len(district) < len(every)

    page = _sign_in(context, province, "tinh", "not-the-password")
    assert page.url.endswith("/login/")
    assert page.locator("[role=alert]").count() == 1
    assert not page.locator("table.locations").count()

    all_districts = {str(row[0]) for row in province.query("SELECT id FROM province_district")}
    all_offices = {str(row[0]) for row in province.query("SELECT id FROM province_office")}
    district_offices = {
        str(row[0])
        for row in province.query(
            "SELECT id FROM province_office WHERE district_id = ?", province.district_id
        )
    }
    for username, expected, district_choices, office_choices in (
        ("tinh", every, all_districts, all_offices),
        ("huyen", district, {str(province.district_id)}, district_offices),
        ("coquan", office, set(), set()),  # one office: no filter at all
    ):
        context.clear_cookies()
        page = _sign_in(context, province, username)
        assert page.url == f"{province.url}/", username
        assert page.locator("header .who").inner_text() == username
        assert _dashboard_codes(page) == expected, username
        assert page.locator("#card-locations .value").inner_text() == str(len(expected))
        assert _choices(page, "district") == district_choices, username
        assert _choices(page, "office") == office_choices, username
        # The boards page lists the same locations, and another's board is a 404.
        page.goto(f"{province.url}/boards/")
        listed = page.locator("a[href$='.pdf']").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        assert {href.removeprefix("/boards/").removesuffix(".pdf") for href in listed} == expected
        outside = sorted(every - expected)
        if outside:
            assert page.request.get(f"{province.url}/boards/{outside[0]}.pdf").status == 404
    # The district account picks one of its offices with the filter.
    context.clear_cookies()
    page = _sign_in(context, province, "huyen")
    page.select_option("select[name=office]", str(province.office_id))
    page.click("form.filters:not(.export) button[type=submit]")
    page.wait_for_url(lambda url: f"office={province.office_id}" in url)
    assert _dashboard_codes(page) == office


# -- signs of violation --------------------------------------------------------------------------------


def test_flags_filtered_to_one_district(context: Any, province: Province) -> None:
    page = _sign_in(context, province, "tinh")
    page.goto(f"{province.url}/flags/?state=all")  # open or handled (another test handles one)
    rows = page.locator("tr.flag").evaluate_all(
        "rs => rs.map(r => [r.closest('section').id, r.dataset.rule, r.cells[0].innerText])"
    )
    planted = {(f"loc-{p['location']}", p["rule"], p["day"]) for p in province.planted}
    assert planted <= {tuple(row) for row in rows}  # every planted violation is listed, by rule and day

    page.goto(f"{province.url}/flags/")

    page.select_option("select[name=district]", label=province.district_name)
    page.click("form.filters button.primary")
    page.wait_for_url(f"**/flags/?district={province.district_id}*")
    shown = {
        s.removeprefix("loc-")
        for s in page.locator("section.location").evaluate_all("ss => ss.map(s => s.id)")
    }
    open_flags = province.query(
        "SELECT DISTINCT l.code FROM province_violationflag f JOIN province_location l ON l.id = f.location_id "
        "WHERE f.handled_at IS NULL AND f.day >= ?",
        (datetime.now(ZONE).date() - timedelta(days=30)).isoformat(),
    )
    expected = {row[0] for row in open_flags} & province.district_codes()
    assert expected, "the seed plants violations in the test's district"
    assert expected <= shown <= province.district_codes()
    for heading in page.locator("section.location h2").all_inner_texts():
        assert heading.endswith(f"({province.district_name})")
    assert page.locator("tr.flag").count() >= len(expected)


def test_district_account_marks_a_flag_handled(context: Any, province: Province) -> None:
    district = province.district_codes()
    placeholders = ",".join("?" * len(district))
    pk, code, rule, day = province.query(
        "SELECT f.id, l.code, f.rule, f.day FROM province_violationflag f "
        "JOIN province_location l ON l.id = f.location_id "
        f"WHERE f.handled_at IS NULL AND l.code IN ({placeholders}) ORDER BY f.day DESC, f.id LIMIT 1",
        *sorted(district),
    )[0]
    note = f"Called the office manager; board replaced ({uuid.uuid4().hex[:8]})"
    page = _sign_in(context, province, "huyen")
    page.goto(f"{province.url}/flags/?state=all")
    form = page.locator(f"form[action='/flags/{pk}/handled/']")
    form.locator("textarea[name=note]").fill(note)
    form.locator("button").click()
    page.wait_for_load_state()
    assert page.url.endswith("/flags/?state=all")
    assert not page.locator(f"form[action='/flags/{pk}/handled/']").count()
    row = page.locator(f"section#loc-{code} tr.flag[data-rule='{rule}']", has_text=note)
    assert row.count() == 1
    assert row.locator(".ok").count() == 1
    assert "huyen" in row.inner_text()
    assert page.locator(".messages .success").count() == 1

    handled_at, handled_by, stored_note = province.query(
        "SELECT f.handled_at, u.username, f.handled_note FROM province_violationflag f "
        "JOIN auth_user u ON u.id = f.handled_by_id WHERE f.id = ?",
        pk,
    )[0]
    assert handled_at and handled_by == "huyen" and stored_note == note
    entries = [e for e in province.audit("flag_handled", "huyen") if e["flag"] == pk]
    assert entries == [{"flag": pk, "rule": rule, "location": code, "day": day, "with_note": True}]


# -- tracing -------------------------------------------------------------------------------------------


def test_trace_query_and_its_csv_export(context: Any, province: Province, tmp_path: Path) -> None:
    last = _last_working_day()
    first = last - timedelta(days=6)
    start, end = _utc_bounds(first, last)
    # A person from the seed with a visit on the last day, at a location where others came too.
    id_number, name = province.query(
        "SELECT id_number, name FROM province_visit WHERE id_number IS NOT NULL AND event_time >= ? "
        "AND event_time < ? ORDER BY id LIMIT 1",
        *_utc_bounds(last, last),
    )[0]
    visits = province.query(
        "SELECT l.code, v.event_time FROM province_visit v JOIN province_location l ON l.id = v.location_id "
        "WHERE v.id_number = ? AND v.event_time >= ? AND v.event_time < ?",
        id_number,
        start,
        end,
    )
    assert visits

    page = _sign_in(context, province, "tinh")
    page.goto(f"{province.url}/trace/")
    page.fill("input[name=id_number]", id_number)
    page.fill("input[name=date_from]", first.isoformat())
    page.fill("input[name=date_to]", last.isoformat())
    page.fill("input[name=margin_min]", "15")
    page.click("#trace-form button[type=submit]")
    page.wait_for_selector("#trace-summary")
    visit_rows = page.locator("#trace-visits tbody tr:has(td)")
    assert visit_rows.count() == len(visits)
    for text in visit_rows.all_inner_texts():
        assert id_number in text and name in text  # a province account with full identities
    shown_codes = {t.split()[0] for t in visit_rows.locator("td:nth-child(2)").all_inner_texts()}
    assert shown_codes == {code for code, _ in visits}
    contacts = page.locator("tr.trace-contact td:first-child").all_inner_texts()
    assert contacts, "a seeded person meets others"
    assert id_number not in contacts

    with page.expect_download() as info:
        page.click("#trace-export button[value=csv]")
    download = info.value
    assert download.suggested_filename == f"trace-{first.isoformat()}-{last.isoformat()}.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with saved.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    person = [r for r in rows if r["row"] == "person"]
    assert len(person) == len(visits)
    assert {r["id_number"] for r in person} == {id_number}
    assert {r["name"] for r in person} == {name}
    assert {r["location"] for r in person} == {code for code, _ in visits}
    contact_rows = [r for r in rows if r["row"] == "contact"]
    assert {r["id_number"] for r in contact_rows} == set(contacts)
    assert all(r["window_start"] and r["window_end"] for r in contact_rows)

    query = province.audit("trace_query", "tinh")[-1]
    export = province.audit("trace_export", "tinh")[-1]
    assert query["first"] == export["first"] == first.isoformat()
    assert export["format"] == "csv" and export["rows"] == len(rows)
    assert id_number not in json.dumps([query, export], ensure_ascii=False)  # the hash, never the number


# -- exports -------------------------------------------------------------------------------------------


def test_district_dashboard_csv_export(context: Any, province: Province, tmp_path: Path) -> None:
    day = _last_working_day()
    page = _sign_in(context, province, "huyen")
    form = page.locator("form.export")
    form.locator("input[name=from]").fill(day.isoformat())
    form.locator("input[name=to]").fill(day.isoformat())
    with page.expect_download() as info:
        form.locator("button[type=submit]:not([formaction])").click()
    download = info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.name == f"visits-all-{day.isoformat()}-{day.isoformat()}.csv"
    assert saved.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    with saved.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    district = province.district_codes()
    placeholders = ",".join("?" * len(district))
    expected = province.query(
        "SELECT v.uuid FROM province_visit v JOIN province_location l ON l.id = v.location_id "
        f"WHERE l.code IN ({placeholders}) AND v.event_time >= ? AND v.event_time < ?",
        *sorted(district),
        *_utc_bounds(day, day),
    )
    assert rows and len(rows) == len(expected)
    assert {r["uuid"] for r in rows} == {row[0] for row in expected}
    assert {r["location"] for r in rows} <= district
    assert {r["district"] for r in rows} == {province.district_name}
    # A district account without full identities: masked ID numbers.
    for r in rows:
        if r["id_number"]:
            assert r["id_number"].startswith("••••") and len(r["id_number"]) == 8
    entry = province.audit("export_visits", "huyen")[-1]
    assert entry["format"] == "csv" and entry["rows"] == len(rows)
    assert entry["date_from"] == entry["date_to"] == day.isoformat()


# -- citizen reports -----------------------------------------------------------------------------------


def test_citizen_report_without_signing_in(context: Any, province: Province) -> None:
    code = sorted(province.district_codes())[-1]
    text = f"The QR code is faded, nobody can scan it ({uuid.uuid4().hex[:8]})"
    page = context.new_page()
    page.goto(f"{province.url}/report/?code={code}")
    assert page.locator("p.card").inner_text().count(code) == 1  # the board's link names the place
    assert page.locator("input[name=code]").input_value() == code
    page.check("input[name=problem][value=board_unreadable]")
    page.fill("textarea[name=text]", text)
    page.click("form.report button[type=submit]")
    page.wait_for_url("**/report/thanks/")
    assert page.locator("h1").inner_text() == "Thank you"
    assert province.query(
        "SELECT c.problem FROM province_citizenreport c JOIN province_location l ON l.id = c.location_id "
        "WHERE l.code = ? AND c.text = ?",
        code,
        text,
    ) == [("board_unreadable",)]

    page = _sign_in(context, province, "tinh")
    page.goto(f"{province.url}/flags/")
    report = page.locator(f"section#loc-{code} ul.reports li", has_text=text)
    assert report.count() == 1
    assert "QR board does not scan" in report.inner_text()


# -- QR boards -----------------------------------------------------------------------------------------


def test_qr_board_pdf_downloads_and_decodes(context: Any, province: Province, tmp_path: Path) -> None:
    import numpy as np
    import pypdfium2 as pdfium

    from kiosk.decode import Decoder, DecoderOptions

    code = sorted(province.office_codes())[0]
    page = _sign_in(context, province, "coquan")
    page.goto(f"{province.url}/boards/")
    link = page.locator(f"a[href='/boards/{code}.pdf']")
    with page.expect_download() as info:
        link.click(modifiers=["Alt"])  # Alt-click: the browser saves the link instead of opening it
    download = info.value
    saved = tmp_path / f"{code}.pdf"
    download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"%PDF-")

    document = pdfium.PdfDocument(data)
    try:
        assert len(document) == 1
        page_pdf = document[0]
        width_pt, height_pt = page_pdf.get_size()
        assert (round(width_pt / 72 * 25.4), round(height_pt / 72 * 25.4)) == (210, 297)  # A4
        bitmap = page_pdf.render(scale=2, grayscale=True)
        gray = np.ascontiguousarray(bitmap.to_numpy(), dtype=np.uint8).reshape(bitmap.height, bitmap.width)
        text = page_pdf.get_textpage().get_text_range()
    finally:
        document.close()
    with Decoder(DecoderOptions()) as decoder:
        texts = [symbol.text for symbol in decoder.decode(gray)]
    assert texts == [f"QRGATE:LOC:{code}"]
    assert code in text and "1900 1075" in text
    assert province.audit("board_download", "coquan")[-1] == {"location": code}
