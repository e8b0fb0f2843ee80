"""Failed runs of a window grouped by fingerprint: what broke, how often, since when.

A failed run is stored with its fingerprint (analytics.fingerprints) and counted in
`failure_rollups` by minute, hour and day, so a window's groups and their counts come from a few
hundred cells whatever the history (the window is resolved to whole minutes, like every rollup
read); the sparklines from the cells of one granularity; and each shown group's first and last
sighting and its newest run — the sample — from index seeks on (fingerprint, run_at).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from jobdeck.analytics.fingerprints import normalize_message
from jobdeck.store import rollups
from jobdeck.store.schema import failure_rollups, runs

MAX_GROUPS = 200
SPARK_BUCKETS = 24


@dataclass
class FailureGroup:
    """One kind of failure of one job."""

    fingerprint: str
    job: str
    error_type: str | None
    signature: str
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    sample_run_id: str = ""
    sample_message: str | None = None
    sample_traceback: str | None = None
    sparkline: list[int] = field(default_factory=lambda: [0] * SPARK_BUCKETS)
    jobs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FailureReport:
    """The biggest groups of a window (`truncated` when there were more than shown), and how many
    failed runs the window holds in all."""

    groups: list[FailureGroup]
    failures: int
    kinds: int
    truncated: bool
    since: datetime
    until: datetime


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def failure_groups(
    conn: Connection,
    since: datetime,
    until: datetime,
    job: str | None = None,
    limit: int = MAX_GROUPS,
) -> FailureReport:
    """The window's failure groups, biggest first (equal counts: the latest seen first)."""
    lo, hi = _epoch(since), _epoch(until) + 1
    counts: dict[str, int] = defaultdict(int)
    jobs: dict[str, str] = {}
    for g, start, end in rollups.cover(lo, hi):
        query = (
            select(failure_rollups.c.fingerprint, failure_rollups.c.job, func.sum(failure_rollups.c.n))
            .where(
                failure_rollups.c.granularity == g,
                failure_rollups.c.bucket >= start,
                failure_rollups.c.bucket < end,
            )
            .group_by(failure_rollups.c.fingerprint, failure_rollups.c.job)
        )
        if job is not None:
            query = query.where(failure_rollups.c.job == job)
        for fingerprint, job_name, n in conn.execute(query):
            if n:
                counts[fingerprint] += int(n)
                jobs[fingerprint] = job_name
    groups = []
    for fingerprint in sorted(counts, key=lambda f: -counts[f])[:limit]:
        group = _group(conn, fingerprint, jobs[fingerprint], counts[fingerprint], since, until)
        if group is not None:
            groups.append(group)
    groups.sort(key=lambda g: (-g.count, -(g.last_seen or until).timestamp()))
    _attach_sparklines(conn, groups, lo, hi)
    _attach_jobs(groups)
    return FailureReport(groups, sum(counts.values()), len(counts), len(counts) > limit, since, until)


def _group(
    conn: Connection, fingerprint: str, job: str, count: int, since: datetime, until: datetime
) -> FailureGroup | None:
    """A group from its first and newest failed run in the window (two seeks on ix_runs_fingerprint)."""
    in_window = (runs.c.fingerprint == fingerprint, runs.c.run_at >= since, runs.c.run_at <= until)
    newest = conn.execute(
        select(runs.c.run_id, runs.c.run_at, runs.c.error_type, runs.c.error_message, runs.c.traceback)
        .where(*in_window)
        .order_by(runs.c.run_at.desc())
        .limit(1)
    ).first()
    if newest is None:  # counted at the window's edge minute, but ran just outside it
        return None
    first = conn.execute(select(runs.c.run_at).where(*in_window).order_by(runs.c.run_at).limit(1)).scalar()
    return FailureGroup(
        fingerprint=fingerprint,
        job=job,
        error_type=newest.error_type,
        signature=normalize_message(newest.error_message),
        count=count,
        first_seen=first,
        last_seen=newest.run_at,
        sample_run_id=newest.run_id,
        sample_message=newest.error_message,
        sample_traceback=newest.traceback,
    )


def _attach_sparklines(conn: Connection, groups: list[FailureGroup], lo: int, hi: int) -> None:
    """Failures per 24th of the window, from the cells of the coarsest granularity that fits in one."""
    if not groups:
        return
    width = (hi - lo) / SPARK_BUCKETS
    g = max([size for size in rollups.GRANULARITIES if size <= width] or [rollups.GRANULARITIES[0]])
    by_fingerprint = {group.fingerprint: group for group in groups}
    query = select(failure_rollups.c.fingerprint, failure_rollups.c.bucket, failure_rollups.c.n).where(
        failure_rollups.c.granularity == g,
        failure_rollups.c.bucket >= lo - lo % g,
        failure_rollups.c.bucket < hi,
        failure_rollups.c.fingerprint.in_(list(by_fingerprint)),
    )
    for fingerprint, bucket, n in conn.execute(query):
        index = int((max(bucket, lo) - lo) / width)
        by_fingerprint[fingerprint].sparkline[min(index, SPARK_BUCKETS - 1)] += int(n)


def _attach_jobs(groups: list[FailureGroup]) -> None:
    """Every job that failed the same way (error type and normalised message)."""
    jobs_of: dict[tuple[str | None, str], set[str]] = {}
    for group in groups:
        jobs_of.setdefault((group.error_type, group.signature), set()).add(group.job)
    for group in groups:
        group.jobs = sorted(jobs_of[(group.error_type, group.signature)])
