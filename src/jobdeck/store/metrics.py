"""What `/metrics` exports, read from the day rollups and the live-run index (never a scan of runs).

Counters are sums over every day cell of all time, so they come out the same from any replica and
after any restart. Days before today are merged once and kept while their cells' versions are
unchanged (rollups.cached); today's cells are read on every scrape.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from jobdeck.analytics import sketch
from jobdeck.store import rollups
from jobdeck.store import runs as run_rows
from jobdeck.store.schema import rollups as cells
from jobdeck.store.schema import runs

DAY = 86400
# The counters summed per job for the exposition.
SUMMED = (
    "succeeded",
    "failed",
    "cancelled",
    "lost",
    "dur_count",
    "dur_sum",
    "wait_count",
    "wait_sum",
    "items_succeeded",
    "items_failed",
    "items_skipped",
)


Edges = tuple[float, ...]


@dataclass
class JobTotals:
    """One job's all-time counters, and its durations and queue waits counted in fixed buckets
    (sketch.bucket_counts: one count per edge and one past the last, not cumulative)."""

    counts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SUMMED, 0))
    durations: list[int] = field(default_factory=list)
    waits: list[int] = field(default_factory=list)

    def add(self, other: JobTotals) -> None:
        for name, value in other.counts.items():
            self.counts[name] += value
        self.durations = _added(self.durations, other.durations)
        self.waits = _added(self.waits, other.waits)


def _added(a: list[int], b: list[int]) -> list[int]:
    if not a or not b:
        return list(a or b)
    return [x + y for x, y in zip(a, b, strict=True)]


def totals_by_job(
    conn: Connection, duration_edges: Edges, wait_edges: Edges, now: float | None = None
) -> dict[str, JobTotals]:
    """All-time totals per job: past days (merged once, reused while unchanged) plus today's cells."""
    today = int(now if now is not None else time.time())
    today -= today % DAY
    edges = (duration_edges, wait_edges)
    past = rollups.cached(
        conn, ("metrics-totals", edges), DAY, 0, today, None, lambda: _totals(conn, 0, today, *edges)
    )
    result: dict[str, JobTotals] = {}
    for part in (past, _totals(conn, today, None, *edges)):
        for job, totals in part.items():
            found = result.get(job)
            if found is None:
                found = result[job] = JobTotals()
            found.add(totals)
    return result


def _totals(
    conn: Connection, lo: int, hi: int | None, duration_edges: Edges, wait_edges: Edges
) -> dict[str, JobTotals]:
    """Day cells with a bucket in [lo, hi) (hi None: no end) summed per job."""
    query = select(cells.c.job, *(cells.c[name] for name in SUMMED), cells.c.dur_hist, cells.c.wait_hist)
    query = query.where(cells.c.granularity == DAY, cells.c.bucket >= lo)
    if hi is not None:
        query = query.where(cells.c.bucket < hi)
    result: dict[str, JobTotals] = {}
    sketches: dict[str, tuple[dict[int, int], dict[int, int]]] = {}
    width = len(SUMMED)
    for row in conn.execute(query):
        totals = result.get(row[0])
        if totals is None:
            totals = result[row[0]] = JobTotals()
            sketches[row[0]] = ({}, {})
        counts = totals.counts
        for name, value in zip(SUMMED, row[1 : 1 + width], strict=True):
            counts[name] += value or 0
        durations, waits = sketches[row[0]]
        if row[1 + width]:
            sketch.add_into(durations, sketch.decode(row[1 + width]))
        if row[2 + width]:
            sketch.add_into(waits, sketch.decode(row[2 + width]))
    for job, (durations, waits) in sketches.items():
        result[job].durations = sketch.bucket_counts(durations, duration_edges)
        result[job].waits = sketch.bucket_counts(waits, wait_edges)
    return result


def last_success_by_job(conn: Connection, jobs: Sequence[str]) -> dict[str, float]:
    """Epoch seconds of each job's latest successful run's end (index seeks, runs.latest_by_job)."""
    latest = run_rows.latest_by_job(conn, jobs)
    return {
        job: found["last_success_at"].timestamp() for job, found in latest.items() if found["last_success_at"]
    }


def running_by_job(conn: Connection) -> dict[str, int]:
    """Runs running now per job (the partial index of live runs)."""
    query = select(runs.c.job, func.count()).where(runs.c.status == "running").group_by(runs.c.job)
    return {job: int(n) for job, n in conn.execute(query)}


def pending_by_queue(conn: Connection) -> dict[str, int]:
    """Runs waiting to start per named queue: jobdeck's own view of each queue's depth."""
    query = (
        select(runs.c.queue, func.count())
        .where(runs.c.status == "pending", runs.c.queue.is_not(None))
        .group_by(runs.c.queue)
    )
    return {queue: int(n) for queue, n in conn.execute(query)}
