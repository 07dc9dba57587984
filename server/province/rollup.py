"""Layer: server. Visits per location per local day (``VisitDay``): kept in each upload's transaction, read by
the dashboard's charts, rebuilt after a bulk load (the seed, a benchmark).

The increment is one ``INSERT … ON CONFLICT (location_id, day) DO UPDATE SET n = n + excluded.n`` (the same
statement on SQLite and PostgreSQL), in key order so that two uploads at the same moment cannot deadlock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate

from server.province.models import Location, Visit, VisitDay

__all__ = ["add", "per_day", "rebuild"]


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def add(visits: Iterable[tuple[int, datetime]]) -> None:
    """Count ``(location id, event time)`` pairs into their days. Call inside the transaction that stored them."""
    zone = _zone()
    counts = Counter((location_id, when.astimezone(zone).date()) for location_id, when in visits)
    if not counts:
        return
    table = connection.ops.quote_name(VisitDay._meta.db_table)
    rows = sorted(counts.items())
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    params: list[object] = []
    for (location_id, day), n in rows:
        params += [location_id, day, n]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (location_id, day, n) VALUES {values} "  # values are placeholders
            f"ON CONFLICT (location_id, day) DO UPDATE SET n = {table}.n + excluded.n",
            params,
        )


def rebuild() -> int:
    """Count every stored visit again (after a bulk load that bypassed uploads); returns the rows written."""
    zone = _zone()
    with transaction.atomic():
        VisitDay.objects.all().delete()
        grouped = (
            Visit.objects.filter(event_time__isnull=False)
            .order_by()
            .annotate(local_day=TruncDate("event_time", tzinfo=zone))
            .values("location_id", "local_day")
            .annotate(n=Count("id"))
        )
        rows = [VisitDay(location_id=g["location_id"], day=g["local_day"], n=g["n"]) for g in grouped]
        VisitDay.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def per_day(locations: QuerySet[Location] | None, first: date, last: date) -> dict[date, int]:
    """Visits per day from ``first`` to ``last`` (inclusive) at ``locations`` (None: all)."""
    rows = VisitDay.objects.filter(day__gte=first, day__lte=last)
    if locations is not None:
        rows = rows.filter(location__in=locations.values("pk"))
    return {row["day"]: row["total"] for row in rows.order_by().values("day").annotate(total=Sum("n"))}
