"""Search benchmark: run-list search latency over a large runs table, SQLite and PostgreSQL.

    python bench/search.py --db sqlite:////tmp/search.db --runs 1000000
    python bench/search.py --db postgresql://postgres@127.0.0.1:5432/jobdeck_bench --runs 1000000

Writes synthetic finished runs straight into the runs table (one run every 30 s; 10% failed with
a varied error message; args carry a customer id), so the search index is built by its triggers
(SQLite) or by PostgreSQL as rows arrive; then times one page of `find_runs` (best of 3) for rare
and common texts, alone and with filters, and a second page through the cursor.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from jobdeck.store import Store
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


def synthetic_run(rnd: random.Random, i: int, start: datetime) -> dict[str, Any]:
    at = start + timedelta(seconds=30 * i)
    failed = rnd.random() < 0.1
    return {
        "run_id": "needle-old-run-0001" if i == 1000 else str(uuid.UUID(int=rnd.getrandbits(128))),
        "job": rnd.choice(JOBS),
        "status": "failed" if failed else "succeeded",
        "queue": rnd.choice(["default", "high"]),
        "created_at": at,
        "started_at": at,
        "finished_at": at + timedelta(seconds=5),
        "run_at": at,
        "duration_s": 5.0,
        "attempt": 1,
        "args": [rnd.randrange(10**6), {"customer": f"cust-{rnd.randrange(50_000)}"}],
        "error_type": "RuntimeError" if failed else None,
        "error_message": rnd.choice(ERRORS).format(n=rnd.randrange(10**6), m=rnd.randrange(100))
        if failed
        else None,
        "fold_key": "bench",
        "fold_state": {},
    }


def generate(store: Store, count: int) -> None:
    rnd = random.Random(1)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    began = time.perf_counter()
    with store.write() as conn:
        if conn.execute(select(func.count()).select_from(runs)).scalar_one():
            print("runs already there: timing the searches only")
            return
        for first in range(0, count, 10_000):
            batch = [synthetic_run(rnd, i, start) for i in range(first, min(first + 10_000, count))]
            conn.execute(insert(runs), batch)
    took = time.perf_counter() - began
    rate = count / took
    print(f"{store.backend}: wrote {count:,} runs in {took:.1f} s ({rate:,.0f} runs/s, index included)")


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
