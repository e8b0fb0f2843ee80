"""Per-job rollups by minute, hour and day, kept by adding each run's contribution.

The recorder calls `apply_changes` in the same transaction as the runs it
writes: for every run that changed, its old contribution is taken away and its
new one added. Counters and histogram bins are sums, so that is exact; a
minimum or maximum cannot be taken away, so a cell that loses a duration has
them recomputed from its raw runs (rare: only a finished run that changes).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite

from jobdeck.analytics import sketch
from jobdeck.domain import DURATION_STATUSES
from jobdeck.events import to_micros
from jobdeck.store.schema import rollup_bins, rollups, runs

GRANULARITIES = (60, 3600, 86400)
DURATION, WAIT = 0, 1
COUNTERS = (
    "runs",
    "pending",
    "running",
    "retrying",
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
_INDEX = {name: i for i, name in enumerate(COUNTERS)}


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one run adds to the rollups."""

    job: str
    at: int  # epoch seconds of run_at
    status: str
    duration: float | None
    wait: float | None
    items: tuple[int, int, int]


def contribution_of(row: Mapping[Any, Any]) -> Contribution:
    """A run row's contribution: counted at run_at; duration only for real outcomes."""
    status = row["status"]
    duration = row["duration_s"] if status in DURATION_STATUSES else None
    wait = None
    state = row.get("fold_state") or {}
    if row.get("started_at") is not None and state.get("enq"):
        wait = max(0.0, (row["started_at"] - row["created_at"]).total_seconds())
    return Contribution(
        job=row["job"],
        at=to_micros(row["run_at"]) // 1_000_000,
        status=status,
        duration=duration,
        wait=wait,
        items=(row.get("items_succeeded") or 0, row.get("items_failed") or 0, row.get("items_skipped") or 0),
    )


@dataclass
class Changes:
    """Accumulated rollup deltas for one transaction."""

    cells: dict[tuple[int, int, str], list[float]]
    extremes: dict[tuple[int, int, str], tuple[float, float]]
    bins: dict[tuple[int, int, str, int, int], int]
    recompute: set[tuple[int, int, str]]
    removed: bool = False

    @classmethod
    def empty(cls) -> Changes:
        return cls(defaultdict(lambda: [0.0] * len(COUNTERS)), {}, defaultdict(int), set())

    def add(self, c: Contribution, sign: int) -> None:
        if sign < 0:
            self.removed = True
        for g in GRANULARITIES:
            cell = (g, c.at - c.at % g, c.job)
            v = self.cells[cell]
            v[0] += sign
            v[_INDEX[c.status]] += sign
            v[12] += sign * c.items[0]
            v[13] += sign * c.items[1]
            v[14] += sign * c.items[2]
            if c.duration is not None:
                v[8] += sign
                v[9] += sign * c.duration
                self.bins[(*cell, DURATION, sketch.bin_of(c.duration))] += sign
                if sign > 0:
                    lo, hi = self.extremes.get(cell, (c.duration, c.duration))
                    self.extremes[cell] = (min(lo, c.duration), max(hi, c.duration))
                else:
                    self.recompute.add(cell)
            if c.wait is not None:
                v[10] += sign
                v[11] += sign * c.wait
                self.bins[(*cell, WAIT, sketch.bin_of(c.wait))] += sign

    def change(self, old: Contribution | None, new: Contribution | None) -> None:
        if old == new:
            return
        if old is not None:
            self.add(old, -1)
        if new is not None:
            self.add(new, +1)


def _insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def apply_changes(conn: Connection, changes: Changes) -> None:
    """Write accumulated deltas: additive upserts, then cleanup and min/max recomputation."""
    cell_rows = []
    for (g, bucket, job), v in sorted(changes.cells.items()):
        if not any(v) and (g, bucket, job) not in changes.extremes:
            continue
        row: dict[str, Any] = {"granularity": g, "bucket": bucket, "job": job}
        for name, value in zip(COUNTERS, v, strict=True):
            row[name] = value if name in ("dur_sum", "wait_sum") else round(value)
        lo_hi = changes.extremes.get((g, bucket, job))
        row["dur_min"], row["dur_max"] = lo_hi if lo_hi else (None, None)
        cell_rows.append(row)
    if cell_rows:
        stmt = _insert(conn, rollups)
        ex = stmt.excluded
        sets: dict[str, Any] = {name: rollups.c[name] + ex[name] for name in COUNTERS}
        sets["dur_min"] = case(
            (rollups.c.dur_min.is_(None), ex.dur_min),
            (and_(ex.dur_min.is_not(None), ex.dur_min < rollups.c.dur_min), ex.dur_min),
            else_=rollups.c.dur_min,
        )
        sets["dur_max"] = case(
            (rollups.c.dur_max.is_(None), ex.dur_max),
            (and_(ex.dur_max.is_not(None), ex.dur_max > rollups.c.dur_max), ex.dur_max),
            else_=rollups.c.dur_max,
        )
        conn.execute(
            stmt.on_conflict_do_update(index_elements=["granularity", "bucket", "job"], set_=sets),
            cell_rows,
        )
    bin_rows = [
        {"granularity": g, "bucket": b, "job": j, "metric": m, "bin": i, "n": n}
        for (g, b, j, m, i), n in sorted(changes.bins.items())
        if n
    ]
    if bin_rows:
        stmt = _insert(conn, rollup_bins)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["granularity", "bucket", "job", "metric", "bin"],
                set_={"n": rollup_bins.c.n + stmt.excluded.n},
            ),
            bin_rows,
        )
    if changes.removed:
        conn.execute(delete(rollup_bins).where(rollup_bins.c.n <= 0))
        conn.execute(delete(rollups).where(rollups.c.runs <= 0))
    for g, bucket, job in sorted(changes.recompute):
        _recompute_extremes(conn, g, bucket, job)


def _recompute_extremes(conn: Connection, g: int, bucket: int, job: str) -> None:
    lo, hi = epoch(bucket), epoch(bucket + g)
    durations = (
        select(func.min(runs.c.duration_s), func.max(runs.c.duration_s))
        .where(runs.c.job == job, runs.c.run_at >= lo, runs.c.run_at < hi)
        .where(runs.c.status.in_([s.value for s in DURATION_STATUSES]), runs.c.duration_s.is_not(None))
    )
    low, high = conn.execute(durations).one()
    conn.execute(
        update(rollups)
        .where(rollups.c.granularity == g, rollups.c.bucket == bucket, rollups.c.job == job)
        .values(dur_min=low, dur_max=high)
    )


def epoch(seconds: int) -> datetime:
    """The aware UTC datetime of epoch seconds."""
    return datetime.fromtimestamp(seconds, tz=UTC)


# --- reading -----------------------------------------------------------------------------------


def cover(since: int, until: int) -> list[tuple[int, int, int]]:
    """Split [since, until) into (granularity, lo, hi) ranges of whole buckets, coarsest in the middle.

    Times are epoch seconds; the window is resolved to whole minutes: the minute holding
    `since` is in, and so is the minute holding `until - 1`.
    """
    lo = since - since % 60
    hi = until - until % 60 + (60 if until % 60 else 0)
    return _cover(lo, hi, len(GRANULARITIES) - 1)


def _cover(lo: int, hi: int, level: int) -> list[tuple[int, int, int]]:
    if lo >= hi:
        return []
    g = GRANULARITIES[level]
    if level == 0:
        return [(g, lo, hi)]
    inner_lo = lo + (-lo) % g
    inner_hi = hi - hi % g
    if inner_lo >= inner_hi:
        return _cover(lo, hi, level - 1)
    return [*_cover(lo, inner_lo, level - 1), (g, inner_lo, inner_hi), *_cover(inner_hi, hi, level - 1)]


def totals_by_job(
    conn: Connection, since: int, until: int, job: str | None = None
) -> dict[str, dict[str, Any]]:
    """Summed counters, min and max duration per job over the window."""
    ranges = cover(since, until)
    if not ranges:
        return {}
    parts = []
    for g, lo, hi in ranges:
        part = select(
            rollups.c.job,
            *(func.sum(rollups.c[name]).label(name) for name in COUNTERS),
            func.min(rollups.c.dur_min).label("dur_min"),
            func.max(rollups.c.dur_max).label("dur_max"),
        ).where(rollups.c.granularity == g, rollups.c.bucket >= lo, rollups.c.bucket < hi)
        if job is not None:
            part = part.where(rollups.c.job == job)
        parts.append(part.group_by(rollups.c.job))
    sub = union_all(*parts).subquery()
    query = select(
        sub.c.job,
        *(func.sum(sub.c[name]).label(name) for name in COUNTERS),
        func.min(sub.c.dur_min).label("dur_min"),
        func.max(sub.c.dur_max).label("dur_max"),
    ).group_by(sub.c.job)
    return {row.job: dict(row._mapping) for row in conn.execute(query)}


def bins_by_job(
    conn: Connection, since: int, until: int, metric: int = DURATION, job: str | None = None
) -> dict[str, dict[int, int]]:
    """Merged histogram bins per job over the window."""
    ranges = cover(since, until)
    result: dict[str, dict[int, int]] = defaultdict(dict)
    if not ranges:
        return result
    parts = []
    for g, lo, hi in ranges:
        part = select(rollup_bins.c.job, rollup_bins.c.bin, func.sum(rollup_bins.c.n).label("n")).where(
            rollup_bins.c.granularity == g,
            rollup_bins.c.metric == metric,
            rollup_bins.c.bucket >= lo,
            rollup_bins.c.bucket < hi,
        )
        if job is not None:
            part = part.where(rollup_bins.c.job == job)
        parts.append(part.group_by(rollup_bins.c.job, rollup_bins.c.bin))
    sub = union_all(*parts).subquery()
    query = select(sub.c.job, sub.c.bin, func.sum(sub.c.n)).group_by(sub.c.job, sub.c.bin)
    for job_name, index, n in conn.execute(query):
        if n:
            result[job_name][int(index)] = int(n)
    return result


def all_cells(
    conn: Connection, since: int | None = None, until: int | None = None
) -> Iterable[Mapping[Any, Any]]:
    """Every rollup row with a bucket in [since, until) (for verification)."""
    query = select(rollups)
    if since is not None:
        query = query.where(rollups.c.bucket >= since)
    if until is not None:
        query = query.where(rollups.c.bucket < until)
    return (row._mapping for row in conn.execute(query))


def all_bins(
    conn: Connection, since: int | None = None, until: int | None = None
) -> Iterable[Mapping[Any, Any]]:
    """Every histogram bin with a bucket in [since, until) (for verification)."""
    query = select(rollup_bins)
    if since is not None:
        query = query.where(rollup_bins.c.bucket >= since)
    if until is not None:
        query = query.where(rollup_bins.c.bucket < until)
    return (row._mapping for row in conn.execute(query))
