"""The timeline's data (pure): runs as compact bars in per-job sub-lanes with overlap regions, and, for
lanes with more runs than fit, per-bucket summaries (runs, worst status, how busy, overlaps).

Which lanes get bars: every lane when the window's runs fit the bar budget; otherwise the quietest
lanes whose runs fit both the budget and the width (one bar per pixel column at most), and the rest
in buckets of a step chosen so the window spans at most `columns` of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from jobdeck.analytics.overlaps import Interval, lanes, regions, sweep

# Bucket steps in seconds: each divides a day (or is whole days), so buckets align with rollup cells.
STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 2 * 86400, 7 * 86400)
# The most runs drawn as single bars: 10,000 draw in well under half a second.
BAR_BUDGET = 10_000
# Worst first: the status a bucket is shown with is the first of these it holds.
SEVERITY = ("failed", "lost", "cancelled", "retrying", "running", "pending", "succeeded")


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


def bucket_step(span_s: float, columns: int) -> int:
    """The smallest step (seconds) that cuts a window of `span_s` into at most `columns` buckets."""
    for step in STEPS:
        if span_s / step <= columns:
            return step
    return STEPS[-1]


def split_lanes(counts: Mapping[str, int], budget: int, per_lane: int) -> tuple[list[str], list[str]]:
    """(jobs drawn as bars, jobs drawn in buckets): all bars when the runs fit `budget`; otherwise the
    quietest jobs with at most `per_lane` runs each, while their sum fits the budget."""
    if sum(counts.values()) <= budget:
        return sorted(counts), []
    bars: list[str] = []
    bucketed: list[str] = []
    used = 0
    for name, n in sorted(counts.items(), key=lambda kv: (kv[1], kv[0])):
        if n <= per_lane and used + n <= budget:
            bars.append(name)
            used += n
        else:
            bucketed.append(name)
    return sorted(bars), sorted(bucketed)


def worst_status(cell: Mapping[str, int]) -> str:
    """The most severe status counted in a bucket."""
    return next((name for name in SEVERITY if cell.get(name)), "succeeded")


def overlapped(cell: Mapping[str, Any], step: int) -> bool:
    """True when the runs of one job in a bucket certainly overlapped each other.

    Runs that never overlap end before the next one starts, so all but the last of those that started
    in a bucket fit inside it: durations summing to more than the step plus the longest one prove an
    overlap. Two of a job's runs running now overlap too."""
    longest = float(cell.get("dur_max") or 0.0)
    return float(cell["dur_sum"]) - longest > step or int(cell.get("running") or 0) >= 2


def bucket_rows(cells: Sequence[Sequence[Any]], index: Mapping[str, int], step: int) -> list[list[Any]]:
    """Buckets as [job index, start ms, end ms, runs, succeeded, failed, running, worst status,
    average running at once, overlapped 0/1], in job and time order.

    `cells` are (job, start s, runs, succeeded, failed, lost, cancelled, running, pending, retrying,
    dur_sum, dur_max) as store.timeline.buckets reads them (ints, and floats or None for the
    durations); one plain loop (no dict or conversion per cell), as 30 days of 200 lanes are 48,200
    buckets. Same rules as `worst_status` and `overlapped`."""
    by_job: list[list[list[Any]]] = [[] for _ in range(max(index.values(), default=-1) + 1)]
    step_ms = step * 1000
    for (
        job,
        start,
        runs,
        succeeded,
        failed,
        lost,
        cancelled,
        running,
        pending,
        retrying,
        total,
        longest,
    ) in cells:
        worst = (
            "failed"
            if failed
            else "lost"
            if lost
            else "cancelled"
            if cancelled
            else "retrying"
            if retrying
            else "running"
            if running
            else "pending"
            if pending
            else "succeeded"
        )
        begin = start * 1000
        i = index[job]
        by_job[i].append(
            [
                i,
                begin,
                begin + step_ms,
                runs,
                succeeded,
                failed + lost,
                running,
                worst,
                round(total / step, 2),
                1 if total - (longest or 0.0) > step or running >= 2 else 0,
            ]
        )
    out: list[list[Any]] = []
    for rows in by_job:  # each in time order already when the cells come so: then a linear check
        rows.sort(key=_START)
        out += rows
    return out


_START = itemgetter(1)


def bucket_overlaps(buckets: Sequence[Sequence[Any]]) -> list[list[int]]:
    """Adjacent overlapped buckets of a job merged into spans [job index, start ms, end ms]."""
    spans: list[list[int]] = []
    for b in buckets:
        if not b[9]:
            continue
        if spans and spans[-1][0] == b[0] and spans[-1][2] == b[1]:
            spans[-1][2] = b[2]
        else:
            spans.append([b[0], b[1], b[2]])
    return spans


def busiest(buckets: Sequence[Sequence[Any]]) -> float | None:
    """The highest average number of runs at once, summed over the bucketed jobs, of any bucket."""
    by_start: dict[int, float] = defaultdict(float)
    for b in buckets:
        by_start[b[1]] += b[8]
    return round(max(by_start.values()), 1) if by_start else None


def timeline(
    rows: Sequence[Mapping[str, Any]],
    since: datetime,
    until: datetime,
    now: datetime,
    truncated: bool,
    *,
    cells: Sequence[Sequence[Any]] = (),
    step: int | None = None,
    counts: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """Bars [job index, lane, start ms, end ms, status, run id], per-job overlap regions
    [job index, start ms, end ms, peak], the concurrency of the barred jobs [[t ms, n], …], and the
    buckets of the lanes too busy for bars (see `bucket_rows`)."""
    by_job: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_job[row["job"]].append(row)
    bucketed = {cell[0] for cell in cells}
    names = sorted(set(by_job) | bucketed)
    index = {name: i for i, name in enumerate(names)}
    bars: list[list[Any]] = []
    marked: list[list[Any]] = []
    barred: list[Interval] = []
    jobs = []
    for i, name in enumerate(names):
        if name in bucketed:
            runs = (counts or {}).get(name) or sum(int(c[2]) for c in cells if c[0] == name)
            jobs.append({"job": name, "lanes": 1, "runs": runs, "detail": "buckets"})
            continue
        job_rows = by_job[name]
        ivs = intervals_of(job_rows, now)
        barred += ivs
        assigned = lanes(ivs)
        for row, iv, lane in zip(job_rows, ivs, assigned, strict=True):
            bars.append([i, lane, int(iv.start * 1000), int(iv.end * 1000), row["status"], row["run_id"]])
        for start, end, peak in regions(sweep(ivs, max_pairs=0).concurrency):
            marked.append([i, int(start * 1000), int(end * 1000), peak])
        jobs.append(
            {"job": name, "lanes": max(assigned, default=0) + 1, "runs": len(job_rows), "detail": "bars"}
        )
    everything = sweep(barred, max_pairs=0)
    buckets = bucket_rows(cells, index, step) if step else []
    return {
        "since": _ms(since),
        "until": _ms(until),
        "now": _ms(now),
        "detail": "buckets" if not bars and buckets else ("mixed" if buckets else "bars"),
        "step": step * 1000 if step and buckets else None,
        "jobs": jobs,
        "runs": bars,
        "overlaps": marked,
        "buckets": buckets,
        "bucket_overlaps": bucket_overlaps(buckets),
        "runs_in_view": sum(j["runs"] for j in jobs),
        "busiest": busiest(buckets),
        "concurrency": [[int(t * 1000), n] for t, n in everything.concurrency],
        "max_concurrency": everything.max_concurrency,
        "truncated": truncated,
    }
