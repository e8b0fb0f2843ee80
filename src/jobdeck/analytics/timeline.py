"""The timeline's data: runs as compact bars in per-job sub-lanes, with overlap regions (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from jobdeck.analytics.overlaps import Interval, lanes, regions, sweep


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def intervals_of(rows: Sequence[Mapping[str, Any]], now: datetime) -> list[Interval]:
    """Run rows (run_id, started_at, finished_at) as intervals in epoch seconds; live runs end now."""
    return [
        Interval(
            row["run_id"],
            row["started_at"].timestamp(),
            max(row["started_at"], row["finished_at"] or now).timestamp(),
        )
        for row in rows
    ]


def timeline(
    rows: Sequence[Mapping[str, Any]], since: datetime, until: datetime, now: datetime, truncated: bool
) -> dict[str, Any]:
    """Bars [job index, lane, start ms, end ms, status, run id], per-job overlap regions
    [job index, start ms, end ms, peak], and the concurrency of all jobs [[t ms, n], …]."""
    by_job: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_job[row["job"]].append(row)
    names = sorted(by_job)
    bars: list[list[Any]] = []
    marked: list[list[Any]] = []
    jobs = []
    for index, name in enumerate(names):
        job_rows = by_job[name]
        ivs = intervals_of(job_rows, now)
        assigned = lanes(ivs)
        for row, iv, lane in zip(job_rows, ivs, assigned, strict=True):
            bars.append([index, lane, int(iv.start * 1000), int(iv.end * 1000), row["status"], row["run_id"]])
        for start, end, peak in regions(sweep(ivs, max_pairs=0).concurrency):
            marked.append([index, int(start * 1000), int(end * 1000), peak])
        jobs.append({"job": name, "lanes": max(assigned, default=0) + 1, "runs": len(job_rows)})
    everything = sweep(intervals_of(rows, now), max_pairs=0)
    return {
        "since": _ms(since),
        "until": _ms(until),
        "now": _ms(now),
        "jobs": jobs,
        "runs": bars,
        "overlaps": marked,
        "concurrency": [[int(t * 1000), n] for t, n in everything.concurrency],
        "max_concurrency": everything.max_concurrency,
        "truncated": truncated,
    }
