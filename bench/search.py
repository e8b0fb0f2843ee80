"""Search benchmark: run-list search latency over a large runs table, SQLite and PostgreSQL.

    python bench/search.py --db sqlite:////tmp/search.db --runs 1000000
    python bench/search.py --db postgresql://postgres@127.0.0.1:5432/jobdeck_bench --runs 1000000

Records synthetic finished runs through the recorder (one run every 30 s; 10% failed with a
varied error message; args carry a customer id), so the search index is built as runs arrive;
then times one page of `find_runs` (best of 3) for rare and common texts (a run id prefix, words
of an error message, a customer id in args), alone and with filters, and a second page through
the cursor.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from jobdeck.events import Event, make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store, bulk
from jobdeck.store.schema import runs
from jobdeck.store.search import RunFilter, find_runs

JOBS = [f"job_{i:02d}" for i in range(20)]
ERRORS = [
    "timeout after {n}s talking to api-{m}",
    "order {n} not found",
    "disk full on /var/{m}",
    "KeyError 'user_{n}'",
    "connection reset by peer {m}",
]


def synthetic_run(rnd: random.Random, i: int, start: datetime) -> list[Event]:
    """One finished run's events (started, outcome): one run every 30 s, 10 % failed."""
    at = start + timedelta(seconds=30 * i)
    failed = rnd.random() < 0.1
    run_id = "needle-old-run-0001" if i == 1000 else str(uuid.UUID(int=rnd.getrandbits(128)))
    fields = {
        "job": rnd.choice(JOBS),
        "queue": rnd.choice(["default", "high"]),
        "args": [rnd.randrange(10**6), {"customer": f"cust-{rnd.randrange(50_000)}"}],
    }
    outcome: dict[str, Any] = {}
    if failed:
        message = rnd.choice(ERRORS).format(n=rnd.randrange(10**6), m=rnd.randrange(100))
        outcome = {"error_type": "RuntimeError", "error_message": message}
    return [
        make_event(run_id, "started", at, fields),
        make_event(run_id, "failed" if failed else "succeeded", at + timedelta(seconds=5), outcome),
    ]


def generate(store: Store, count: int) -> None:
    rnd = random.Random(1)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with store.read() as conn:
        if conn.execute(select(func.count()).select_from(runs)).scalar_one():
            print("runs already there: timing the searches only")
            return
    recorder = Recorder(store)
    began = time.perf_counter()
    for first in range(0, count, 10_000):
        batch = [e for i in range(first, min(first + 10_000, count)) for e in synthetic_run(rnd, i, start)]
        recorder.record(batch)
    with store.write() as conn:
        bulk.analyze(conn)  # the planner's statistics, as autovacuum would gather them in time
    took = time.perf_counter() - began
    rate = count / took
    print(f"{store.backend}: recorded {count:,} runs in {took:.1f} s ({rate:,.0f} runs/s, index included)")


def timed(store: Store, label: str, where: RunFilter, cursor: str | None = None) -> str | None:
    best = float("inf")
    with store.read() as conn:
        for _ in range(3):
            began = time.perf_counter()
            rows, next_cursor = find_runs(conn, where, cursor=cursor)
            best = min(best, time.perf_counter() - began)
    print(f"  {label:45s} {best * 1000:8.1f} ms  {len(rows)} rows")
    return next_cursor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=1_000_000)
    args = parser.parse_args()
    store = Store(args.db)
    store.migrate()
    generate(store, args.runs)
    timed(store, "rare: an old run's id", RunFilter(text="needle-old"))
    timed(store, "rare: a customer id in args", RunFilter(text='"cust-4242"'))
    timed(store, "rare + status + job", RunFilter(text="needle-old", statuses=("failed",), job="job_01"))
    cursor = timed(store, "common: first page", RunFilter(text="timeout after"))
    timed(store, "common: second page", RunFilter(text="timeout after"), cursor)
    timed(store, "common + job", RunFilter(text="timeout after", job="job_03"))
    timed(store, "no search, failed, first page", RunFilter(statuses=("failed",)))
    store.close()


if __name__ == "__main__":
    main()
