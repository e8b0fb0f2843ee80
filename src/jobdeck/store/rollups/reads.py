"""The rollups' reads: a window cut into ranges of whole cells, the counters and sketches summed over it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from sqlalchemy import Connection, func, select

from jobdeck.analytics import sketch
from jobdeck.store.rollups.cache import cached
from jobdeck.store.rollups.cells import COUNTERS, DURATION, GRANULARITIES, HISTOGRAMS
from jobdeck.store.schema import rollups


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
    """Summed counters, min and max duration per job over the window.

    One small query per covering range, merged here: a UNION of them made PostgreSQL start
    parallel workers, which cost ten times the query.
    """
    result: dict[str, dict[str, Any]] = {}
    for g, lo, hi in cover(since, until):
        # Hour and day ranges are cached while unchanged (a version check instead of a row a job);
        # the minutes at the window's edges hold now and change all the time.
        rows = (
            cached(conn, "totals", g, lo, hi, job, partial(_totals, conn, g, lo, hi, job))
            if g >= 3600
            else _totals(conn, g, lo, hi, job)
        )
        for row in rows:
            total = result.get(row["job"])
            if total is None:
                result[row["job"]] = dict(row)
                continue
            for name in COUNTERS:
                total[name] = (total[name] or 0) + (row[name] or 0)
            for name, pick in (("dur_min", min), ("dur_max", max)):
                values = [v for v in (total[name], row[name]) if v is not None]
                total[name] = pick(values) if values else None
    return result


def _totals(conn: Connection, g: int, lo: int, hi: int, job: str | None) -> list[dict[str, Any]]:
    query = select(
        rollups.c.job,
        *(func.sum(rollups.c[name]).label(name) for name in COUNTERS),
        func.min(rollups.c.dur_min).label("dur_min"),
        func.max(rollups.c.dur_max).label("dur_max"),
    ).where(rollups.c.granularity == g, rollups.c.bucket >= lo, rollups.c.bucket < hi)
    if job is not None:
        query = query.where(rollups.c.job == job)
    return [dict(row._mapping) for row in conn.execute(query.group_by(rollups.c.job))]


def bins_by_job(
    conn: Connection, since: int, until: int, metric: int = DURATION, job: str | None = None
) -> dict[str, dict[int, int]]:
    """Merged sketches per job over the window (each covering range cached while unchanged)."""
    result: dict[str, dict[int, int]] = defaultdict(dict)
    for g, lo, hi in cover(since, until):
        part = cached(conn, ("bins", metric), g, lo, hi, job, partial(_bins, conn, g, lo, hi, metric, job))
        for job_name, counts in part.items():
            sketch.add_into(result[job_name], counts)
    return result


def _bins(
    conn: Connection, g: int, lo: int, hi: int, metric: int, job: str | None
) -> dict[str, dict[int, int]]:
    column = rollups.c[HISTOGRAMS[metric]]
    query = select(rollups.c.job, column).where(
        rollups.c.granularity == g, rollups.c.bucket >= lo, rollups.c.bucket < hi, column.is_not(None)
    )
    if job is not None:
        query = query.where(rollups.c.job == job)
    result: dict[str, dict[int, int]] = defaultdict(dict)
    for job_name, blob in conn.execute(query):
        sketch.add_into(result[job_name], sketch.decode(blob))
    return dict(result)


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
