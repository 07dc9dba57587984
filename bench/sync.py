"""Sync benchmark: the provincial server's visit ingest, and a kiosk's outbox drain, on real processes.

1. Server ingest: a real ``kiosk-server serve`` (gunicorn, 2 workers) on SQLite and, when a throw-away
   cluster can run here (``tests/pgcluster.available()``), on PostgreSQL twice: durable (``fsync``,
   ``full_page_writes`` and ``synchronous_commit`` on, as a province runs it; SQLite is ``synchronous=FULL``)
   and with the tests' settings (all three off). One device is enrolled over the API; one client (one
   kiosk: a request at a time, ``requests`` with a kept-alive connection) posts ``--batches`` batches of N
   fresh visits for N = 50, 200, 500 (bodies serialised beforehand): visits/s and per-request latency
   p50/p95; then the same batch of N re-posted ``--batches`` times (every visit a duplicate).
2. End-to-end drain: ``--drain-visits`` visits recorded into a real kiosk store (as the gate does, on a fake
   clock), then the real ``kiosk sync --once`` process (batch_size 200, the kiosk's default settings but
   the shortest back-off the configuration allows, ``BACKOFF``) against
   a fresh SQLite server, timed from its start until it exits with the outbox empty; then the same outbox size
   drained by the long-running ``kiosk sync`` (timed from its start until the outbox is empty) directly,
   through ``tests/faultproxy.FaultProxy`` passing everything, and through it with a seeded fault plan
   (``FAULT_PLAN``), so the ratios separate the proxy's own cost from the faults'.

    .venv/bin/python bench/sync.py [--quick] [--batches 20] [--drain-visits 5000] [--no-postgres]
                                   [--no-faults] [--markdown docs/benchmarks.md]

Figures only: nothing here passes or fails. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from report import header, print_json, write_section

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the kiosk package and tests/ helpers

SIZES = (50, 200, 500)
WORKERS = 2
LOCATION = "HUE-0001"
T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
DRAIN_BATCH = 200
DRAIN_TIMEOUT_S = 120.0
PROXY_SEED = 20261129
# 10% of requests faulted; no stall (with the default 30 s read timeout one stall would be the whole figure).
FAULT_PLAN = {"reset_before": 0.025, "reset_after_request": 0.025, "truncate_reply": 0.025, "http_503": 0.025}
# The shortest back-off the configuration allows. With the defaults (2 s base, 900 s cap) a cycle that meets
# any fault counts as failed even when it uploaded batches first, so under a steady fault rate the waits keep
# doubling and the figure would be the back-off policy's, not the network's.
BACKOFF = {"backoff_base_s": 0.1, "backoff_cap_s": 1.0}


def bin_path(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- the server ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def province(data_dir: Path, database_url: str | None = None) -> Iterator[Any]:
    """A running ``kiosk-server serve`` (2 workers) with the location registered."""
    from tests.server_support import start_server

    with start_server(data_dir, workers=WORKERS, database_url=database_url) as server:
        cli(
            data_dir,
            database_url,
            "location",
            "add",
            LOCATION,
            "--name",
            "Phường Thuận Hóa",
            "--district",
            "Huế",
        )
        yield server


def cli(data_dir: Path, database_url: str | None, *args: str) -> str:
    from tests.server_support import run_cli

    done = run_cli(data_dir, *args, database_url=database_url)
    if done.returncode != 0:
        raise RuntimeError(f"kiosk-server {' '.join(args)}: {done.returncode}\n{done.stderr}")
    return done.stdout


def new_code(data_dir: Path, database_url: str | None, device_id: str) -> str:
    return cli(data_dir, database_url, "code", "new", "--location", LOCATION, "--device", device_id).split()[
        0
    ]


def start_postgres(tmp: Path, *, durable: bool) -> Any:
    """A throw-away cluster (``tests/pgcluster``). ``durable``: the tests' options ``fsync``,
    ``full_page_writes`` and ``synchronous_commit`` (off there) are turned on in the ``pg_ctl start`` command,
    the only place they are set (command-line options win over ``ALTER SYSTEM``)."""
    from tests.pgcluster import PgCluster

    if not durable:
        return PgCluster.start(tmp)

    class DurablePgCluster(PgCluster):
        def _run(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
            for setting in ("fsync", "full_page_writes", "synchronous_commit"):
                argv = [a.replace(f"{setting}=off", f"{setting}=on") for a in argv]
            return super()._run(argv, **kwargs)

    return DurablePgCluster.start(tmp)


# -- 1. ingest ----------------------------------------------------------------------------------------------


class VisitMaker:
    """Fresh protocol visits for one device: every third a granted citizen ID with a Vietnamese name, the
    rest refused payloads (as tests/e2e_support varies them)."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self.seq = 0
        self.boot_id = str(uuid.uuid4())

    def one(self) -> dict[str, Any]:
        self.seq += 1
        i = self.seq
        visit: dict[str, Any] = {
            "uuid": str(uuid.uuid4()),
            "seq": i,
            "device_id": self.device_id,
            "location_code": LOCATION,
            "kind": "unknown",
            "identity_hash": None,
            "identity_key_id": None,
            "id_number": None,
            "name": None,
            "direction": "in",
            "outcome": "refused",
            "reason": "unknown_format",
            "wall_time": (T0 + timedelta(seconds=i)).isoformat(timespec="microseconds"),
            "clock_synchronised": True,
            "boot_id": self.boot_id,
            "monotonic_s": float(i),
            "privacy_notice_version": "2026-01",
            "manual": False,
            "warnings": [],
            "guard": None,
            "note": None,
            "original_outcome": None,
            "original_reason": None,
        }
        if i % 3 == 0:
            number = f"046{i:09d}"
            visit |= {
                "kind": "cccd",
                "identity_hash": hashlib.sha256(number.encode()).hexdigest(),
                "identity_key_id": "hue-2026",
                "id_number": number,
                "name": f"Nguyễn Văn Ấn {i}",
                "outcome": "granted",
                "reason": "ok",
            }
        return visit

    def batch(self, n: int) -> bytes:
        return json.dumps({"visits": [self.one() for _ in range(n)]}, ensure_ascii=False).encode("utf-8")


def post_batches(session: Any, url: str, bodies: list[bytes], n: int, expect: str) -> dict[str, Any]:
    latencies: list[float] = []
    for body in bodies:
        started = time.perf_counter()
        reply = session.post(url, data=body, timeout=60)
        content = reply.content
        latencies.append(time.perf_counter() - started)
        if reply.status_code != 200:
            raise RuntimeError(f"POST /visits: {reply.status_code} {content[:300]!r}")
        statuses = {r["status"] for r in json.loads(content)["results"]}
        if statuses != {expect}:
            raise RuntimeError(f"POST /visits: expected every visit {expect}, got {statuses}")
    total = sum(latencies)
    return {
        "batch": n,
        "requests": len(bodies),
        "visits_per_s": round(n * len(bodies) / total),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p95_ms": round(1000 * pct(latencies, 0.95), 1),
    }


def measure_ingest(data_dir: Path, database_url: str | None, batches: int) -> dict[str, Any]:
    import requests

    device_id = "bench-ingest"
    with province(data_dir, database_url) as server, requests.Session() as session:
        code = new_code(data_dir, database_url, device_id)
        reply = session.post(
            f"{server.url}/api/v1/enrol",
            json={"code": code, "kiosk_version": "bench", "hostname": "bench"},
            timeout=30,
        )
        reply.raise_for_status()
        session.headers.update(
            {"Authorization": f"Bearer {reply.json()['token']}", "Content-Type": "application/json"}
        )
        url = f"{server.url}/api/v1/visits"
        maker = VisitMaker(device_id)
        # Warm-up, not counted: each gunicorn worker's first requests pay its imports and connections.
        post_batches(session, url, [maker.batch(50) for _ in range(2 * WORKERS)], 50, "stored")
        fresh: dict[str, Any] = {}
        duplicate: dict[str, Any] = {}
        for n in SIZES:
            bodies = [maker.batch(n) for _ in range(batches)]
            fresh[str(n)] = post_batches(session, url, bodies, n, "stored")
            duplicate[str(n)] = post_batches(session, url, [bodies[-1]] * batches, n, "duplicate")
    return {"fresh": fresh, "duplicate": duplicate}


# -- 2. drain -----------------------------------------------------------------------------------------------


class Kiosk:
    """A kiosk's files (config, visit database, sync state) under ``root``; commands run as subprocesses."""

    def __init__(self, root: Path, device_id: str) -> None:
        self.root = root
        self.device_id = device_id
        root.mkdir(parents=True)
        self.db = root / "kiosk.db"
        self.config = root / "kiosk.toml"
        self.config.write_text(
            "\n".join(
                [
                    "[device]",
                    f'id = "{device_id}"',
                    "[location]",
                    f'code = "{LOCATION}"',
                    "[store]",
                    f'database = "{self.db}"',
                    f'admin_settings = "{root / "admin-settings.toml"}"',
                    "min_free_mb = 0",
                    "[sync]",
                    f'state_dir = "{root / "sync"}"',
                    f"batch_size = {DRAIN_BATCH}",
                    *(f"{k} = {v}" for k, v in BACKOFF.items()),
                ]
            )
            + "\n",
            encoding="utf-8",
        )

    def record(self, n: int) -> float:
        """Record ``n`` visits as the gate does (owner, synchronous=FULL); seconds taken."""
        from kiosk.clock import FakeClock
        from kiosk.model import Credential, Decision, Direction, Kind, Outcome, Reason
        from kiosk.store import Store

        refused = Decision(outcome=Outcome.REFUSED, reason=Reason.UNKNOWN_FORMAT, kind=Kind.UNKNOWN)
        clock = FakeClock(T0)
        started = time.perf_counter()
        with Store.open(
            self.db,
            device_id=self.device_id,
            location_code=LOCATION,
            privacy_notice_version="2026-01",
            min_free_mb=0,
        ) as store:
            for i in range(n):
                decision = refused
                if i % 3 == 0:
                    number = f"046{i:09d}"
                    decision = Decision(
                        outcome=Outcome.GRANTED,
                        reason=Reason.OK,
                        kind=Kind.CCCD,
                        credential=Credential(
                            kind=Kind.CCCD,
                            identity_key=f"id:{number}",
                            id_number=number,
                            name=f"Nguyễn Văn Ấn {i}",
                        ),
                        identity_hash=hashlib.sha256(number.encode()).hexdigest(),
                        identity_key_id="hue-2026",
                    )
                store.record(decision, at=clock.now(), direction=Direction.IN)
                clock.advance(1)
        return time.perf_counter() - started

    def backlog(self) -> int:
        from kiosk.store import Store

        with Store.open_read_only(self.db) as store:
            return store.backlog()

    def argv(self, *args: str, server_url: str | None = None) -> list[str]:
        command, *rest = args
        argv = [bin_path("kiosk"), command, "--config", str(self.config)]
        if server_url is not None:
            argv += ["--set", f"sync.server_url={server_url}"]
        return argv + rest

    def run(self, *args: str, server_url: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args, server_url=server_url),
            env=clean_env(),
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=DRAIN_TIMEOUT_S,
            check=False,
        )

    def enrol(self, server_url: str, code: str) -> None:
        done = self.run("enroll", "--server", server_url, "--code", code)
        if done.returncode != 0:
            raise RuntimeError(f"kiosk enroll: {done.returncode}\n{done.stdout}{done.stderr}")

    def drain_once(self) -> dict[str, Any]:
        """``kiosk sync --once``: seconds from its start to its exit (0 = the outbox drained)."""
        started = time.perf_counter()
        done = self.run("sync", "--once")
        elapsed = time.perf_counter() - started
        if done.returncode != 0 or self.backlog() != 0:
            raise RuntimeError(f"kiosk sync --once: {done.returncode}\n{done.stdout}{done.stderr}")
        return {"seconds": round(elapsed, 3), "output": done.stdout.strip().splitlines()[-1:]}

    def drain_worker(self, server_url: str | None = None) -> dict[str, Any]:
        """The long-running ``kiosk sync`` (against ``server_url`` if given): seconds from its start until
        the outbox is empty (polled every 20 ms from a read-only snapshot), then SIGTERM."""
        log_path = self.root / "worker.log"
        with log_path.open("wb") as log:
            started = time.perf_counter()
            process = subprocess.Popen(
                self.argv("sync", server_url=server_url),
                env=clean_env(),
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            tick = threading.Event()
            while self.backlog() != 0:
                if process.poll() is not None or time.perf_counter() - started > DRAIN_TIMEOUT_S:
                    raise RuntimeError(
                        f"kiosk sync did not drain the outbox:\n{log_path.read_text()[-3000:]}"
                    )
                tick.wait(0.02)
            elapsed = time.perf_counter() - started
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        cycles = [line for line in lines if line.startswith("sync: sent")]
        return {
            "seconds": round(elapsed, 3),
            "cycles": len(cycles),
            "failed_cycles": sum("error:" in line for line in cycles),
        }


def measure_drain(tmp: Path, visits: int, faults: bool) -> dict[str, Any]:
    from tests.faultproxy import FaultPlan, FaultProxy

    data_dir = tmp / "drain-server"
    runs: dict[str, Any] = {}
    with province(data_dir) as server:
        port = int(server.url.rsplit(":", 1)[1])

        def kiosk(name: str) -> tuple[Kiosk, float]:
            k = Kiosk(tmp / f"kiosk-{name}", f"gate-{name}")
            record_s = k.record(visits)
            k.enrol(server.url, new_code(data_dir, None, k.device_id))
            return k, record_s

        k, record_s = kiosk("once")
        once = k.drain_once()
        # The same process with the outbox empty: start-up, heartbeat and configuration pull, no visits.
        empty = k.drain_once()
        runs["once"] = {
            **once,
            "visits_per_s": round(visits / once["seconds"]),
            "record_s": round(record_s, 2),
        }
        runs["once_empty_s"] = empty["seconds"]
        runs["once_net_visits_per_s"] = round(visits / max(once["seconds"] - empty["seconds"], 1e-3))

        k, _ = kiosk("worker")
        runs["worker"] = k.drain_worker()
        if faults:
            with FaultProxy("127.0.0.1", port, PROXY_SEED, FaultPlan()) as proxy:
                k, _ = kiosk("proxy")
                runs["proxy"] = {**k.drain_worker(proxy.url), "proxy": _actions(proxy.stats)}
            with FaultProxy("127.0.0.1", port, PROXY_SEED, FaultPlan(**FAULT_PLAN)) as proxy:
                k, _ = kiosk("faulty")
                runs["faulty"] = {**k.drain_worker(proxy.url), "proxy": _actions(proxy.stats)}
    base = runs["worker"]["seconds"]
    for name in ("worker", "proxy", "faulty"):
        if name in runs:
            runs[name]["visits_per_s"] = round(visits / runs[name]["seconds"])
            runs[name]["slowdown"] = round(runs[name]["seconds"] / base, 2)
    if "faulty" in runs:
        runs["faulty"]["slowdown_vs_proxy"] = round(runs["faulty"]["seconds"] / runs["proxy"]["seconds"], 2)
    return {"visits": visits, "batch_size": DRAIN_BATCH, **runs}


def _actions(stats: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in stats.items() if v}


# -- report -------------------------------------------------------------------------------------------------


def markdown(report: dict[str, Any], command: str) -> str:
    ingest = report["ingest"]
    peers = [("sqlite", "SQLite")]
    pg_reason = report.get("postgres_skipped")
    if not pg_reason:
        peers += [("postgres", "PostgreSQL"), ("postgres_fsync_off", "PostgreSQL, fsync off")]

    def cell(fig: dict[str, Any]) -> str:
        return f"**{fig['visits_per_s']:,}**/s ({fig['p50_ms']} / {fig['p95_ms']} ms)"

    def ratio(kind: str, n: str) -> str:
        if pg_reason:
            return "–"
        return (
            f"{ingest['postgres'][kind][n]['visits_per_s'] / ingest['sqlite'][kind][n]['visits_per_s']:.2f}×"
        )

    lines = [
        f"Command: `{command}`  ",
        f"Date: {report['date']} · machine: {report['machine']} · Python {report['python']} · "
        f"gunicorn {WORKERS} workers · runtime {report['runtime_s']:.0f} s",
        "",
        f"Server ingest, one client posting one request at a time ({report['batches']} requests per row). "
        "Cells: visits/s (per-request latency p50 / p95).",
        "",
        "| request | "
        + " | ".join(label for _, label in peers)
        + (" | PostgreSQL / SQLite |" if not pg_reason else " |"),
        "|---|" + "---|" * len(peers) + ("---|" if not pg_reason else ""),
    ]
    for kind, what in (("fresh", "fresh visits"), ("duplicate", "visits re-posted (all duplicates)")):
        for n in (str(s) for s in SIZES):
            row = f"| {n} {what} | " + " | ".join(cell(ingest[key][kind][n]) for key, _ in peers)
            lines.append(row + (f" | {ratio(kind, n)} |" if not pg_reason else " |"))
    if pg_reason:
        lines += ["", f"PostgreSQL skipped: {pg_reason}."]
    drain = report["drain"]
    once = drain["once"]
    lines += [
        "",
        f"End-to-end drain of {drain['visits']:,} visits recorded in a kiosk store (batch_size {drain['batch_size']}, "
        "the kiosk's default sync settings but back-off 0.1 s base, 1 s cap: the least the configuration allows) "
        "to a fresh SQLite server (2 workers):",
        "",
        "| run | seconds | visits/s | slowdown |",
        "|---|---|---|---|",
        f"| `kiosk sync --once`, start to exit (the same with the outbox empty: {drain['once_empty_s']} s) | "
        f"{once['seconds']} | **{once['visits_per_s']:,}** ({drain['once_net_visits_per_s']:,} without the empty run's "
        "time) | – |",
    ]
    rows = [
        ("worker", "long-running `kiosk sync`, start until the outbox is empty, direct"),
        ("proxy", "the same through FaultProxy, no faults (a new connection per request)"),
        ("faulty", "the same through FaultProxy with the fault plan below"),
    ]
    for key, label in rows:
        if key not in drain:
            continue
        run = drain[key]
        extra = ""
        if key == "faulty":
            extra = f" ({run['slowdown_vs_proxy']}× the no-fault proxy run)"
        failed = f", {run['failed_cycles']} ended with an error" if run["failed_cycles"] else ""
        lines.append(
            f"| {label} ({run['cycles']} cycle{'s' if run['cycles'] != 1 else ''}{failed}) | {run['seconds']} | **{run['visits_per_s']:,}** | "
            f"{run['slowdown']}×{extra} |"
        )
    if "faulty" in drain:
        plan = ", ".join(f"{k} {v:.1%}" for k, v in FAULT_PLAN.items())
        taken = ", ".join(f"{k} {v}" for k, v in drain["faulty"]["proxy"].items() if k != "connections")
        lines += ["", f"Fault plan (seed {PROXY_SEED}): {plan} of requests; actions taken: {taken}."]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5 requests per row, 1,000 visits drained")
    ap.add_argument("--batches", type=int, help="requests per row (default 20; 5 with --quick)")
    ap.add_argument("--drain-visits", type=int, help="visits drained (default 5000; 1000 with --quick)")
    ap.add_argument("--no-postgres", action="store_true", help="SQLite only")
    ap.add_argument("--no-faults", action="store_true", help="no FaultProxy drains")
    ap.add_argument("--markdown", type=Path)
    args = ap.parse_args()
    batches = args.batches or (5 if args.quick else 20)
    drain_visits = args.drain_visits or (1000 if args.quick else 5000)
    started = time.monotonic()
    from tests import pgcluster

    pg_reason = "--no-postgres" if args.no_postgres else pgcluster.available()
    with tempfile.TemporaryDirectory(prefix="kiosk-sync-bench-") as tmp_name:
        tmp = Path(tmp_name)
        ingest = {"sqlite": measure_ingest(tmp / "sqlite", None, batches)}
        if pg_reason is None:
            for key, durable in (("postgres", True), ("postgres_fsync_off", False)):
                cluster = start_postgres(tmp / key, durable=durable)
                try:
                    ingest[key] = measure_ingest(tmp / key / "server", cluster.url, batches)
                finally:
                    cluster.stop()
        drain = measure_drain(tmp, drain_visits, faults=not args.no_faults)
        shutil.rmtree(tmp, ignore_errors=True)
    report: dict[str, Any] = {
        **header("sync"),
        "cpus": os.cpu_count(),
        "batches": batches,
        "ingest": ingest,
        "postgres_skipped": pg_reason,
        "drain": drain,
        "runtime_s": round(time.monotonic() - started, 1),
    }
    if pg_reason is None:
        report["postgres_vs_sqlite"] = {
            kind: {
                n: round(
                    ingest["postgres"][kind][n]["visits_per_s"] / ingest["sqlite"][kind][n]["visits_per_s"], 2
                )
                for n in ingest["sqlite"][kind]
            }
            for kind in ("fresh", "duplicate")
        }
    argv = " ".join(sys.argv[1:])
    command = f"python bench/sync.py {argv}".strip()
    body = markdown(report, command)
    print(body)
    if args.markdown:
        write_section(
            args.markdown,
            "sync-bench",
            body,
            heading="## Sync: server ingest and outbox drain (`bench/sync.py`)",
        )
    print_json(report)


if __name__ == "__main__":
    main()
