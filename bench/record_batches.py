"""Where the write path spends its time: 10,000-event batches of fresh runs, parsed and recorded.

    python bench/record_batches.py --db sqlite:////tmp/scale/record.db
    python bench/record_batches.py --db postgresql://postgres@127.0.0.1:5432/scale_record

Each batch is what a busy source posts to /api/v1/events: 3,334 runs (enqueued, started,
succeeded) of 40 jobs. Prints the median batch's time for parsing (JSON and validation, as the
endpoint does) and recording, the events a second, and each store step's share. The HTTP layer
is left out (bench/ingest.py measures the endpoint). Use an empty store.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import machine
from jobdeck.recorder import Recorder
from jobdeck.store import Store, rollups, run_writes
from jobdeck.web.api.ingest import decode_events

STEPS: dict[str, float] = defaultdict(float)


def timed(module: Any, name: str) -> None:
    """Wrap module.name so its time adds up in STEPS."""
    inner: Callable[..., Any] = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            STEPS[name] += time.perf_counter() - began

    setattr(module, name, wrapper)


def payload(batch: int, rnd: random.Random) -> list[dict[str, Any]]:
    base = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=batch)
    events = []
    for i in range(3334):
        run_id, start = f"b{batch}-{i}", base + timedelta(seconds=i)
        events += [
            {"run_id": run_id, "event": "enqueued", "job": f"job{i % 40}", "queue": "default",
             "at": (start - timedelta(seconds=1)).isoformat()},
            {"run_id": run_id, "event": "started", "at": start.isoformat(), "worker": "w1"},
            {"run_id": run_id, "event": "succeeded", "items_succeeded": 3,
             "at": (start + timedelta(seconds=rnd.random() * 10)).isoformat()},
        ]  # fmt: skip
    return events[:10_000]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True)
    parser.add_argument("--batches", type=int, default=12)
    args = parser.parse_args()
    # The runs' inserts and updates are built here (a PostgreSQL COPY runs at once) and sent with the
    # rollup cells' statements, so apply_changes' time holds their execution.
    for name in ("load", "insert_statements", "update_statements"):
        timed(run_writes, name)
    timed(rollups, "apply_changes")
    store = Store(args.db)
    store.migrate()
    recorder = Recorder(store)
    rnd = random.Random(1)
    bodies = [json.dumps(payload(b, rnd)).encode() for b in range(args.batches)]
    parse, record = [], []
    for index, body in enumerate(bodies):
        began = time.perf_counter()
        events = decode_events(body, 50_000).events
        parsed = time.perf_counter()
        recorder.record(events)
        done = time.perf_counter()
        if index == 0:  # warm-up: imports, statement caches, the first pages of every table
            STEPS.clear()
            continue
        parse.append(parsed - began)
        record.append(done - parsed)
    speed = machine.describe()
    n = len(parse)
    p, r = statistics.median(parse), statistics.median(record)
    print(f"{store.backend}: {n} batches of 10,000 events (median batch)")
    print(f"  parse  {p * 1000:6.0f} ms")
    print(f"  record {r * 1000:6.0f} ms   ({10_000 / r:,.0f} events/s recorded)")
    print(f"  both   {(p + r) * 1000:6.0f} ms   ({10_000 / (p + r):,.0f} events/s)")
    for name, seconds in STEPS.items():
        print(f"    {name:14s} {seconds / n * 1000:6.1f} ms/batch")
    print(speed)
    store.close()


if __name__ == "__main__":
    main()
