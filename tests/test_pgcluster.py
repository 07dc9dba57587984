"""The throw-away PostgreSQL cluster (tests/pgcluster.py): start, use with psycopg 3, stop."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.pgcluster import PgCluster, available


def test_a_cluster_starts_serves_and_stops(tmp_path: Path) -> None:
    reason = available()
    if reason is not None:
        pytest.skip(reason)
    psycopg = pytest.importorskip("psycopg")

    with PgCluster.start(tmp_path) as cluster:
        assert cluster.url == f"postgresql://postgres@127.0.0.1:{cluster.port}/kiosk"
        with psycopg.connect(cluster.url, connect_timeout=5) as conn:
            conn.execute("CREATE TABLE visit (id serial PRIMARY KEY, name text NOT NULL)")
            conn.execute("INSERT INTO visit (name) VALUES (%s), (%s)", ["An", "Bình"])
            conn.commit()
        with psycopg.connect(cluster.url, connect_timeout=5) as conn:
            rows = conn.execute("SELECT id, name FROM visit ORDER BY id").fetchall()
            assert rows == [(1, "An"), (2, "Bình")]
            assert conn.execute("SELECT current_database()").fetchone() == ("kiosk",)
            assert conn.execute("SHOW fsync").fetchone() == ("off",)

        other = cluster.create_database("kiosk_other")
        with psycopg.connect(other, connect_timeout=5) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("kiosk_other",)

        directory, port = cluster.directory, cluster.port
        assert directory.is_dir()

    assert not directory.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    cluster.stop()  # idempotent


def test_available_gives_none_or_a_reason() -> None:
    reason = available()
    assert reason is None or (isinstance(reason, str) and reason)
