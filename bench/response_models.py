"""What a response model costs: FastAPI's response step (validate, then write JSON) per big answer.

    python bench/response_models.py --runs 8000 --jobs 300

Records runs into a temporary SQLite store, builds the answers of the big reads as the routes do, and
times the step FastAPI runs on each: with the route's model, and with `dict[str, Any]` (what a route
annotated `-> dict[str, Any]` had before the models). Prints the median of --repeat tries in ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

import machine
from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store, reports, timeseries
from jobdeck.store import runs as run_rows
from jobdeck.web.api import models, seed
from jobdeck.web.deps import Window


def record(store: Store, runs: int, jobs: int) -> None:
    now = datetime.now(UTC)
    recorder, batch = Recorder(store), []
    for i in range(runs):
        start = now - timedelta(hours=20) + timedelta(seconds=i * 72_000 / runs)
        outcome = "failed" if i % 9 == 0 else "succeeded"
        batch += [
            make_event(f"r{i}", "started", start, {"job": f"job_{i % jobs}", "queue": "q", "worker": "w"}),
            make_event(f"r{i}", outcome, start + timedelta(seconds=5 + i % 40), {}),
        ]
        if len(batch) >= 5000:
            recorder.record(batch)
            batch = []
    recorder.record(batch)


def answers(store: Store) -> dict[str, tuple[Any, Any]]:
    """Each big answer as its route builds it, with the route's model."""
    window = Window.last(24)
    since, until = int(window.since.timestamp()), int(window.until.timestamp()) + 1
    with store.read() as conn:
        page, _ = run_rows.list_runs(conn, since=window.since, until=window.until, limit=1000)
        found, _ = run_rows.list_runs(conn, since=window.since, until=window.until, limit=seed.MAX_JOBS)
        return {
            "GET /api/v1/runs?limit=1000": (models.RunPage, {"runs": page, "next_cursor": None}),
            "GET /api/v1/jobs": (
                models.JobList,
                {"jobs": reports.job_summaries(conn, window.since, window.until)},
            ),
            "GET /api/v1/heatmap": (
                models.Heatmap,
                {"job": None, **timeseries.heatmap(conn, since, until, None)},
            ),
            "POST /api/jobs (seed)": (
                models.SeedJobs,
                {
                    "jobs": [seed._seed_job(run) for run in found],
                    "job_types": [],
                    "count": 0,
                    "truncated": False,
                },
            ),
        }


def median_ms(adapter: TypeAdapter[Any], payload: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        adapter.dump_json(adapter.validate_python(payload))
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8000)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{Path(folder) / 'bench.db'}")
        store.migrate()
        record(store, args.runs, args.jobs)
        print(f"{args.runs} runs of {args.jobs} jobs; median of {args.repeat}, ms; {machine.describe()}")
        print(f"{'answer':32} {'dict[str, Any]':>15} {'model':>10}")
        for name, (model, payload) in answers(store).items():
            loose = median_ms(TypeAdapter(dict[str, Any]), payload, args.repeat)
            typed = median_ms(TypeAdapter(model), payload, args.repeat)
            print(f"{name:32} {loose:15.2f} {typed:10.2f}")
        store.close()


if __name__ == "__main__":
    main()
