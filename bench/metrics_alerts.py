"""Time a /metrics scrape and one evaluation of every alert rule on a generated store.

    python bench/scale.py generate --db sqlite:////tmp/scale/1m-200.db --runs 1000000 --jobs 200
    python bench/metrics_alerts.py --db sqlite:////tmp/scale/1m-200.db

The scrape is timed over HTTP against the app (in this process, through httpx's ASGI transport),
the first scrape apart (it merges every past day's sketches) from the median of the next ones
(past days reused while their cells are unchanged). The evaluation is Evaluator.run_once, each
call a fresh evaluation slot.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from jobdeck.alerts.evaluator import Evaluator
from jobdeck.config import Settings
from jobdeck.store import Store
from jobdeck.store.schema import rollups
from jobdeck.web.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    store = Store(args.db)
    store.migrate()
    with store.read() as conn:
        jobs = conn.execute(rollups.select().with_only_columns(rollups.c.job).distinct()).all()
    client = TestClient(create_app(Settings(database_url=args.db), store))
    began = time.perf_counter()
    first = client.get("/metrics")
    cold = time.perf_counter() - began
    assert first.status_code == 200
    times, cpu = [], []
    for _ in range(args.repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        client.get("/metrics")
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    series = sum(1 for line in first.text.splitlines() if line and not line.startswith("#"))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"jobs: {len(jobs)}; exposition: {len(first.content) / 1024:.0f} KiB, {series} series")
    print(f"scrape, first: {cold * 1000:.0f} ms")
    median, worst = statistics.median(times) * 1000, max(times) * 1000
    cpu_ms = statistics.median(cpu) * 1000
    print(f"scrape, median of {args.repeat}: {median:.1f} ms (max {worst:.1f}); CPU {cpu_ms:.1f} ms")
    evaluator = Evaluator(store, every_s=1)
    now = datetime.now(UTC)
    evaluations = []
    evaluation_cpu = []
    for i in range(5):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = evaluator.run_once(now + timedelta(seconds=2 * i))
        evaluations.append(time.perf_counter() - began)
        evaluation_cpu.append(time.process_time() - began_cpu)
        assert result.claimed
    print(
        f"evaluation of every rule ({result.checked} checks): first {evaluations[0] * 1000:.0f} ms, "
        f"median {statistics.median(evaluations) * 1000:.0f} ms; "
        f"CPU {statistics.median(evaluation_cpu) * 1000:.0f} ms"
    )
    store.close()


if __name__ == "__main__":
    main()
