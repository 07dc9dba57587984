"""Server benchmark: the province's dashboard and contact tracing on a large PostgreSQL database.

A throw-away PostgreSQL cluster (``tests/pgcluster``) gets the server's migrations, a province of 9 districts,
``--locations`` locations (one kiosk each, a heartbeat each) and ``--visits`` visits spread over ``--days``
days, written by SQL (``generate_series``) with identity hashes made in the database with the demo identity
key (pgcrypto's HMAC-SHA-256, the same hash the kiosks make), so any synthetic person can be traced by ID
number. Then, in-process through Django's test client (the whole view: queries, template, response):

- the dashboard (``/``) for a district account — the district overview — and for the province account;
- a 14-day contact trace by ID number (``server.province.tracing.trace``, the function the page calls) for
  ``--traces`` people who visited in that period.

Reports p50 / p95 / max per page and the targets of the issue (district overview p95 ≤ 300 ms, 14-day trace
p95 ≤ 1 s). Figures only: nothing here passes or fails. Ends with one JSON line.

    .venv/bin/python bench/server.py [--visits 10000000] [--locations 1000] [--days 90] [--repeat 30]
                                     [--traces 20] [--markdown docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from report import header, print_json, write_section

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the server package and tests/ helpers

DISTRICTS = (
    "Thành phố Huế",
    "Phong Điền",
    "Quảng Điền",
    "Phú Vang",
    "Hương Thủy",
    "Hương Trà",
    "A Lưới",
    "Phú Lộc",
    "Nam Đông",
)
PEOPLE = 500_000
DEMO_SECRET = "qr-gate-kiosk public demo identity key"
TARGETS_MS = {"district_overview_p95": 300.0, "trace_14_days_p95": 1000.0}


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
        "n": len(ordered),
    }


def _id_number(person: int) -> str:
    return f"046{person:09d}"


def build_province(locations: int, visits: int, days: int, today: date) -> dict[str, Any]:
    """The register by the ORM, the visits by SQL; returns what the measurements need."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from server.province.models import Account, Device, District, Heartbeat, Location, Office

    districts = District.objects.bulk_create([District(name=name) for name in DISTRICTS])
    offices = Office.objects.bulk_create(
        [
            Office(name=f"Cơ quan {i + 1}", district=districts[i % len(districts)])
            for i in range(locations // 10)
        ]
    )
    locs = Location.objects.bulk_create(
        [
            Location(
                code=f"HUE-{i + 1:05d}",
                name=f"Địa điểm {i + 1}",
                district=offices[i % len(offices)].district.name,
                district_unit=offices[i % len(offices)].district,
                office=offices[i % len(offices)],
            )
            for i in range(locations)
        ]
    )
    devices = Device.objects.bulk_create(
        [Device(device_id=f"gate-{loc.code}", location=loc, last_seen_at=timezone.now()) for loc in locs]
    )
    now = timezone.now()
    Heartbeat.objects.bulk_create(
        [
            Heartbeat(
                device=d,
                received_at=now,
                sent_at=now,
                clock_offset_s=0.2,
                payload={
                    "camera_state": "running",
                    "backlog": 3,
                    "clock_synchronised": True,
                    "version": "0.1.0",
                },
            )
            for d in devices
        ]
    )
    loc_ids = [loc.pk for loc in locs]
    dev_ids = [d.pk for d in devices]
    first_loc, first_dev = min(loc_ids), min(dev_ids)
    assert loc_ids == list(range(first_loc, first_loc + locations)) and dev_ids == list(
        range(first_dev, first_dev + locations)
    )
    end = timezone.make_aware(timezone.datetime.combine(today, timezone.datetime.min.time())) + timedelta(
        days=1
    )
    span_s = days * 86400
    started = time.perf_counter()
    chunk = 1_000_000
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
        # Each person's keyed hash once (an HMAC per visit would dominate the load).
        cursor.execute(
            f"""
            CREATE TEMP TABLE people AS
            SELECT p, '046' || lpad(p::text, 9, '0') AS idn,
                encode(hmac(('id:046' || lpad(p::text, 9, '0'))::bytea, %(secret)s::bytea, 'sha256'), 'hex') AS h
            FROM generate_series(0, {PEOPLE - 1}) AS p
            """,
            {"secret": DEMO_SECRET},
        )
        cursor.execute("CREATE UNIQUE INDEX ON people (p)")
        # The secondary indexes are built once after the load (as a bulk load does), then analysed.
        cursor.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.tablename = 'province_visit' AND i.indexname NOT IN (
                SELECT c.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conindid)
            """
        )
        secondary = cursor.fetchall()
        for name, _ in secondary:
            cursor.execute(f'DROP INDEX "{name}"')
        for low in range(1, visits + 1, chunk):
            high = min(visits, low + chunk - 1)
            # Person p visits location (p * 7 + k) mod N: people keep to a few places, as they do.
            cursor.execute(
                f"""
                INSERT INTO province_visit (uuid, device_id, location_id, kiosk_location_code, seq, kind,
                    identity_hash, identity_key_id, id_number, name, direction, outcome, reason, wall_time,
                    clock_synchronised, boot_id, monotonic_s, privacy_notice_version, manual, warnings,
                    received_at, event_time, content_hash)
                SELECT md5(g::text) || substr(md5('x' || g::text), 1, 4), %(dev)s + l, %(loc)s + l,
                    'HUE-' || lpad((l + 1)::text, 5, '0'), g, 'cccd',
                    people.h, 'demo', people.idn, 'Nguyễn Văn ' || s.p, 'in', 'granted', 'ok', t,
                    true, 'boot', 1.0, '2026-01', false, '[]'::jsonb, t, t, md5(g::text) || md5(g::text)
                FROM (
                    SELECT g, (g * 7919) %% {PEOPLE} AS p,
                           (((g * 7919) %% {PEOPLE}) * 7 + (g %% 3)) %% {locations} AS l,
                           %(end)s::timestamptz - make_interval(secs => (g * 104729) %% {span_s}) AS t
                    FROM generate_series(%(low)s::bigint, %(high)s::bigint) AS g
                ) AS s JOIN people ON people.p = s.p
                """,
                {
                    "dev": first_dev,
                    "loc": first_loc,
                    "end": end,
                    "low": low,
                    "high": high,
                },
            )
            print(f"  {high:,} visits written ({time.perf_counter() - started:.0f} s)", flush=True)
        for _, definition in secondary:
            cursor.execute(definition)
        print(f"  {len(secondary)} indexes built ({time.perf_counter() - started:.0f} s)", flush=True)
        cursor.execute("ANALYZE")
    from server.province import rollup

    rollup.rebuild()  # the visits went in by SQL, not by uploads: count them into the per-day charts
    print(f"  per-day counts rebuilt ({time.perf_counter() - started:.0f} s)", flush=True)
    load_s = time.perf_counter() - started

    province = User.objects.create_user("province", password="not-used-password-1")
    Account.objects.create(user=province, role=Account.Role.PROVINCE, full_identities=True)
    district = User.objects.create_user("district", password="not-used-password-1")
    Account.objects.create(user=district, role=Account.Role.DISTRICT, district=districts[0])
    return {"province": province, "district": district, "load_s": load_s, "end": end}


def measure_page(user: Any, path: str, repeat: int) -> dict[str, float]:
    from django.test import Client

    client = Client(SERVER_NAME="127.0.0.1")  # an allowed host
    client.force_login(user)
    assert client.get(path).status_code == 200  # warm: connection, templates
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return _percentiles(samples)


def measure_traces(traces: int, today: date, seed: int) -> tuple[dict[str, float], dict[str, float]]:
    from kiosk.trace import Period, Subject
    from server.province.models import Visit
    from server.province.tracing import trace

    rng = random.Random(seed)
    period = Period(today - timedelta(days=13), today)
    # People who did visit in those 14 days (a trace of nobody would measure nothing).
    numbers = list(
        Visit.objects.filter(event_time__gte=period.start, event_time__lt=period.end)
        .order_by("event_time")
        .values_list("id_number", flat=True)[:5000]
    )
    samples, visits, contacts = [], [], []
    for number in rng.sample(numbers, min(traces, len(numbers))):
        subject = Subject.parse(id_number=number)
        started = time.perf_counter()
        result = trace(subject, period)
        samples.append((time.perf_counter() - started) * 1000)
        visits.append(len(result.visits))
        contacts.append(len(result.contacts))
    sizes = {
        "visits_median": statistics.median(visits),
        "visits_max": max(visits),
        "contacts_median": statistics.median(contacts),
        "contacts_max": max(contacts),
    }
    return _percentiles(samples), sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=10_000_000)
    parser.add_argument("--locations", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--traces", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()

    from tests.pgcluster import PgCluster, available

    reason = available()
    if reason is not None:
        sys.exit(f"bench/server.py needs PostgreSQL here: {reason}")
    with (
        tempfile.TemporaryDirectory(prefix="kiosk-bench-server-") as tmp,
        PgCluster.start(Path(tmp)) as cluster,
    ):
        os.environ["KIOSK_SERVER_DATA"] = str(Path(tmp) / "data")
        os.environ["KIOSK_SERVER_DATABASE_URL"] = cluster.url
        os.environ["DJANGO_SETTINGS_MODULE"] = "server.settings"
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        from django.utils import timezone

        from server.web import dashboard

        today = timezone.localdate()
        print(
            f"building the province: {args.locations} locations, {args.visits:,} visits over {args.days} days"
        )
        built = build_province(args.locations, args.visits, args.days, today)
        dashboard.clock = timezone.now  # the real clock: "today" is the last day of the data
        district = measure_page(built["district"], "/", args.repeat)
        province = measure_page(built["province"], "/", args.repeat)
        traced, sizes = measure_traces(args.traces, today, args.seed)

    figures = {
        **header("server"),
        "visits": args.visits,
        "locations": args.locations,
        "days": args.days,
        "load_s": round(built["load_s"], 1),
        "district_overview": district,
        "province_overview": province,
        "trace_14_days": traced,
        "trace_sizes": sizes,
        "targets_ms": TARGETS_MS,
        "targets_met": {
            "district_overview_p95": district["p95_ms"] <= TARGETS_MS["district_overview_p95"],
            "trace_14_days_p95": traced["p95_ms"] <= TARGETS_MS["trace_14_days_p95"],
        },
    }
    command = (
        "python bench/server.py"
        + ("" if args.visits == 10_000_000 else f" --visits {args.visits}")
        + (" --markdown docs/benchmarks.md" if args.markdown else "")
    )
    rows = [
        ("district overview `/` (district account)", district, TARGETS_MS["district_overview_p95"]),
        ("province overview `/` (province account)", province, None),
        ("14-day trace by ID number", traced, TARGETS_MS["trace_14_days_p95"]),
    ]
    lines = [
        f"Command: `{command}`  ",
        f"Date: {figures['date']} · machine: {figures['machine']} · Python {figures['python']} · PostgreSQL 15 "
        f"(throw-away cluster, fsync off) · {args.visits:,} visits, {args.locations} locations, {args.days} days "
        f"(loaded by SQL in {figures['load_s']} s)",
        "",
        "| what | p50 | p95 | max | target (p95) | met |",
        "|---|---|---|---|---|---|",
    ]
    for what, got, target in rows:
        met = "" if target is None else ("met" if got["p95_ms"] <= target else "**missed**")
        lines.append(
            f"| {what} | {got['p50_ms']} ms | **{got['p95_ms']} ms** | {got['max_ms']} ms | "
            f"{'–' if target is None else f'≤ {target:.0f} ms'} | {met} |"
        )
    lines += [
        "",
        f"Traces: {args.traces} people who visited in the 14 days; their visits median {sizes['visits_median']} "
        f"(max {sizes['visits_max']}), contacts median {sizes['contacts_median']} (max {sizes['contacts_max']}). "
        f"Pages through Django's test client in-process (queries, templates, response; no network).",
    ]
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        write_section(
            args.markdown,
            "server-bench",
            table,
            heading="## Server: dashboard and tracing on a large province (`bench/server.py`)",
        )
    print_json(figures)


if __name__ == "__main__":
    main()
