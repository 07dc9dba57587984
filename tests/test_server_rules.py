"""The signs-of-violation rules on a seeded province (server/province/seed.py, server/province/rules.py) and
their web page (server/web/flags.py), on a real SQLite database.

The province is seeded once for the module (50 locations, 30 days) and every day evaluated; the flags must be
exactly the planted violations, per rule, location and day: every planted one found, none on a clean
location-day."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import server_support

END = date(2026, 3, 27)  # a Friday
DAYS = 30
FIRST = END - timedelta(days=DAYS - 1)
#: when the rules run: well after the seeded days, so every day is complete
NOW = datetime(2026, 4, 2, 3, 0, tzinfo=UTC)
RULES = {
    "device_silent",
    "no_visits",
    "details_mismatch",
    "manual_share",
    "staff_compliance",
    "clock_unsynced",
}

Key = tuple[str, str, str]


@pytest.fixture(scope="module", autouse=True)
def _django(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server_support.configure_django(tmp_path_factory)


def _days() -> list[date]:
    return [FIRST + timedelta(days=n) for n in range(DAYS)]


def _evaluate_all() -> None:
    from server.province.rules import evaluate_day

    for day in _days():
        evaluate_day(day, now=NOW)


def _flags() -> set[Key]:
    from server.province.models import ViolationFlag

    return {
        (rule, code, day.isoformat())
        for rule, code, day in ViolationFlag.objects.values_list("rule", "location__code", "day")
    }


@pytest.fixture(scope="module")
def province(_django: Path) -> Iterator[dict[str, Any]]:
    from server.province.models import AuditEntry, RuleSettings
    from server.province.seed import seed_province

    server_support.clean_database()
    RuleSettings.objects.all().delete()
    result = seed_province(locations=50, days=DAYS, seed=7, end=END, visits_per_day=25, data_dir=_django)
    _evaluate_all()
    document = json.loads(result.planted_path.read_text(encoding="utf-8"))
    yield document
    server_support.clean_database()  # flags go with their locations
    AuditEntry.objects.all().delete()
    RuleSettings.objects.all().delete()


def _planted(document: dict[str, Any]) -> set[Key]:
    return {(p["rule"], p["location"], p["day"]) for p in document["planted"]}


# -- the rules on the seeded province ----------------------------------------------------------------------


def test_the_seed_plants_every_rule_at_two_locations_or_more_and_leaves_most_clean(
    province: dict[str, Any],
) -> None:
    planted = _planted(province)
    for rule in RULES:
        assert len({code for r, code, _ in planted if r == rule}) >= 2, rule
    dirty = {code for _, code, _ in planted}
    assert len(province["locations"]) >= 50
    assert len(dirty) < len(province["locations"]) / 2


def test_flags_are_exactly_the_planted_violations(province: dict[str, Any]) -> None:
    flags, planted = _flags(), _planted(province)
    for rule in sorted(RULES):
        found = {k for k in flags if k[0] == rule}
        wanted = {k for k in planted if k[0] == rule}
        assert found == wanted, f"{rule}: missed {wanted - found}, not planted {found - wanted}"


def test_each_flag_carries_its_evidence(province: dict[str, Any]) -> None:
    from server.province.models import ViolationFlag

    evidence = {
        (f.rule, f.location.code): f.evidence for f in ViolationFlag.objects.select_related("location")
    }
    silent = [ev for (rule, _), ev in evidence.items() if rule == "device_silent"]
    assert all(
        d["longest_gap_min"] >= 150 and ev["threshold_min"] == 60 for ev in silent for d in ev["devices"]
    )
    staff = [ev for (rule, _), ev in evidence.items() if rule == "staff_compliance"]
    assert all(ev["roster"] - ev["scanned"] == 3 == len(ev["missing"]) for ev in staff)
    assert all(m["masked_id"].startswith("••••") for ev in staff for m in ev["missing"])
    mismatch = [ev for (rule, _), ev in evidence.items() if rule == "details_mismatch"]
    assert all(d["kiosk"] != d["register"] for ev in mismatch for d in ev["differences"])
    manual = [ev for (rule, _), ev in evidence.items() if rule == "manual_share"]
    assert all(ev["share"] > 0.3 and ev["visits"] >= 10 for ev in manual)
    clock = [ev for (rule, _), ev in evidence.items() if rule == "clock_unsynced"]
    assert all(ev["unsynchronised_visits"] > 0 and ev["devices"][0]["max_offset_s"] > 300 for ev in clock)


def test_not_scanned_lists_exactly_the_planted_absentees(province: dict[str, Any]) -> None:
    from server.province.models import Location
    from server.province.rules import not_scanned

    absent = {(a["location"], a["day"]): set(a["identity_hashes"]) for a in province["absentees"]}
    assert any(len(hashes) == 3 for hashes in absent.values())  # the planted days
    assert any(len(hashes) == 1 for hashes in absent.values())  # single absences, above the threshold
    for (code, day), hashes in absent.items():
        location = Location.objects.get(code=code)
        assert {e.identity_hash for e in not_scanned(location, date.fromisoformat(day))} == hashes
        assert {e.identity_hash for e in not_scanned(location.office, date.fromisoformat(day))} == hashes
    # A main gate on a working day without absences: everyone scanned.
    some_day = next(d for d in _days() if d.weekday() == 2 and (("HUE-0001", d.isoformat()) not in absent))
    assert not_scanned(Location.objects.get(code="HUE-0001"), some_day) == []


def test_re_evaluating_is_idempotent_and_keeps_handled_flags_handled(province: dict[str, Any]) -> None:
    from server.province.models import RuleSettings, ViolationFlag
    from server.province.rules import evaluate_day

    flag = ViolationFlag.objects.filter(rule="device_silent").order_by("day").first()
    assert flag is not None
    ViolationFlag.objects.filter(pk=flag.pk).update(handled_at=NOW, handled_note="technician sent")
    before = _flags()
    again = evaluate_day(flag.day, now=NOW)
    assert (again.created, again.updated, again.removed) == (0, 0, 0)
    assert _flags() == before
    # A new threshold changes the evidence; the flag stays handled.
    RuleSettings.objects.create(thresholds={"device_silent_min": 90})
    try:
        changed = evaluate_day(flag.day, now=NOW)
        kept = ViolationFlag.objects.get(pk=flag.pk)
        assert changed.updated >= 1
        assert kept.evidence["threshold_min"] == 90
        assert kept.handled_at == NOW and kept.handled_note == "technician sent"
        # A threshold under which the flag no longer holds: a handled flag is kept, as it was.
        RuleSettings.objects.update(thresholds={"device_silent_min": 600})
        evaluate_day(flag.day, now=NOW)
        assert ViolationFlag.objects.get(pk=flag.pk).handled_at == NOW
    finally:
        RuleSettings.objects.all().delete()
        ViolationFlag.objects.filter(pk=flag.pk).update(handled_at=None, handled_note="")
        evaluate_day(flag.day, now=NOW)
    assert _flags() == before


def test_thresholds_from_rule_settings_change_the_result(province: dict[str, Any]) -> None:
    from server.province.models import RuleSettings
    from server.province.rules import evaluate_day

    planted = _planted(province)
    manual_days = sorted({date.fromisoformat(day) for rule, _, day in planted if rule == "manual_share"})
    strict_day = manual_days[0]
    RuleSettings.objects.create(thresholds={"manual_share_max": 0.9, "clock_offset_max_s": 0.01})
    try:
        for day in manual_days:
            evaluate_day(day, now=NOW)
        flags = _flags()
        assert not {k for k in flags if k[0] == "manual_share"}  # 50 % is now allowed
        # Every kiosk reports an offset above 0.01 s: every location with heartbeats that day is flagged.
        assert len({k for k in flags if k[0] == "clock_unsynced" and k[2] == strict_day.isoformat()}) > 20
    finally:
        RuleSettings.objects.all().delete()
        for day in manual_days:
            evaluate_day(day, now=NOW)
    assert _flags() == planted


def test_bad_thresholds_are_refused_with_the_key_and_what_is_accepted() -> None:
    from server.errors import RegisterError
    from server.province.rules import Thresholds

    assert Thresholds.from_settings({"manual_share_max": 0.5}).manual_share_max == 0.5
    with pytest.raises(RegisterError, match=r"manual_share_max=2.*from 0 to 1"):
        Thresholds.from_settings({"manual_share_max": 2})
    with pytest.raises(RegisterError, match=r"'silence'.*device_silent_min"):
        Thresholds.from_settings({"silence": 5})
    with pytest.raises(RegisterError, match="whole number"):
        Thresholds.from_settings({"manual_share_min_visits": 2.5})


def test_device_silent_counts_only_office_hours() -> None:
    from server.province.rules import PROVINCE_TZ, DeviceDay, OfficeHours, Thresholds, device_silent

    t = Thresholds()
    hours = OfficeHours.parse(None, t)
    day = date(2026, 3, 25)  # a Wednesday
    at = [datetime(2026, 3, 25, h, m, tzinfo=PROVINCE_TZ) for h in range(7, 18) for m in (0, 30)]
    evening_gap = [b for b in at if b.hour < 12] + [datetime(2026, 3, 25, 20, 0, tzinfo=PROVINCE_TZ)]
    later = datetime(2026, 3, 27, tzinfo=PROVINCE_TZ)
    since = datetime(2026, 3, 1, tzinfo=PROVINCE_TZ)
    assert device_silent([DeviceDay("k", since, None, tuple(at))], hours, day, later, t) is None
    found = device_silent([DeviceDay("k", since, None, tuple(evening_gap))], hours, day, later, t)
    assert found is not None
    assert found["devices"][0]["from"] == "11:30" and found["devices"][0]["to"] == "17:00"
    assert device_silent([DeviceDay("k", since, None, ())], hours, date(2026, 3, 28), later, t) is None  # Sat


def test_seeding_again_is_refused_unless_forced(province: dict[str, Any], _django: Path) -> None:
    from server.errors import RegisterError
    from server.province.seed import seed_province

    with pytest.raises(RegisterError, match=r"already holds.*--force"):
        seed_province(locations=50, days=DAYS, seed=7, end=END, data_dir=_django)


# -- the web page ------------------------------------------------------------------------------------------


def _user(username: str, role: str, district: Any = None) -> Any:
    from django.contrib.auth.models import User

    from server.province.models import Account

    user = User.objects.create_user(username, password="not-used-here")
    Account.objects.create(user=user, role=role, district=district)
    return user


def _client(user: Any) -> Any:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.fixture
def district_user(province: dict[str, Any]) -> Iterator[Any]:
    from django.contrib.auth.models import User

    from server.province.models import District

    user = _user("phuvang", "district", District.objects.get(name="Phú Vang"))
    yield user
    User.objects.filter(pk=user.pk).delete()


def _district_codes(name: str) -> set[str]:
    from server.province.models import Location

    return set(Location.objects.filter(district_unit__name=name).values_list("code", flat=True))


def test_a_district_account_sees_only_its_own_districts_flags(
    province: dict[str, Any], district_user: Any
) -> None:
    reply = _client(district_user).get(
        "/flags/", {"state": "all", "start": FIRST.isoformat(), "end": END.isoformat()}
    )
    assert reply.status_code == 200
    shown = set(re.findall(r'id="loc-(HUE-\d+)"', reply.content.decode()))
    mine = _district_codes("Phú Vang")
    expected = {code for _, code, _ in _planted(province)} & mine
    assert expected, "the seed plants a violation in Phú Vang"
    assert shown == expected


def test_marking_a_flag_handled_needs_csrf_and_is_audited(
    province: dict[str, Any], district_user: Any
) -> None:
    from server.province.models import AuditEntry, ViolationFlag
    from server.province.rules import evaluate_day

    mine = _district_codes("Phú Vang")
    flag = ViolationFlag.objects.filter(location__code__in=mine).order_by("pk").first()
    other = ViolationFlag.objects.exclude(location__code__in=mine).order_by("pk").first()
    assert flag is not None and other is not None
    client = _client(district_user)
    try:
        refused = client.post(f"/flags/{flag.pk}/handled/", {"note": "no token"})
        assert refused.status_code == 403
        assert ViolationFlag.objects.get(pk=flag.pk).handled_at is None

        page = client.get("/flags/", {"state": "open", "start": FIRST.isoformat(), "end": END.isoformat()})
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
        assert token is not None
        done = client.post(
            f"/flags/{flag.pk}/handled/", {"note": "kiosk restarted", "csrfmiddlewaretoken": token[1]}
        )
        assert done.status_code == 302
        handled = ViolationFlag.objects.get(pk=flag.pk)
        assert handled.handled_at is not None and handled.handled_note == "kiosk restarted"
        assert handled.handled_by_id == district_user.pk
        entry = AuditEntry.objects.get(action="flag_handled")
        assert entry.user_id == district_user.pk and entry.detail["flag"] == flag.pk
        # Another district's flag does not exist for this account.
        assert (
            client.post(f"/flags/{other.pk}/handled/", {"csrfmiddlewaretoken": token[1]}).status_code == 404
        )
        assert ViolationFlag.objects.get(pk=other.pk).handled_at is None
        # Handled flags leave the open list and stay handled when the day is evaluated again.
        evaluate_day(flag.day, now=NOW)
        assert ViolationFlag.objects.get(pk=flag.pk).handled_at is not None
    finally:
        ViolationFlag.objects.filter(pk=flag.pk).update(handled_at=None, handled_by=None, handled_note="")
        AuditEntry.objects.all().delete()


def test_the_staff_report_and_its_csv_export(province: dict[str, Any], district_user: Any) -> None:
    from server.province.models import AuditEntry

    mine = _district_codes("Phú Vang")
    absent = [a for a in province["absentees"] if a["location"] in mine]
    assert absent, "the seed has absences in Phú Vang"
    day = absent[0]["day"]
    wanted = {a["location"]: len(a["identity_hashes"]) for a in absent if a["day"] == day}
    client = _client(district_user)
    page = client.get("/flags/staff/", {"day": day})
    assert page.status_code == 200
    reply = client.get("/flags/staff/", {"day": day, "format": "csv"})
    assert reply.status_code == 200 and reply["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))
    per_location: dict[str, int] = {}
    for row in rows:
        per_location[row["location"]] = per_location.get(row["location"], 0) + 1
        assert row["masked_id"].startswith("••••") and row["day"] == day
    assert per_location == wanted
    entry = AuditEntry.objects.get(action="staff_report_export")
    assert entry.detail == {"day": day, "district": "", "rows": len(rows)}
    AuditEntry.objects.all().delete()
