"""Scale benchmark: read latency over 30 days of history at 100k, 1M and 10M runs.

    python bench/scale.py generate --db sqlite:////tmp/scale/1m.db --runs 1000000
    python bench/scale.py reads --db sqlite:////tmp/scale/1m.db --out /tmp/scale/results.jsonl

`generate` records runs (enqueued, started, outcome) through the recorder, straight into the
store (not through HTTP), in large transactions, so runs and rollups are what ingest writes.
`reads` starts `jobdeck serve` on the store, times the main reads over HTTP (median of
--repeat), reads the server's RSS, and times the seed dashboard's way (select the window's
rows, aggregate in Python) on the same data for the ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx

import machine
from jobdeck.events import Event, make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store, bulk, rollups, verify

JOBS = [f"job{i:02d}" for i in range(40)]  # `generate --jobs N` names N jobs instead
ERRORS = [("TimeoutError", "timed out after 30s"), ("ValueError", "bad row 17"), ("IOError", "disk full")]


def _run_events(
    rnd: random.Random, run_id: str, job: str, start: datetime, median: float, live: str | None
) -> list[Event]:
    """One synthetic run as the events a source would send: enqueued, started, its outcome."""
    created = start - timedelta(seconds=rnd.expovariate(0.5))
    roll = rnd.random()
    status = live or (
        "failed" if roll < 0.05 else "cancelled" if roll < 0.06 else "lost" if roll < 0.065 else "succeeded"
    )
    fields: dict[str, Any] = {
        "job": job,
        "queue": "high" if rnd.random() < 0.2 else "default",
        "items_succeeded": rnd.randrange(100),
    }
    events = [make_event(run_id, "enqueued", created, fields)]
    if live == "pending":
        return events
    events.append(make_event(run_id, "started", start, {"worker": f"worker-{rnd.randrange(8)}"}))
    if live:
        return events
    outcome: dict[str, Any] = {}
    if status == "failed":
        outcome["error_type"], outcome["error_message"] = rnd.choice(ERRORS)
        outcome["items_failed"] = rnd.randrange(3)
    finished = start + timedelta(seconds=rnd.lognormvariate(math.log(median), 0.6))
    events.append(make_event(run_id, status, finished, outcome))
    return events


def generate(url: str, total: int, days: float, chunk: int, seed: int, job_count: int = len(JOBS)) -> None:
    """Record `total` runs of `job_count` jobs spread over the last `days` days through the recorder
    (its write path, rollups included), `chunk` runs a transaction."""
    rnd = random.Random(seed)
    jobs_named = JOBS if job_count == len(JOBS) else [f"job{i:03d}" for i in range(job_count)]
    medians = {job: rnd.choice([0.3, 1.5, 4, 12, 45, 180]) * rnd.uniform(0.7, 1.4) for job in jobs_named}
    weights = [1 / (i + 1) ** 0.7 for i in range(len(jobs_named))]
    store = Store(url)
    store.migrate()
    recorder = Recorder(store)
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=days)
    span = (end - start).total_seconds()
    began = time.perf_counter()
    for first in range(0, total, chunk):
        n = min(chunk, total - first)
        lo, hi = first / total * span, (first + n) / total * span
        offsets = sorted(rnd.uniform(lo, hi) for _ in range(n))
        jobs = rnd.choices(jobs_named, weights, k=n)
        events: list[Event] = []
        for i, (offset, job) in enumerate(zip(offsets, jobs, strict=True)):
            at = start + timedelta(seconds=offset)
            live = None
            if span - offset < 600:  # the last ten minutes: some runs are still going or waiting
                live = "running" if rnd.random() < 0.3 else "pending" if rnd.random() < 0.05 else None
            events += _run_events(rnd, f"run-{first + i:09d}", job, at, medians[job], live)
        recorder.record(events)
        done = first + n
        rate = done / (time.perf_counter() - began)
        print(f"\r{done:>11,} runs  {rate:,.0f} runs/s", end="", file=sys.stderr, flush=True)
    with store.write() as conn:
        bulk.analyze(conn)
    print(f"\ngenerated {total:,} runs in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    store.close()


def seed_way(store: Store, hours: float) -> float:
    """The seed dashboard's /api/stats + /api/jobs: every row of the window into Python, then aggregate."""
    began = time.perf_counter()
    until = datetime.now(UTC)
    durations: dict[str, list[float]] = defaultdict(list)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    with store.read() as conn:
        for _, job, status, _, _, _, duration in verify.window_rows(
            conn, until - timedelta(hours=hours), until
        ):
            counts[(job, status)] += 1
            if duration is not None and status in ("succeeded", "failed"):
                durations[job].append(duration)
    for values in durations.values():
        values.sort()
        _ = (sum(values) / len(values), values[len(values) // 2], values[int(0.95 * (len(values) - 1))])
    return time.perf_counter() - began


def _rss_mb(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def reads(url: str, repeat: int, port: int, out: Path | None, label: str, seed_repeat: int) -> None:
    store = Store(url)
    with store.read() as conn:
        total = sum(int(t["runs"]) for t in rollups.totals_by_job(conn, 0, 2**40).values())
    jobbin = str(Path(sys.executable).with_name("jobdeck"))
    env = {**os.environ, "JOBDECK_DATABASE_URL": url}
    log = Path(f"/tmp/jobdeck-bench-serve-{port}.log").open("w")  # noqa: SIM115 - open while the server runs
    server = subprocess.Popen([jobbin, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {"label": label, "backend": store.backend, "runs": total}
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            for _ in range(100):
                try:
                    if client.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            job, series = "job07", "/api/v1/timeseries"
            paths = {
                "jobs 720h": "/api/v1/jobs?hours=720",
                "stats 720h": "/api/v1/stats?hours=720",
                "jobs 24h": "/api/v1/jobs?hours=24",
                "timeseries runs 720h": "/api/v1/timeseries?metric=runs&hours=720",
                "timeseries failures 720h": "/api/v1/timeseries?metric=failures&hours=720",
                f"timeseries duration_p95 720h {job}": f"{series}?metric=duration_p95&hours=720&job={job}",
                f"timeseries wait_p95 720h {job}": f"{series}?metric=queue_wait_p95&hours=720&job={job}",
                "timeseries duration_p95 720h all jobs": "/api/v1/timeseries?metric=duration_p95&hours=720",
                "timeseries duration_p50 24h all jobs": "/api/v1/timeseries?metric=duration_p50&hours=24",
                f"heatmap 720h {job}": f"/api/v1/heatmap?hours=720&job={job}",
                "runs list 720h": "/api/v1/runs?hours=720&limit=50",
                f"runs list 720h {job} failed": f"/api/v1/runs?hours=720&limit=50&job={job}&status=failed",
                "page /runs": "/runs",
                "page /runs?status=failed": "/runs?status=failed",
                "page /failures": "/failures",
                "page /failures?hours=720": "/failures?hours=720",
                "page /control": "/control",
                "page /": "/",
                f"page /jobs/{job}": f"/jobs/{job}",
            }
            timings: dict[str, Any] = {}
            for name, path in paths.items():
                try:
                    began = time.perf_counter()
                    first = client.get(path)
                    first_ms = round((time.perf_counter() - began) * 1000, 1)
                except httpx.TransportError as exc:
                    timings[name] = {"error": str(exc)}
                    continue
                if first.status_code != 200:
                    timings[name] = {"status": first.status_code}
                    continue
                samples = []
                for _ in range(repeat):
                    began = time.perf_counter()
                    client.get(path).raise_for_status()
                    samples.append((time.perf_counter() - began) * 1000)
                timings[name] = {
                    "median_ms": round(statistics.median(samples), 1),
                    "max_ms": round(max(samples), 1),
                    "first_ms": first_ms,  # before anything was cached in the server
                }
            # Deep keyset pages cost the same as the first.
            cursor, began = None, time.perf_counter()
            for _ in range(20):
                body = client.get(
                    "/api/v1/runs",
                    params={"hours": 720, "limit": 50, **({"cursor": cursor} if cursor else {})},
                ).json()
                cursor = body["next_cursor"]
            timings["runs list, 20 pages deep (per page)"] = {
                "median_ms": round((time.perf_counter() - began) * 50, 1)
            }
        rss, peak = _rss_mb(server.pid)
        results["server_rss_mb"], results["server_peak_rss_mb"] = round(rss, 1), round(peak, 1)
        results["reads"] = timings
    finally:
        server.terminate()
        server.wait(timeout=30)
    seed = [seed_way(store, 720) for _ in range(seed_repeat)]
    results["seed_way_720h_s"] = round(statistics.median(seed), 2)
    results["speed_index_ms"] = round(machine.speed_ms())
    ours = timings["jobs 720h"]["median_ms"] + timings["stats 720h"]["median_ms"]
    results["ratio_seed_over_jobs_plus_stats"] = round(results["seed_way_720h_s"] * 1000 / ours, 1)
    store.close()
    print(json.dumps(results, indent=2))
    if out is not None:
        with out.open("a") as handle:
            handle.write(json.dumps(results) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write runs and rollups in bulk")
    gen.add_argument("--db", required=True)
    gen.add_argument("--runs", type=int, required=True)
    gen.add_argument("--days", type=float, default=30)
    gen.add_argument("--chunk", type=int, default=20_000)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--jobs", type=int, default=len(JOBS), help="How many jobs the runs belong to")
    read = sub.add_parser("reads", help="time the reads against a generated store")
    read.add_argument("--db", required=True)
    read.add_argument("--repeat", type=int, default=15)
    read.add_argument("--seed-repeat", type=int, default=1)
    read.add_argument("--port", type=int, default=5601)
    read.add_argument("--label", default="")
    read.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.command == "generate":
        generate(args.db, args.runs, args.days, args.chunk, args.seed, args.jobs)
    else:
        reads(args.db, args.repeat, args.port, args.out, args.label, args.seed_repeat)


if __name__ == "__main__":
    main()
