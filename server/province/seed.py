"""Layer: server. ``kiosk-server seed``: a deterministic demo province with planted signs of violation.

    kiosk-server seed [--locations 50] [--days 30] [--seed 1] [--end YYYY-MM-DD] [--visits-per-day 40]
                      [--key-file FILE] [--force]

The nine districts of Thừa Thiên Huế, offices with staff rosters, ``--locations`` locations (codes
``HUE-0001`` …; every fifth is an office's second gate, every tenth keeps Saturday-morning hours) each with one
kiosk, heartbeats every ~10 minutes during office hours, and ``--days`` days of visits up to ``--end``
(default: yesterday in the province) with Vietnamese names and keyed identity hashes (``DEMO_KEYRING`` unless
``--key-file`` names the province's key file). The same ``--seed`` gives the same province, row for row.

Planted: for each rule of ``server.province.rules`` at least two locations, each on one working day (a
location carries at most one planted violation; the others stay clean), plus a few single absences that stay
above the staff-compliance threshold. The list goes to ``<data dir>/seed-planted.json``::

    {"seed": 1, "end": "…", "days": 30, "key_id": "demo",
     "planted": [{"rule": "no_visits", "location": "HUE-0005", "day": "2026-11-03"}, …],
     "absentees": [{"location": "HUE-0001", "day": "…", "identity_hashes": […]}, …]}

``absentees`` lists every roster member who did not scan, per office (its main gate) and working day: what
``rules.not_scanned`` must answer. Seeding refuses when ``HUE-`` locations exist already (a seeded province);
``--force`` adds another set numbered after them (and rewrites the planted list for that set). No national
forwarding items are queued for seeded visits: demo data is never sent onward.
"""

# ruff: noqa: PLC0415

from __future__ import annotations

import argparse
import json
import random
import time as monotime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final

from kiosk.identity import DEMO_KEYRING, IdentityKeyring
from kiosk.model import mask_id
from server.errors import RegisterError

DISTRICTS: Final = (
    ("Thành phố Huế", ("Phường Phú Hội", "Phường Vĩnh Ninh", "Phường Thuận Thành", "Phường Đông Ba")),
    ("Phong Điền", ("Thị trấn Phong Điền", "Xã Phong An", "Xã Điền Hải")),
    ("Quảng Điền", ("Thị trấn Sịa", "Xã Quảng Phước", "Xã Quảng Thọ")),
    ("Phú Vang", ("Thị trấn Thuận An", "Xã Phú Thượng", "Xã Phú Đa")),
    ("Hương Thủy", ("Phường Phú Bài", "Phường Thủy Dương", "Xã Thủy Phù")),
    ("Hương Trà", ("Phường Tứ Hạ", "Phường Hương Chữ", "Xã Hương Toàn")),
    ("A Lưới", ("Thị trấn A Lưới", "Xã Hồng Kim", "Xã A Ngo")),
    ("Phú Lộc", ("Thị trấn Phú Lộc", "Thị trấn Lăng Cô", "Xã Lộc Trì")),
    ("Nam Đông", ("Thị trấn Khe Tre", "Xã Hương Phú", "Xã Thượng Lộ")),
)
OFFICE_KINDS: Final = (
    "UBND {ward}",
    "Trạm Y tế {ward}",
    "Bưu điện {ward}",
    "Trường THCS {ward}",
    "Chi cục Thuế {district}",
    "Bảo hiểm xã hội {district}",
    "Ngân hàng Agribank chi nhánh {district}",
    "Siêu thị {ward}",
)
STREETS: Final = (
    "Lê Lợi",
    "Hùng Vương",
    "Trần Hưng Đạo",
    "Nguyễn Huệ",
    "Bà Triệu",
    "Điện Biên Phủ",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Phan Đình Phùng",
    "Nguyễn Tất Thành",
)
FAMILY: Final = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
MIDDLE: Final = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quang", "Thị Thu", "Công")
GIVEN: Final = (
    "An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Hoa", "Hùng", "Hương", "Lan", "Linh",
    "Long", "Mai", "Nam", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến",
)  # fmt: skip
GROUPS: Final = ("Văn phòng", "Chuyên môn", "Kế toán", "Một cửa")
RULES: Final = (
    "device_silent",
    "no_visits",
    "details_mismatch",
    "manual_share",
    "staff_compliance",
    "clock_unsynced",
)
CODE_PREFIX: Final = "HUE-"
PLANTED_FILE: Final = "seed-planted.json"
BATCH: Final = 5000
HEARTBEAT_EVERY_S: Final = 600
SILENT_GAP_MIN: Final = 150
CLOCK_BEHIND_S: Final = 2 * 3600
MIN_LOCATIONS: Final = 20
ROSTER_FORMAT: Final = "qr-gate-kiosk roster 1"
DEFAULT_HOURS: Final = ((0, 1, 2, 3, 4), time(7, 30), time(17, 0))
SATURDAY_HOURS: Final = {"days": [0, 1, 2, 3, 4, 5], "open": "07:00", "close": "11:30"}
_UUID_NS: Final = uuid.UUID("6f1c1c44-6d43-4b57-9c8e-2f7f5d4d8a10")


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    id_number: str


@dataclass(slots=True)
class _Place:
    index: int
    code: str
    name: str
    address: str
    district: str
    ward: str
    office_index: int
    main_gate: bool
    hours: tuple[tuple[int, ...], time, time]
    office_hours_doc: dict[str, Any] | None
    plant: tuple[str, date] | None = None
    staff: tuple[Person, ...] = ()
    seq: int = 0


@dataclass(frozen=True, slots=True)
class SeedResult:
    locations: int
    offices: int
    visits: int
    heartbeats: int
    planted: tuple[dict[str, str], ...]
    absentees: tuple[dict[str, Any], ...]
    planted_path: Path
    seconds: float = 0.0
    codes: tuple[str, ...] = field(default=())


def _person(rng: random.Random, born_after_2000: bool = False) -> Person:
    female = rng.random() < 0.5
    family, given = rng.choice(FAMILY), rng.choice(GIVEN)
    middle = "Thị" if female and rng.random() < 0.7 else rng.choice(MIDDLE)
    century = (2 if born_after_2000 else 0) + (1 if female else 0)
    year = rng.randrange(0, 8) if born_after_2000 else rng.randrange(50, 100)
    # 046: Thừa Thiên Huế's province code; then sex and century, year of birth, six digits.
    digits = f"046{century}{year:02d}{rng.randrange(1_000_000):06d}"
    return Person(f"{family} {middle} {given}", digits)


def _working_days(place: _Place, first: date, last: date) -> list[date]:
    days, _, _ = place.hours
    out, day = [], first
    while day <= last:
        if day.weekday() in days:
            out.append(day)
        day += timedelta(days=1)
    return out


def _roster_document(staff: Sequence[Person], keyring: IdentityKeyring, rng: random.Random) -> dict[str, Any]:
    """``kiosk.roster.save_roster``'s document, as ``kiosk-server office`` keeps it."""
    key = keyring.current
    entries = [
        {
            "name": p.name,
            "identity_hash": key.hash(f"id:{p.id_number}"),
            "masked_id": mask_id(p.id_number),
            "group": rng.choice(GROUPS),
        }
        for p in staff
    ]
    return {
        "format": ROSTER_FORMAT,
        "key_id": key.key_id,
        "hashes": sorted({e["identity_hash"] for e in entries}),
        "entries": entries,
    }


def _local(day: date, at: time, tz: Any) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


class _Builder:
    """Builds the rows of one seeded province; ``rng`` is the only source of variation."""

    def __init__(self, rng: random.Random, keyring: IdentityKeyring, tz: Any, visits_per_day: int) -> None:
        self.rng = rng
        self.keyring = keyring
        self.tz = tz
        self.visits_per_day = visits_per_day
        self.citizens = [_person(rng, born_after_2000=rng.random() < 0.3) for _ in range(3000)]
        self.hash_cache: dict[str, str] = {}

    def identity(self, person: Person) -> str:
        digest = self.hash_cache.get(person.id_number)
        if digest is None:
            digest = self.keyring.hash(f"id:{person.id_number}")
            self.hash_cache[person.id_number] = digest
        return digest

    def heartbeats(self, place: _Place, device: Any, day: date, register: dict[str, str]) -> list[Any]:
        from server.province.models import Heartbeat

        rng, plant = self.rng, place.plant
        _, opening, closing = place.hours
        moment = _local(day, opening, self.tz) + timedelta(seconds=rng.randrange(0, 180))
        end = _local(day, closing, self.tz) + timedelta(minutes=5)
        gap: tuple[datetime, datetime] | None = None
        if plant == ("device_silent", day):
            gap_start = _local(day, opening, self.tz) + timedelta(minutes=60)
            gap = (gap_start, gap_start + timedelta(minutes=SILENT_GAP_MIN))
        location = dict(register)
        if plant == ("details_mismatch", day):
            # Alternate which detail is wrong: an old name on one board, a wrong address on another.
            if place.index % 2:
                location["name"] = register["name"] + " (cũ)"
            else:
                location["address"] = "Số 1 " + rng.choice(STREETS) + ", " + place.ward
        unsynced = plant == ("clock_unsynced", day)
        rows: list[Any] = []
        while moment < end:
            if gap is None or not gap[0] <= moment < gap[1]:
                offset = CLOCK_BEHIND_S + rng.uniform(0, 30) if unsynced else rng.uniform(0.05, 1.5)
                received = moment.astimezone(UTC)
                rows.append(
                    Heartbeat(
                        device=device,
                        received_at=received,
                        sent_at=received - timedelta(seconds=offset),
                        clock_offset_s=offset,
                        payload={
                            "sent_at": (received - timedelta(seconds=offset)).isoformat(),
                            "clock_synchronised": not unsynced,
                            "version": "0.1.0",
                            "camera_state": "running",
                            "frame_rate": round(rng.uniform(9.0, 15.0), 1),
                            "decode_ms_p50": round(rng.uniform(8.0, 25.0), 1),
                            "backlog": rng.randrange(0, 3),
                            "oldest_pending_at": None,
                            "parked": 0,
                            "disk_free_mb": round(rng.uniform(8000, 12000), 1),
                            "location": location,
                        },
                    )
                )
            moment += timedelta(seconds=HEARTBEAT_EVERY_S + rng.uniform(-30, 30))
        return rows

    def visits(self, place: _Place, device: Any, day: date, absent: set[str]) -> list[Any]:
        """The day's visits at ``place``: its staff arriving (but the ``absent`` identity hashes), then the
        public; planted days shaped to their rule."""
        rng, plant = self.rng, place.plant
        if plant == ("no_visits", day):
            return []
        _, opening, closing = place.hours
        start = _local(day, opening, self.tz)
        span_s = int((_local(day, closing, self.tz) - start).total_seconds())
        items: list[tuple[datetime, Person, str]] = []
        for person in place.staff:
            if self.identity(person) not in absent:
                arrival = start + timedelta(seconds=rng.randrange(-20 * 60, 30 * 60))
                items.append((arrival, person, "staff"))
        base = self.visits_per_day if place.main_gate else max(3, self.visits_per_day // 2)
        count = max(1, round(base * rng.uniform(0.75, 1.25)))
        manual_share = plant == ("manual_share", day)
        if manual_share:
            count = max(count, 24)
        for _ in range(count):
            items.append(
                (start + timedelta(seconds=rng.randrange(span_s)), rng.choice(self.citizens), "public")
            )
        items.sort(key=lambda item: item[0])
        public = [i for i, item in enumerate(items) if item[2] == "public"]
        if manual_share:
            manual_n = len(items) // 2 + 1
        else:  # clean: a few, never near the threshold
            manual_n = min(int(len(items) * 0.05 + rng.random()), len(items) // 5)
        chosen = set(rng.sample(public, min(manual_n, len(public))))
        overrides = {i for i in chosen if rng.random() < 0.3}
        unsynced = plant == ("clock_unsynced", day)
        rows = []
        for i, (moment, person, _) in enumerate(items):
            place.seq += 1
            rows.append(self.visit(place, device, moment, person, i in chosen, i in overrides, unsynced))
        return rows

    def visit(
        self,
        place: _Place,
        device: Any,
        moment: datetime,
        person: Person,
        manual: bool,
        override: bool,
        unsynced: bool,
    ) -> Any:
        from kiosk.sync.protocol import content_hash
        from server.province.ingest import canonical
        from server.province.models import Visit

        rng = self.rng
        received = moment + timedelta(seconds=rng.uniform(2, 90))
        wall = moment - timedelta(seconds=CLOCK_BEHIND_S) if unsynced else moment
        kind, reason, guard, note = "cccd", "ok", None, None
        original: tuple[str | None, str | None] = (None, None)
        if manual and override:
            reason, guard, note, original = (
                "guard_override",
                "Bảo vệ Lê Văn Tám",
                "quên mang thẻ",
                ("refused", "bad_id"),
            )
        elif manual:
            kind, reason, guard = "manual", "manual_entry", "Bảo vệ Lê Văn Tám"
        doc = {
            "uuid": str(uuid.uuid5(_UUID_NS, f"{device.device_id}:{place.seq}")),
            "seq": place.seq,
            "device_id": device.device_id,
            "location_code": place.code,
            "kind": kind,
            "identity_hash": self.identity(person),
            "identity_key_id": self.keyring.current.key_id,
            "id_number": person.id_number,
            "name": person.name,
            "direction": "in",
            "outcome": "granted",
            "reason": reason,
            "wall_time": wall,
            "clock_synchronised": not unsynced,
            "boot_id": f"boot-{device.device_id}",
            "monotonic_s": float(place.seq),
            "privacy_notice_version": "1",
            "manual": manual and not override,
            "warnings": [],
            "guard": guard,
            "note": note,
            "original_outcome": original[0],
            "original_reason": original[1],
            "overrides_uuid": None,
        }
        canon = canonical(doc)
        return Visit(
            uuid=doc["uuid"],
            device=device,
            location_id=device.location_id,
            kiosk_location_code=place.code,
            seq=place.seq,
            kind=kind,
            identity_hash=doc["identity_hash"],
            identity_key_id=doc["identity_key_id"],
            id_number=person.id_number,
            name=person.name,
            direction="in",
            outcome="granted",
            reason=reason,
            wall_time=wall,
            clock_synchronised=not unsynced,
            boot_id=doc["boot_id"],
            monotonic_s=doc["monotonic_s"],
            privacy_notice_version="1",
            manual=doc["manual"],
            warnings=[],
            guard=guard,
            note=note,
            original_outcome=original[0],
            original_reason=original[1],
            received_at=received,
            event_time=moment if not unsynced else received,
            content_hash=content_hash(canon),
        )


def _places(rng: random.Random, count: int, first_number: int) -> list[_Place]:
    places: list[_Place] = []
    office_index = -1
    for i in range(count):
        district, wards = DISTRICTS[i % len(DISTRICTS)]
        second_gate = i % 5 == 4 and places
        if second_gate:
            prev = places[-1]
            name, address, ward, district = prev.name + " - cổng phụ", prev.address, prev.ward, prev.district
        else:
            office_index += 1
            ward = rng.choice(wards)
            name = rng.choice(OFFICE_KINDS).format(ward=ward, district=district)
            address = f"{rng.randrange(1, 300)} {rng.choice(STREETS)}, {ward}, {district}"
        saturday = i % 10 == 7
        places.append(
            _Place(
                index=i,
                code=f"{CODE_PREFIX}{first_number + i:04d}",
                name=name,
                address=address,
                district=district,
                ward=ward,
                office_index=office_index,
                main_gate=not second_gate,
                hours=((0, 1, 2, 3, 4, 5), time(7, 0), time(11, 30)) if saturday else DEFAULT_HOURS,
                office_hours_doc=dict(SATURDAY_HOURS) if saturday else None,
            )
        )
    return places


def _plant(rng: random.Random, places: list[_Place], first: date, last: date) -> list[dict[str, str]]:
    """One violation on one working day at ``2 + len(places) // 50`` locations per rule. ``no_visits`` goes to
    second gates (a main gate without visits would also miss its staff's scans), ``staff_compliance`` to main
    gates (where an office's roster is evaluated), the others to main gates too (the busier ones)."""
    per_rule = 2 + len(places) // 50
    free_main = [p for p in places if p.main_gate]
    free_second = [p for p in places if not p.main_gate]
    rng.shuffle(free_main)
    rng.shuffle(free_second)
    planted: list[dict[str, str]] = []
    for rule in RULES:
        for _ in range(per_rule):
            place = (free_second if rule == "no_visits" else free_main).pop()
            day = rng.choice(_working_days(place, first, last))
            place.plant = (rule, day)
            planted.append({"rule": rule, "location": place.code, "day": day.isoformat()})
    planted.sort(key=lambda p: (p["rule"], p["location"], p["day"]))
    return planted


def seed_province(
    *,
    locations: int = 50,
    days: int = 30,
    seed: int = 1,
    end: date,
    visits_per_day: int = 40,
    keyring: IdentityKeyring = DEMO_KEYRING,
    force: bool = False,
    data_dir: Path,
) -> SeedResult:
    """Write a seeded province into the database and its planted list into ``data_dir``."""
    from django.db import transaction

    from server.province import rollup
    from server.province.models import Device, District, Location, Office
    from server.province.rules import PROVINCE_TZ

    if locations < MIN_LOCATIONS:
        raise RegisterError(
            f"--locations must be at least {MIN_LOCATIONS} (each rule plants violations at 2 or more "
            f"locations and most stay clean), not {locations}"
        )
    if not 1 <= days <= 366:
        raise RegisterError(f"--days must be from 1 to 366, not {days}")
    if not 1 <= visits_per_day <= 5000:
        raise RegisterError(f"--visits-per-day must be from 1 to 5000, not {visits_per_day}")
    started = monotime.monotonic()
    existing = list(Location.objects.filter(code__startswith=CODE_PREFIX).values_list("code", flat=True))
    if existing and not force:
        raise RegisterError(
            f"the database already holds {len(existing)} {CODE_PREFIX}… locations (a seeded province?); "
            "seeding again would mix two demo data sets: use --force to add another set anyway"
        )
    numbers = [int(c[len(CODE_PREFIX) :]) for c in existing if c[len(CODE_PREFIX) :].isdigit()]
    first_number = max(numbers, default=0) + 1

    rng = random.Random(seed)
    first_day = end - timedelta(days=days - 1)
    builder = _Builder(rng, keyring, PROVINCE_TZ, visits_per_day)
    places = _places(rng, locations, first_number)
    planted = _plant(rng, places, first_day, end)
    visit_count = beat_count = 0
    absentees: list[dict[str, Any]] = []
    with transaction.atomic():
        districts = {name: District.objects.get_or_create(name=name)[0] for name, _ in DISTRICTS}
        offices: dict[int, Any] = {}
        for place in places:
            if place.main_gate:
                place.staff = tuple(_person(rng) for _ in range(rng.randrange(6, 10)))
                offices[place.office_index] = Office(
                    name=place.name,
                    district=districts[place.district],
                    roster=_roster_document(place.staff, keyring, rng),
                )
        Office.objects.bulk_create(list(offices.values()))
        rows = [
            Location(
                code=p.code,
                name=p.name,
                address=p.address,
                district=p.district,
                district_unit=districts[p.district],
                office=offices[p.office_index],
                office_hours=p.office_hours_doc,
            )
            for p in places
        ]
        Location.objects.bulk_create(rows)
        by_code = {loc.code: loc for loc in Location.objects.filter(code__in=[p.code for p in places])}
        Device.objects.bulk_create(
            [Device(device_id=f"kiosk-{p.code}", location=by_code[p.code], name="Cổng chính") for p in places]
        )
        devices = {
            d.location.code: d
            for d in Device.objects.filter(location__in=by_code.values()).select_related("location")
        }
        since = datetime.combine(first_day - timedelta(days=1), time(0), tzinfo=PROVINCE_TZ)
        Device.objects.filter(pk__in=[d.pk for d in devices.values()]).update(created_at=since)

        from server.province.models import Heartbeat, Visit

        visits: list[Any] = []
        beats: list[Any] = []
        for place in places:
            device = devices[place.code]
            register = {
                "code": place.code,
                "name": place.name,
                "address": place.address,
                "district": place.district,
            }
            for day in _working_days(place, first_day, end):
                absent: set[str] = set()
                if place.main_gate and place.staff:
                    hashes = [builder.identity(p) for p in place.staff]
                    if place.plant == ("staff_compliance", day):
                        absent = set(rng.sample(hashes, 3))
                    elif rng.random() < 0.05:
                        absent = {rng.choice(hashes)}  # one of six or more: compliance stays above 80 %
                    if absent:
                        absentees.append(
                            {
                                "location": place.code,
                                "day": day.isoformat(),
                                "identity_hashes": sorted(absent),
                            }
                        )
                beats.extend(builder.heartbeats(place, device, day, register))
                visits.extend(builder.visits(place, device, day, absent))
                if len(visits) >= BATCH:
                    Visit.objects.bulk_create(visits, batch_size=BATCH)
                    visit_count += len(visits)
                    visits = []
                if len(beats) >= BATCH:
                    Heartbeat.objects.bulk_create(beats, batch_size=BATCH)
                    beat_count += len(beats)
                    beats = []
            last_seen = _local(end, place.hours[2], PROVINCE_TZ)
            Device.objects.filter(pk=device.pk).update(last_seen_at=last_seen)
        Visit.objects.bulk_create(visits, batch_size=BATCH)
        Heartbeat.objects.bulk_create(beats, batch_size=BATCH)
        visit_count += len(visits)
        beat_count += len(beats)
        rollup.rebuild()  # the visits went in without uploads: count them into the per-day charts

    absentees.sort(key=lambda a: (a["location"], a["day"]))
    path = Path(data_dir) / PLANTED_FILE
    document = {
        "seed": seed,
        "end": end.isoformat(),
        "days": days,
        "key_id": keyring.current.key_id,
        "locations": [p.code for p in places],
        "planted": planted,
        "absentees": absentees,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return SeedResult(
        locations=len(places),
        offices=len(offices),
        visits=visit_count,
        heartbeats=beat_count,
        planted=tuple(planted),
        absentees=tuple(absentees),
        planted_path=path,
        seconds=monotime.monotonic() - started,
        codes=tuple(p.code for p in places),
    )


# -- the command ------------------------------------------------------------------------------------------


def _day_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day YYYY-MM-DD") from None


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--locations", type=int, default=50, help="locations, one kiosk each (default 50)")
    parser.add_argument("--days", type=int, default=30, help="days of visits (default 30)")
    parser.add_argument("--seed", type=int, default=1, help="the random seed: same seed, same province")
    parser.add_argument("--end", type=_day_arg, help="the last day, YYYY-MM-DD (default: yesterday)")
    parser.add_argument("--visits-per-day", type=int, default=40, help="public visits a day at a main gate")
    parser.add_argument(
        "--key-file", type=Path, help="the province's identity key file (default: the public demo key)"
    )
    parser.add_argument("--force", action="store_true", help="add another set even if one is there")


def run(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.utils import timezone

    from kiosk.errors import ConfigError
    from server.province.rules import PROVINCE_TZ

    keyring = DEMO_KEYRING
    if args.key_file is not None:
        try:
            keyring = IdentityKeyring.from_file(args.key_file, "--key-file")
        except ConfigError as exc:
            raise RegisterError(str(exc)) from exc
    end = args.end or (timezone.now().astimezone(PROVINCE_TZ).date() - timedelta(days=1))
    result = seed_province(
        locations=args.locations,
        days=args.days,
        seed=args.seed,
        end=end,
        visits_per_day=args.visits_per_day,
        keyring=keyring,
        force=args.force,
        data_dir=Path(settings.DATA_DIR),
    )
    print(
        f"seeded {result.locations} locations ({result.codes[0]}…{result.codes[-1]}), {result.offices} offices, "
        f"{result.visits} visits, {result.heartbeats} heartbeats in {result.seconds:.1f} s"
    )
    print(f"planted {len(result.planted)} violations: {result.planted_path}")
    if keyring.is_demo:
        print("identity hashes made with the public demo key: demo data only")
    print(f"now evaluate them: kiosk-server flags evaluate --days {args.days}")
    return 0
