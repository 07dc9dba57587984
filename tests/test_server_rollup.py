"""The per-day visit counts the dashboard charts (``server.province.rollup``): kept by uploads, equal to counting
the visits themselves — duplicates and conflicts never counted twice — and rebuilt after a bulk load."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests import server_support

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def _django(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server_support.configure_django(tmp_path_factory)


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    server_support.clean_database()
    yield
    server_support.clean_database()


def _device(code: str) -> Any:
    from server.province import register

    register.add_location(code, f"Địa điểm {code}")
    return register.add_device(f"gate-{code}", code)


def _visit(device: Any, when: datetime, seq: int, *, synchronised: bool = True) -> dict[str, Any]:
    return server_support.visit_doc(
        device.device_id,
        device.location.code,
        seq,
        kind="unknown",
        identity_hash=None,
        identity_key_id=None,
        id_number=None,
        name=None,
        outcome="refused",
        reason="unknown_format",
        wall_time=when,
        clock_synchronised=synchronised,
        monotonic_s=float(seq),
    )


def _direct() -> dict[tuple[int, Any], int]:
    from server.province.models import Visit

    counts: dict[tuple[int, Any], int] = {}
    for location_id, when in Visit.objects.values_list("location_id", "event_time"):
        key = (location_id, when.astimezone(ZONE).date())
        counts[key] = counts.get(key, 0) + 1
    return counts


def _rolled() -> dict[tuple[int, Any], int]:
    from server.province.models import VisitDay

    return {(r.location_id, r.day): r.n for r in VisitDay.objects.all()}


def test_uploads_keep_the_counts_equal_to_the_visits() -> None:
    from server.province.ingest import store_batch

    a, b = _device("HUE-0001"), _device("HUE-0002")
    # 23:50 and 00:10 local time: two local days; an unsynchronised kiosk counts on its receive day.
    late = datetime(2026, 11, 27, 23, 50, tzinfo=ZONE)
    batch_a = [_visit(a, late + timedelta(minutes=20 * i), i + 1) for i in range(4)]
    batch_b = [_visit(b, late - timedelta(days=3), 1, synchronised=False)]
    store_batch(a, batch_a, now=NOW)
    store_batch(a, batch_a, now=NOW)  # a retry: all duplicates, nothing counted twice
    changed = [{**batch_a[0], "reason": "ok"}]
    store_batch(a, changed, now=NOW)  # a conflict: not a visit
    store_batch(b, batch_b, now=NOW)
    assert _rolled() == _direct()
    assert sum(_rolled().values()) == 5
    assert _rolled()[(b.location_id, NOW.astimezone(ZONE).date())] == 1  # the receive day, not the wall day


def test_rebuild_after_a_bulk_load_and_the_dashboard_reads_it() -> None:
    from server.province import rollup
    from server.province.models import Location, Visit
    from server.web.dashboard import visits_per_day

    a = _device("HUE-0001")
    day = datetime(2026, 11, 20, 10, 0, tzinfo=ZONE)
    Visit.objects.bulk_create(
        [
            Visit(
                uuid=str(uuidlib.uuid4()),
                device=a,
                location=a.location,
                kiosk_location_code="HUE-0001",
                seq=i,
                kind="unknown",
                direction="in",
                outcome="refused",
                reason="unknown_format",
                wall_time=day,
                clock_synchronised=True,
                boot_id="b",
                monotonic_s=1.0,
                privacy_notice_version="1",
                received_at=day,
                event_time=day + timedelta(days=i % 3),
                content_hash="c" * 64,
            )
            for i in range(30)
        ]
    )
    assert _rolled() == {}
    assert rollup.rebuild() == 3
    assert _rolled() == _direct()
    last = (day + timedelta(days=3)).date()
    chart = dict(visits_per_day(Visit.objects.all(), last, 7, locations=Location.objects.all()))
    assert [chart[(day + timedelta(days=k)).date()] for k in range(3)] == [10, 10, 10]
    assert chart[last] == 0
