"""Failed runs of a window grouped by fingerprint: what broke, how often, since when.

Fingerprints are computed in Python (analytics.fingerprints) over the window's failed runs, newest
first, read through ix_runs_status_run_at and capped at `limit` runs; a capped answer says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from jobdeck.analytics.fingerprints import fingerprint, normalize_message
from jobdeck.domain import Status
from jobdeck.store.schema import runs

MAX_FAILURES_SCANNED = 20_000
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
    sample_id: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The group's fields (without the internal row id of its sample)."""
        return {k: v for k, v in asdict(self).items() if k != "sample_id"}


@dataclass
class FailureReport:
    """The groups, and whether the newest `scanned` failures were all that was read."""

    groups: list[FailureGroup]
    scanned: int
    truncated: bool
    since: datetime
    until: datetime


def _bucket(at: datetime, since: datetime, until: datetime) -> int:
    span = (until - since).total_seconds() or 1.0
    index = int((at - since).total_seconds() / span * SPARK_BUCKETS)
    return min(max(index, 0), SPARK_BUCKETS - 1)


def failure_groups(
    conn: Connection,
    since: datetime,
    until: datetime,
    job: str | None = None,
    limit: int = MAX_FAILURES_SCANNED,
) -> FailureReport:
    """Group the window's failed runs by fingerprint, biggest group first."""
    query = (
        select(runs.c.id, runs.c.run_id, runs.c.job, runs.c.error_type, runs.c.error_message, runs.c.run_at)
        .where(runs.c.status == Status.FAILED.value, runs.c.run_at >= since, runs.c.run_at <= until)
        .order_by(runs.c.run_at.desc(), runs.c.id.desc())
        .limit(limit + 1)
    )
    if job is not None:
        query = query.where(runs.c.job == job)
    groups: dict[str, FailureGroup] = {}
    keys: dict[tuple[str, str | None, str | None], str] = {}
    scanned = 0
    truncated = False
    result = conn.execution_options(yield_per=2000).execute(query)
    for row in result:
        if scanned == limit:
            truncated = True
            result.close()
            break
        scanned += 1
        raw = (row.job, row.error_type, row.error_message)
        key = keys.get(raw)
        if key is None:
            key = keys[raw] = fingerprint(*raw)
        group = groups.get(key)
        if group is None:
            # Rows come newest first: the first of a group is its sample and its last sighting.
            group = groups[key] = FailureGroup(
                fingerprint=key,
                job=row.job,
                error_type=row.error_type,
                signature=normalize_message(row.error_message),
                last_seen=row.run_at,
                sample_run_id=row.run_id,
                sample_message=row.error_message,
                sample_id=row.id,
            )
        group.count += 1
        group.first_seen = row.run_at
        group.sparkline[_bucket(row.run_at, since, until)] += 1
    ordered = sorted(groups.values(), key=lambda g: (-g.count, -(g.last_seen or until).timestamp()))
    _attach_jobs(ordered)
    _attach_tracebacks(conn, ordered)
    return FailureReport(ordered, scanned, truncated, since, until)


def _attach_jobs(groups: list[FailureGroup]) -> None:
    """Every job that failed the same way (error type and normalised message)."""
    jobs_of: dict[tuple[str | None, str], set[str]] = {}
    for group in groups:
        jobs_of.setdefault((group.error_type, group.signature), set()).add(group.job)
    for group in groups:
        group.jobs = sorted(jobs_of[(group.error_type, group.signature)])


def _attach_tracebacks(conn: Connection, groups: list[FailureGroup]) -> None:
    by_id = {g.sample_id: g for g in groups}
    ids = list(by_id)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row_id, traceback in conn.execute(
            select(runs.c.id, runs.c.traceback).where(runs.c.id.in_(chunk))
        ):
            by_id[row_id].sample_traceback = traceback
