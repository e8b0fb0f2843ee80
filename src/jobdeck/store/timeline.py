"""The timeline's reads: runs that overlap a window as bars (only the columns a bar needs), how many
runs each job has in the window, and per-job time buckets from the rollups for lanes too busy for bars."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Connection, and_, cast, func, or_, select

from jobdeck.domain import DURATION_STATUSES, LIVE_STATUSES, Status
from jobdeck.store import rollups
from jobdeck.store.schema import rollups as rollup_cells
from jobdeck.store.schema import runs

# A run that started this long before the window and ended inside it is still drawn; an older one
# that is still live is found through the live-runs index. Longer finished runs are left out.
LOOKBACK = timedelta(hours=24)
COLUMNS = ("run_id", "job", "status", "started_at", "finished_at")
# Finished runs whose duration the rollups do not record (lost, cancelled): their reach is not known.
UNTIMED = sorted(s.value for s in Status if s not in DURATION_STATUSES and s not in LIVE_STATUSES)
FEW_JOBS = 8
BUCKET_COUNTERS = ("runs", "succeeded", "failed", "lost", "cancelled", "running", "pending", "retrying")


def runs_overlapping(
    conn: Connection,
    since: datetime,
    until: datetime,
    job: str | None = None,
    limit: int = 20_000,
    jobs: Sequence[str] | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """Started runs whose span meets [since, until], the newest `limit`; returns (runs, truncated).

    `job` or `jobs` narrows the runs to one job or a few (an index range of (job, run_at) each)."""
    cols = [runs.c[name] for name in COLUMNS]
    live = [s.value for s in LIVE_STATUSES]
    names = [job] if job is not None else (list(jobs) if jobs is not None else None)
    reach = lookback(conn, since, names)
    in_window = and_(runs.c.run_at >= since, runs.c.run_at <= until)
    # run_at is the start of a started run, so this is a range of the run_at index.
    reaching_in = and_(
        runs.c.run_at >= since - reach,
        runs.c.run_at < since,
        or_(runs.c.finished_at >= since, runs.c.status.in_(live)),
    )
    query = select(*cols).where(runs.c.started_at.is_not(None), or_(in_window, reaching_in))
    if names is not None:
        query = query.where(runs.c.job.in_(names))
    query = query.order_by(runs.c.run_at.desc()).limit(limit + 1)
    rows = [dict(row._mapping) for row in conn.execute(query)]
    if reach < LOOKBACK:
        # Lost or cancelled runs of the rest of the lookback (a range of the (status, run_at) index):
        # all older than the rows above, so the order holds.
        untimed = select(*cols).where(
            runs.c.status.in_(UNTIMED),
            runs.c.run_at >= since - LOOKBACK,
            runs.c.run_at < since - reach,
            runs.c.finished_at >= since,
            runs.c.started_at.is_not(None),
        )
        if names is not None:
            untimed = untimed.where(runs.c.job.in_(names))
        rows += [dict(row._mapping) for row in conn.execute(untimed.order_by(runs.c.run_at.desc()))]
    old_live = select(*cols).where(
        runs.c.status.in_(live), runs.c.run_at < since - reach, runs.c.started_at.is_not(None)
    )
    if names is not None:
        old_live = old_live.where(runs.c.job.in_(names))
    rows += [dict(row._mapping) for row in conn.execute(old_live.limit(1000))]
    truncated = len(rows) > limit
    return rows[:limit], truncated


def lookback(conn: Connection, since: datetime, names: Sequence[str] | None) -> timedelta:
    """How long before `since` a succeeded or failed run can have started and still reach into the
    window: the longest duration in the hour cells of the LOOKBACK before it (plus a minute), at most
    LOOKBACK. A day of runs before a zoomed hour is 300,000 rows at 10M runs; their cells are 5,000."""
    hour = 3600
    lo = int((since - LOOKBACK).timestamp()) // hour * hour
    hi = int(since.timestamp()) // hour * hour + hour
    query = select(func.max(rollup_cells.c.dur_max)).where(
        rollup_cells.c.granularity == hour, rollup_cells.c.bucket >= lo, rollup_cells.c.bucket < hi
    )
    if names is not None:
        query = query.where(rollup_cells.c.job.in_(names))
    longest = conn.execute(query).scalar()
    if longest is None:
        return timedelta(minutes=1)
    return min(LOOKBACK, timedelta(seconds=float(longest) + 60))


def runs_in_view(
    conn: Connection, since: datetime, until: datetime, job: str | None = None
) -> dict[str, int]:
    """Runs per job in [since, until] by their run time, from the rollups (whole minutes at the edges)."""
    totals = rollups.totals_by_job(conn, int(since.timestamp()), int(until.timestamp()) + 1, job)
    return {name: int(t.get("runs") or 0) for name, t in totals.items() if t.get("runs")}


def granularity_for(step: int) -> int:
    """The coarsest rollup granularity whose cells tile buckets of `step` seconds."""
    return max(g for g in rollups.GRANULARITIES if step % g == 0)


def buckets(
    conn: Connection, since: datetime, until: datetime, step: int, jobs: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Per job and bucket of `step` seconds (aligned to the epoch) meeting [since, until]: the run
    counts by status, the duration sum and the longest duration, summed from rollup cells, as tuples
    (job, start, *BUCKET_COUNTERS, dur_sum, dur_max) of ints (and floats for the durations, the
    longest None when no run has one) — tuples, not dicts: 30 days of 200 lanes are
    48,200 of them.

    The cost follows cells (buckets times jobs times cells per bucket), not runs: one grouped range read of
    the rollups' primary key at the coarsest granularity that tiles a bucket. For many jobs, the whole
    hours or days inside the window come from `chunk_buckets`, read again only where cells changed."""
    if not jobs or step <= 0:
        return []
    g = granularity_for(step)
    lo = int(since.timestamp()) // step * step
    hi = (int(until.timestamp()) // step + 1) * step
    wanted = set(jobs)
    if len(wanted) <= FEW_JOBS:
        # A few jobs: a range of the (granularity, job, bucket) index each. Many: one range of the
        # primary key (granularity, bucket, job), the other jobs' cells skipped here; seeking per job
        # row by row was five times slower.
        cells = _read_buckets(conn, g, step, lo, hi, sorted(wanted))
    elif size := chunk_of(g, step):
        cells = chunk_buckets.read(conn, g, step, size, lo, hi)
    else:
        cells = _read_buckets(conn, g, step, lo, hi, None)
    return [row for row in cells if row[0] in wanted and row[2]]


def _read_buckets(
    conn: Connection, g: int, step: int, lo: int, hi: int, jobs: Sequence[str] | None
) -> list[tuple[Any, ...]]:
    """The buckets of `step` over [lo, hi) summed from cells of granularity g, of every job or of `jobs`."""
    start = rollup_cells.c.bucket - rollup_cells.c.bucket % step
    # PostgreSQL sums bigints as numeric (Decimal in Python): cast back, so every row holds ints.
    whole = (
        (lambda sum_: cast(sum_, BigInteger)) if conn.dialect.name == "postgresql" else (lambda sum_: sum_)
    )
    query = (
        select(
            rollup_cells.c.job,
            start.label("start"),
            *(whole(func.sum(rollup_cells.c[name])).label(name) for name in BUCKET_COUNTERS),
            func.sum(rollup_cells.c.dur_sum).label("dur_sum"),
            func.max(rollup_cells.c.dur_max).label("dur_max"),
        )
        .where(rollup_cells.c.granularity == g, rollup_cells.c.bucket >= lo, rollup_cells.c.bucket < hi)
        .group_by(rollup_cells.c.job, start)
    )
    if jobs is not None:
        query = query.where(rollup_cells.c.job.in_(jobs))
    return [tuple(row) for row in conn.execute(query).all()]


class ChunkBuckets:
    """Every job's buckets over whole chunks — the cells of the next coarser granularity: hours for
    buckets summed from minute cells, days for those from hour cells — kept per (store, step,
    chunk) with the version of the chunk's coarser cells (`rollups.versions_by_bucket`). A write to
    a cell writes the coarser cells holding it too, so an unchanged version means unchanged
    buckets. Once warm, a 30-day window of 200 jobs reads 6,000 day cells' versions and the day or
    two at its edges, instead of 144,000 hour cells; a 24-hour window 4,800 hour cells' versions
    instead of 288,000 minute cells. The least recently used chunks go first."""

    def __init__(self, chunks: int = 400) -> None:
        self.cache = rollups.RangeCache(size=chunks)

    def read(self, conn: Connection, g: int, step: int, size: int, lo: int, hi: int) -> list[tuple[Any, ...]]:
        """The buckets of `step` over [lo, hi) from cells of granularity g, whole chunks of `size`
        (`chunk_of`) from the cache."""
        first = -(-lo // size) * size
        last = hi // size * size
        if last - first < size:
            return _read_buckets(conn, g, step, lo, hi, None)
        # Versions first, then cells: a write landing between the two leaves an entry whose version
        # is already old (read again next time), never new values kept under an old version.
        versions = rollups.versions_by_bucket(conn, size, first, last)
        out = _read_buckets(conn, g, step, lo, first, None) if lo < first else []
        missing: list[int] = []
        for chunk in range(first, last, size):
            found = self.cache.get((conn.engine.url, g, step, chunk), versions.get(chunk, (0, 0)))
            if found is None:
                missing.append(chunk)
            else:
                out += found
        for a, b in _spans(missing, size):
            by_chunk: dict[int, list[tuple[Any, ...]]] = {chunk: [] for chunk in range(a, b, size)}
            for row in _read_buckets(conn, g, step, a, b, None):
                by_chunk[int(row[1]) // size * size].append((sys.intern(row[0]), *row[1:]))
            for chunk, rows in by_chunk.items():
                self.cache.put((conn.engine.url, g, step, chunk), versions.get(chunk, (0, 0)), tuple(rows))
                out += rows
        if last < hi:
            out += _read_buckets(conn, g, step, last, hi, None)
        return out


chunk_buckets = ChunkBuckets()


def chunk_of(g: int, step: int) -> int:
    """The coarser granularity whose cells validate cached buckets of `step` summed from cells of
    granularity g: the next one above g, when `step` divides it; 0 when there is none."""
    coarser = [c for c in rollups.GRANULARITIES if c > g]
    return coarser[0] if coarser and coarser[0] % step == 0 else 0


def _spans(chunks: Sequence[int], size: int) -> list[tuple[int, int]]:
    """Consecutive chunks as [start, end) spans."""
    spans: list[tuple[int, int]] = []
    for chunk in chunks:
        if spans and spans[-1][1] == chunk:
            spans[-1] = (spans[-1][0], chunk + size)
        else:
            spans.append((chunk, chunk + size))
    return spans
