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
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from jobdeck.analytics.fingerprints import normalize_message
from jobdeck.store import bulk, rollups
from jobdeck.store.schema import failure_rollups

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
    shown = sorted(counts, key=lambda f: -counts[f])[:limit]
    groups = [FailureGroup(f, jobs[f], None, "", counts[f]) for f in shown]
    _attach_sightings(conn, groups, since, until)
    groups = [g for g in groups if g.last_seen is not None]  # a count at an edge minute, just outside
    groups.sort(key=lambda g: (-g.count, -(g.last_seen or until).timestamp()))
    _attach_sparklines(conn, groups, lo, hi)
    _attach_jobs(groups)
    return FailureReport(groups, sum(counts.values()), len(counts), len(counts) > limit, since, until)


# Per group, the newest and the first failed run of the window: two LIMIT 1 seeks on
# ix_runs_fingerprint, every group's in one statement (a statement each cost a millisecond).
_NEWEST = (
    "SELECT * FROM (SELECT {i} AS i, run_id, run_at, error_type, error_message, traceback FROM runs "
    "WHERE fingerprint = ? AND run_at >= ? AND run_at <= ? ORDER BY run_at DESC LIMIT 1)"
)
_FIRST = (
    "SELECT * FROM (SELECT {i} AS i, NULL, run_at, NULL, NULL, NULL FROM runs "
    "WHERE fingerprint = ? AND run_at >= ? AND run_at <= ? ORDER BY run_at LIMIT 1)"
)
_PG_SIGHTINGS = (
    "SELECT f.i, n.run_id, n.run_at, n.error_type, n.error_message, n.traceback, o.run_at "
    "FROM unnest(%s::text[]) WITH ORDINALITY AS f(fp, i) "
    "LEFT JOIN LATERAL (SELECT run_id, run_at, error_type, error_message, traceback FROM runs "
    "WHERE fingerprint = f.fp AND run_at >= %s AND run_at <= %s ORDER BY run_at DESC LIMIT 1) n ON true "
    "LEFT JOIN LATERAL (SELECT run_at FROM runs "
    "WHERE fingerprint = f.fp AND run_at >= %s AND run_at <= %s ORDER BY run_at LIMIT 1) o ON true"
)


def _attach_sightings(conn: Connection, groups: list[FailureGroup], since: datetime, until: datetime) -> None:
    """Each group's first and last sighting in the window, and its newest run as the sample."""
    if not groups:
        return
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            _PG_SIGHTINGS, ([g.fingerprint for g in groups], since, until, since, until)
        ).all()
        for i, run_id, newest, error_type, message, traceback, first in rows:
            if run_id is not None:
                _sighted(groups[i - 1], run_id, newest, error_type, message, traceback, first)
        return
    lo, hi = bulk.sqlite_time(since), bulk.sqlite_time(until)
    for start in range(0, len(groups), 100):
        chunk = groups[start : start + 100]
        statement = " UNION ALL ".join(
            shape.format(i=i) for i in range(len(chunk)) for shape in (_NEWEST, _FIRST)
        )
        params = tuple(value for group in chunk for _ in range(2) for value in (group.fingerprint, lo, hi))
        samples: dict[int, tuple[str, datetime, str | None, str | None, str | None]] = {}
        firsts: dict[int, datetime] = {}
        for i, run_id, at, error_type, message, traceback in conn.exec_driver_sql(statement, params):
            when = datetime.fromisoformat(at).replace(tzinfo=UTC)
            if run_id is not None:
                samples[i] = (run_id, when, error_type, message, traceback)
            else:
                firsts[i] = when
        for i, sample in samples.items():
            _sighted(chunk[i], *sample, firsts.get(i))


def _sighted(
    group: FailureGroup,
    run_id: str,
    newest: datetime,
    error_type: str | None,
    message: str | None,
    traceback: str | None,
    first: datetime | None,
) -> None:
    group.error_type, group.signature = error_type, normalize_message(message)
    group.first_seen, group.last_seen = (first or newest).astimezone(UTC), newest.astimezone(UTC)
    group.sample_run_id, group.sample_message, group.sample_traceback = run_id, message, traceback


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
