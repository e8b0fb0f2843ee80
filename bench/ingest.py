"""Ingest rate through HTTP: events/s into a real `jobdeck serve` by POST /api/v1/events batches.

    python bench/ingest.py                       # SQLite, a fresh file in a temporary folder
    python bench/ingest.py --pg                  # PostgreSQL, a fresh database on 127.0.0.1:5432
    python bench/ingest.py --batches 10 --batch-size 10000 --single 3000 --repeat 3
    python bench/ingest.py --span 10 --stream     # a live stream: events in time order
    python bench/ingest.py --span 10 --clients 2  # posted from two connections at once
    python bench/ingest.py --spread 30            # every batch's runs spread over 30 days, random order
    python bench/ingest.py --batches 0 --batch-size 1000 --single 2000  # one event per request only

Beside each repeat's events/s the raw write limit of the same machine in the same run: the rows
of the runs the batches hold (folded by jobdeck, outside the clock) written into a plain table
shaped like `runs` (no index, no key) of the same store, as many rows as the batches had events,
one transaction per `--batch-size` rows — SQLite `executemany`, PostgreSQL binary `COPY`, the
best of three — and
the ratio events/s ÷ raw rows/s (the issue's measure: as if each event were one plain row).

Each repeat starts `jobdeck serve` on a free localhost port against a fresh store, posts
`--batches` batches of `--batch-size` events (new runs: enqueued, started, then succeeded or, 3 %
of them, failed with a traceback; 40 jobs over 6 queues and 3 workers; each batch's runs enqueued
over `--span` seconds), one batch after another on one keep-alive connection (or from `--clients`
connections at once), and times them; then, as the naive baseline, posts `--single` events
one per request. The bodies are serialised before the clock starts. Prints the median of the
repeats: events/s and runs/s for batches, events/s for single events, and their ratio, with the
load average, since other processes share the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from rich.console import Console
from rich.table import Table

import machine

console = Console()
JOBDECK = str(Path(sys.executable).with_name("jobdeck"))
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
QUEUES = ("default", "sync", "scores", "webhooks", "ml", "reports")
WORKERS = ("celery@worker-1", "celery@worker-2", "celery@worker-3")
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/usr/local/lib/python3.12/site-packages/celery/app/trace.py", line 453, in trace_task\n'
    "    R = retval = fun(*args, **kwargs)\n"
    '  File "/app/shop/jobs/products.py", line 58, in product_sync\n'
    "    sku = item['sku']\n"
    "KeyError: 'sku'\n"
)


def run_events(prefix: str, index: int, at: datetime, rnd: random.Random) -> list[dict[str, Any]]:
    """One new run's events, as a Celery source would post them."""
    run_id = f"{prefix}-{index}-{uuid.UUID(int=rnd.getrandbits(128))}"
    job = f"job_{index % 40:02d}"
    started = at + timedelta(seconds=rnd.uniform(0.05, 3))
    finished = started + timedelta(seconds=rnd.lognormvariate(2.5, 0.8))
    outcome: dict[str, Any] = {"run_id": run_id, "at": finished.isoformat()}
    if rnd.random() < 0.03:
        outcome |= {
            "event": "failed",
            "error_type": "KeyError",
            "error_message": "'sku'",
            "traceback": TRACEBACK,
        }
    else:
        outcome |= {
            "event": "succeeded",
            "items_succeeded": rnd.randint(0, 500),
            "items_skipped": rnd.randint(0, 20),
        }
    return [
        {
            "run_id": run_id,
            "event": "enqueued",
            "at": at.isoformat(),
            "job": job,
            "queue": QUEUES[index % len(QUEUES)],
            "priority": rnd.randint(0, 9),
            "source": "celery",
            "kwargs": {"shard": rnd.randint(0, 63)},
            "labels": {"env": "bench"},
        },
        {
            "run_id": run_id,
            "event": "started",
            "at": started.isoformat(),
            "worker": rnd.choice(WORKERS),
            "pid": rnd.randint(1000, 60000),
        },
        outcome,
    ]


def batch_bodies(
    batches: int, size: int, seed: int, span: float = 3600, stream: bool = False, spread_days: float = 0
) -> tuple[list[bytes], int]:
    """The JSON bodies of the batches (about 3 events per run) and the number of runs they touch.

    Batch n's runs are enqueued over `span` seconds, after batch n-1's: 3600 is a backfill (each
    batch an hour of history, so its runs fall into 60 minutes of rollup cells), 10 a live stream.
    With `stream`, all events are sorted by time before they are cut into batches, as a live
    source sends them: a run's start and outcome often come in later batches than its enqueue,
    so most batches update runs that earlier ones created. With `spread_days`, every batch's runs
    are enqueued at random times over that many days before now (a backfill in random order: each
    batch touches rollup cells all over the period).
    """
    rnd = random.Random(seed)
    start = datetime.now(UTC) - timedelta(seconds=span * (batches + 1) + 600)
    per_batch = size // 3 + 1
    planned: list[list[dict[str, Any]]] = []
    for number in range(batches):
        events: list[dict[str, Any]] = []
        for index in range(per_batch):
            at = start + timedelta(seconds=span * number + index * span / per_batch)
            if spread_days:
                at = datetime.now(UTC) - timedelta(seconds=600 + rnd.uniform(0, spread_days * 86400))
            events += run_events(f"b{number}", index, at, rnd)
        planned.append(events[:size])
    if stream:
        flat = sorted((e for events in planned for e in events), key=lambda e: e["at"])
        planned = [flat[i : i + size] for i in range(0, len(flat), size)][:batches]
    bodies = [json.dumps(events).encode() for events in planned]
    return bodies, sum(len({e["run_id"] for e in events}) for events in planned)


def single_bodies(count: int, seed: int) -> list[bytes]:
    """`count` events, one per body, of new runs (each run's events in order)."""
    rnd = random.Random(seed)
    start = datetime.now(UTC) - timedelta(minutes=30)
    events: list[dict[str, Any]] = []
    index = 0
    while len(events) < count:
        events += run_events("s", index, start + timedelta(seconds=index), rnd)
        index += 1
    return [json.dumps(event).encode() for event in events[:count]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def fresh_store(pg: bool) -> Iterator[str]:
    """A URL of a new, empty store: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if not pg:
        with tempfile.TemporaryDirectory(prefix="jobdeck-ingest-") as folder:
            yield f"sqlite:///{folder}/ingest.db"
        return
    import psycopg

    name = f"jobdeck_ingest_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def server(url: str, workers: int = 1) -> Iterator[str]:
    """`jobdeck serve` on the store, until /api/health answers; its base URL. Stopped with SIGINT."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBDECK_")}
    proc = subprocess.Popen(
        [JOBDECK, "serve", "--db", url, "--port", str(port), "--workers", str(workers)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"jobdeck serve exited: {proc.communicate()[1]}")
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def post_all(client: httpx.Client, bodies: list[bytes]) -> tuple[float, list[float]]:
    """Post the bodies one after another; the total seconds and each request's seconds."""
    each = []
    began = time.perf_counter()
    for body in bodies:
        sent = time.perf_counter()
        reply = client.post("/api/v1/events", content=body, headers={"content-type": "application/json"})
        if reply.status_code != 202:
            raise SystemExit(f"POST /api/v1/events answered {reply.status_code}: {reply.text[:500]}")
        each.append(time.perf_counter() - sent)
    return time.perf_counter() - began, each


def post_concurrently(base: str, bodies: list[bytes], clients: int) -> tuple[float, list[float]]:
    """Post the bodies from `clients` clients at once (body i from client i mod n). With several,
    each batch goes on a new connection, as from independent sources: the server's worker
    processes share one listening socket, and kept-alive connections all land on whichever
    worker accepted first, where a new one goes to a worker that is free to accept it."""
    if clients == 1:
        with httpx.Client(base_url=base, timeout=300) as client:
            return post_all(client, bodies)
    each: list[float] = []
    fresh = httpx.Limits(max_keepalive_connections=0)
    connections = [httpx.Client(base_url=base, timeout=300, limits=fresh) for _ in range(clients)]
    try:
        with ThreadPoolExecutor(clients) as pool:
            began = time.perf_counter()
            parts = pool.map(lambda i: post_all(connections[i], bodies[i::clients]), range(clients))
            for _, times in parts:
                each += times
            return time.perf_counter() - began, each
    finally:
        for client in connections:
            client.close()


def raw_rows_per_s(url: str, bodies: list[bytes], rows_wanted: int, size: int) -> float:
    """The raw write limit: the runs of `bodies` folded into runs-table rows (outside the clock),
    then `rows_wanted` of them (cycled) written into a plain table shaped like `runs` — no index,
    no key — one transaction per `size` rows: SQLite `executemany`, PostgreSQL binary `COPY`
    (the statements the recorder itself writes new runs with). Rows per second, the best of three."""
    from sqlalchemy import Column, MetaData, Table

    from jobdeck.recorder import prepare
    from jobdeck.store import Store, bulk, run_writes
    from jobdeck.store.schema import runs
    from jobdeck.web.api.ingest import decode_events

    store = Store(url)
    sqlite = store.backend == "sqlite"
    events = [event for body in bodies for event in decode_events(body, 10**9).events]
    rows = [row for row, _ in prepare(events, sqlite).fresh.values()]
    plain = Table("raw_runs", MetaData(), *[Column(c.name, c.type) for c in runs.columns if c.name != "id"])
    try:
        with store.write() as conn:
            plain.create(conn)
        chunks = [
            [rows[i % len(rows)] for i in range(start, min(start + size, rows_wanted))]
            for start in range(0, rows_wanted, size)
        ]
        best = float("inf")
        for _ in range(3):  # a second or less each: the best of three is the limit, not the noise
            with store.write() as conn:
                conn.exec_driver_sql("DELETE FROM raw_runs")
            began = time.perf_counter()
            for chunk in chunks:
                with store.write() as conn:
                    bulk.insert(conn, plain, run_writes.WRITE_COLUMNS, chunk)
            best = min(best, time.perf_counter() - began)
        with store.write() as conn:
            plain.drop(conn)
    finally:
        store.close()
    return rows_wanted / best


@dataclass
class Repeat:
    events_per_s: float
    runs_per_s: float
    batch_ms: float
    single_per_s: float
    single_ms: float
    raw_rows_per_s: float


def measure(
    pg: bool,
    batches: int,
    size: int,
    single: int,
    seed: int,
    span: float,
    stream: bool,
    clients: int,
    workers: int,
    spread_days: float = 0,
) -> Repeat:
    bodies, runs = batch_bodies(batches + 1, size, seed, span, stream, spread_days)
    singles = single_bodies(single + 50, seed + 1)
    with (
        fresh_store(pg) as url,
        server(url, workers) as base,
        httpx.Client(base_url=base, timeout=300) as client,
    ):
        # Warm-up: imports, statement caches and the first pages of each table, outside the clock.
        post_all(client, bodies[:1])
        post_all(client, singles[:50])
        batch_s, batch_each = post_concurrently(base, bodies[1:], clients) if batches else (0.0, [0.0])
        single_s, single_each = post_all(client, singles[50:]) if single else (0.0, [0.0])
    raw = 0.0
    if batches:
        with fresh_store(pg) as url:  # the raw write, on a store of its own, after the server stopped
            raw = raw_rows_per_s(url, bodies, batches * size, size)
    runs_timed = runs * batches / (batches + 1)
    return Repeat(
        events_per_s=batches * size / batch_s if batches else 0.0,
        runs_per_s=runs_timed / batch_s if batches else 0.0,
        batch_ms=statistics.median(batch_each) * 1000,
        single_per_s=single / single_s if single else 0.0,
        single_ms=statistics.median(single_each) * 1000,
        raw_rows_per_s=raw,
    )


def add_batch_rows(table: Table, results: list[Repeat], size: int, pg: bool) -> None:
    """The batches' rows of the summary: events/s, runs/s, the raw write and their ratio."""

    def median(name: str) -> float:
        return statistics.median(getattr(r, name) for r in results)

    table.add_row(f"batches of {size:,} events: events/s", f"{median('events_per_s'):,.0f}")
    table.add_row("  runs/s", f"{median('runs_per_s'):,.0f}")
    table.add_row("  ms per batch (median request)", f"{median('batch_ms'):,.0f}")
    raw_name = "executemany" if not pg else "COPY"
    table.add_row(f"raw write ({raw_name}, plain table): rows/s", f"{median('raw_rows_per_s'):,.0f}")
    ratios = sorted(r.events_per_s / r.raw_rows_per_s for r in results)
    table.add_row(
        "events/s ÷ raw rows/s (median; each repeat)",
        f"{statistics.median(ratios):.3f} ({' · '.join(f'{x:.3f}' for x in ratios)})",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg", action="store_true", help="a fresh PostgreSQL database instead of SQLite")
    parser.add_argument(
        "--batches", type=int, default=10, help="timed batches per repeat (0: one event per request only)"
    )
    parser.add_argument("--batch-size", type=int, default=10_000, help="events per batch")
    parser.add_argument("--single", type=int, default=3000, help="events posted one per request")
    parser.add_argument("--repeat", type=int, default=3, help="repeats (each on a fresh store and server)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--span", type=float, default=3600, help="seconds of event time one batch covers (10: a live stream)"
    )
    parser.add_argument("--stream", action="store_true", help="events in time order across batches")
    parser.add_argument(
        "--spread", type=float, default=0, help="days every batch's runs spread over, in random order"
    )
    parser.add_argument("--clients", type=int, default=1, help="connections posting batches at once")
    parser.add_argument("--workers", type=int, default=1, help="server processes (jobdeck serve --workers)")
    args = parser.parse_args()

    backend = "PostgreSQL" if args.pg else "SQLite"
    load_before = os.getloadavg()
    results = []
    for number in range(args.repeat):
        result = measure(
            args.pg,
            args.batches,
            args.batch_size,
            args.single,
            args.seed + number,
            args.span,
            args.stream,
            args.clients,
            args.workers,
            args.spread,
        )
        results.append(result)
        batches = (
            f"{result.events_per_s:,.0f} events/s in batches, raw {result.raw_rows_per_s:,.0f} rows/s "
            f"(ratio {result.events_per_s / result.raw_rows_per_s:.2f}), "
            if args.batches
            else ""
        )
        console.print(
            f"repeat {number + 1}: {batches}{result.single_per_s:,.0f} events/s one by one "
            f"({result.single_ms:.2f} ms median request)",
            soft_wrap=True,
        )
    load_after = os.getloadavg()
    speed = machine.describe()

    def median(name: str) -> float:
        return statistics.median(getattr(r, name) for r in results)

    shape = f"runs spread over {args.spread:g} days" if args.spread else f"a batch spans {args.span:g} s"
    table = Table(
        title=f"Ingest into {backend} through POST /api/v1/events (median of {len(results)}; "
        f"{shape}{', time order' if args.stream else ''}, "
        f"{args.clients} client{'s' if args.clients > 1 else ''}, {args.workers} server process"
        f"{'es' if args.workers > 1 else ''})"
    )
    table.add_column("")
    table.add_column("value", justify="right")
    if args.batches:
        add_batch_rows(table, results, args.batch_size, args.pg)
    if args.single:
        singles = sorted(r.single_per_s for r in results)
        table.add_row(
            "one event per request: events/s (median; each repeat)",
            f"{median('single_per_s'):,.0f} ({' · '.join(f'{x:,.0f}' for x in singles)})",
        )
        table.add_row("  ms per request (median)", f"{median('single_ms'):,.2f}")
        if args.batches:
            table.add_row("batches ÷ one by one", f"{median('events_per_s') / median('single_per_s'):,.0f}x")
    console.print(table)
    console.print(
        f"load average (1, 5, 15 min) before {', '.join(f'{x:.2f}' for x in load_before)}, "
        f"after {', '.join(f'{x:.2f}' for x in load_after)}; {os.cpu_count()} CPUs; {speed}",
        soft_wrap=True,
    )


if __name__ == "__main__":
    main()
