"""Reading runs: lists by keyset, one run whole, live counts, the latest run per job.

The recorder's writes are in run_writes.py."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Connection,
    Select,
    String,
    and_,
    bindparam,
    column,
    func,
    or_,
    select,
    text,
)

from jobdeck.domain import DURATION_STATUSES, LIVE_STATUSES
from jobdeck.events import from_micros, to_micros
from jobdeck.store.schema import runs
from jobdeck.store.types import UTCDateTime

_RUN_COLUMNS = tuple(c.name for c in runs.columns if c.name != "id")

SUMMARY_COLUMNS = (
    "run_id",
    "job",
    "status",
    "queue",
    "priority",
    "worker",
    "created_at",
    "eta",
    "started_at",
    "finished_at",
    "duration_s",
    "attempt",
    "parent_run_id",
    "error_type",
    "error_message",
    "items_succeeded",
    "items_failed",
    "items_skipped",
)


# --- reads -------------------------------------------------------------------------------------


def encode_cursor(run_at: datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{to_micros(run_at)}:{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """Parse a cursor from `list_runs`; raise ValueError when it is not one."""
    try:
        micros, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        return from_micros(int(micros)), int(row_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("invalid cursor") from exc


def list_runs(
    conn: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    job: str | None = None,
    status: Iterable[str] | None = None,
    queue: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    columns: Sequence[str] = SUMMARY_COLUMNS,
) -> tuple[list[dict[str, Any]], str | None]:
    """Runs newest first (by run_at) with keyset pagination; returns (runs, next cursor)."""
    query = select(runs.c.id, runs.c.run_at, *(runs.c[name] for name in columns))
    if since is not None:
        query = query.where(runs.c.run_at >= since)
    if until is not None:
        query = query.where(runs.c.run_at <= until)
    if job is not None:
        query = query.where(runs.c.job == job)
    statuses = list(status or [])
    if statuses:
        query = query.where(runs.c.status.in_(statuses))
    if queue is not None:
        query = query.where(runs.c.queue == queue)
    return keyset_page(conn, query.order_by(runs.c.run_at.desc(), runs.c.id.desc()), limit, cursor, columns)


def keyset_page(
    conn: Connection, query: Select[Any], limit: int, cursor: str | None, columns: Sequence[str]
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a (run_at, id)-descending query selecting id and run_at, and the next cursor."""
    if cursor is not None:
        at, row_id = decode_cursor(cursor)
        query = query.where(or_(runs.c.run_at < at, and_(runs.c.run_at == at, runs.c.id < row_id)))
    rows = [dict(row._mapping) for row in conn.execute(query.limit(limit + 1))]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["run_at"], rows[-1]["id"])
    for row in rows:
        row.pop("id")
        if "run_at" not in columns:
            row.pop("run_at")
    return rows, next_cursor


def get_run(conn: Connection, run_id: str) -> dict[str, Any] | None:
    """One whole run, with the ids of the runs that retried it; None when unknown."""
    row = conn.execute(
        select(*(runs.c[name] for name in _RUN_COLUMNS if not name.startswith("fold_"))).where(
            runs.c.run_id == run_id
        )
    ).first()
    if row is None:
        return None
    run = dict(row._mapping)
    run["retried_by"] = list(
        conn.execute(
            select(runs.c.run_id).where(runs.c.parent_run_id == run_id).order_by(runs.c.created_at)
        ).scalars()
    )
    return run


def live_counts(conn: Connection, job: str | None = None) -> dict[str, dict[str, int]]:
    """Live runs (pending, running, retrying) counted per job and status, from the partial index."""
    query = (
        select(runs.c.job, runs.c.status, func.count())
        .where(runs.c.status.in_([s.value for s in LIVE_STATUSES]))
        .group_by(runs.c.job, runs.c.status)
    )
    if job is not None:
        query = query.where(runs.c.job == job)
    counts: dict[str, dict[str, int]] = {}
    for job_name, status, n in conn.execute(query):
        counts.setdefault(job_name, {})[status] = n
    return counts


# Per job, a backward seek on (job, run_at) and on (job, status, run_at). The row comparisons
# bound those indexes' ranges: with a plain `job = j.job` the planner walks ix_runs_run_at back
# instead, hoping to meet the job soon, which reads every run of the window when a job is idle.
# Later than any run: the PostgreSQL seek's bound when no window end is given.
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)
_LATEST_PG = (
    text(
        "SELECT j.job, l.run_at, l.status, s.finished_at FROM unnest(:jobs) AS j(job) "
        "LEFT JOIN LATERAL (SELECT run_at, status FROM runs "
        "WHERE (runs.job, runs.run_at) <= (j.job, :before) AND runs.job >= j.job "
        "ORDER BY runs.job DESC, runs.run_at DESC LIMIT 1) l ON true "
        "LEFT JOIN LATERAL (SELECT finished_at FROM runs "
        "WHERE (runs.job, runs.status, runs.run_at) <= (j.job, 'succeeded', :before) "
        "AND runs.job >= j.job AND runs.status >= 'succeeded' "
        "ORDER BY runs.job DESC, runs.status DESC, runs.run_at DESC LIMIT 1) s ON true"
    )
    .bindparams(bindparam("jobs", type_=ARRAY(String)), bindparam("before", type_=UTCDateTime()))
    .columns(
        column("job", String),
        column("run_at", UTCDateTime()),
        column("status", String),
        column("finished_at", UTCDateTime()),
    )
)


def latest_by_job(
    conn: Connection, jobs: Iterable[str], before: datetime | None = None
) -> dict[str, dict[str, Any]]:
    """Per job: the last run's time and status and the last success's time (index seeks, not scans);
    with `before`, the last ones at or before that time (a past window's end).

    Two LIMIT 1 seeks per job, all in one statement: one round trip instead of two per job.
    """
    names = list(jobs)
    result: dict[str, dict[str, Any]] = {
        job: {"last_run_at": None, "last_status": None, "last_success_at": None} for job in names
    }
    if conn.dialect.name == "postgresql":
        # A LATERAL join plans once for every job; eighty UNIONed subqueries took longer to plan than run.
        params = {"jobs": names, "before": before or _END_OF_TIME}
        for job, run_at, status, success in conn.execute(_LATEST_PG, params):
            result[job] = {"last_run_at": run_at, "last_status": status, "last_success_at": success}
        return result
    # SQLite keeps times as naive UTC text that sorts as it compares.
    bound = "" if before is None else " AND run_at <= ?"
    limit = () if before is None else (before.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),)
    for chunk in _chunks(names, 100):
        # Written out once: SQLAlchemy building two hundred subqueries cost more than running them.
        statement = " UNION ALL ".join(
            f"SELECT * FROM (SELECT {i}, 0, run_at, status FROM runs WHERE job = ?{bound} "
            f"ORDER BY run_at DESC LIMIT 1) UNION ALL "
            f"SELECT * FROM (SELECT {i}, 1, finished_at, status FROM runs WHERE job = ?{bound} "
            f"AND status = 'succeeded' ORDER BY run_at DESC LIMIT 1)"
            for i in range(len(chunk))
        )
        values = tuple(value for job in chunk for _ in range(2) for value in (job, *limit))
        for i, kind, at, status in conn.exec_driver_sql(statement, values):
            entry = result[chunk[i]]
            when = datetime.fromisoformat(at).replace(tzinfo=UTC) if at is not None else None
            if kind == 0:
                entry["last_run_at"], entry["last_status"] = when, status
            else:
                entry["last_success_at"] = when
    return result


def durations_by_job(
    conn: Connection, since: datetime, until: datetime, jobs: Sequence[str]
) -> dict[str, list[float]]:
    """Each job's durations of runs with an outcome (succeeded, failed) at run_at in [since, until),
    sorted: a range of the (job, run_at) index per job. For jobs with few runs in the window."""
    query = select(runs.c.job, runs.c.duration_s).where(
        runs.c.job.in_(list(jobs)),
        runs.c.run_at >= since,
        runs.c.run_at < until,
        runs.c.status.in_([s.value for s in DURATION_STATUSES]),
        runs.c.duration_s.is_not(None),
    )
    found: dict[str, list[float]] = {}
    for job, duration in conn.execute(query):
        found.setdefault(job, []).append(float(duration))
    for values in found.values():
        values.sort()
    return found


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def sealed_fields(conn: Connection, run_ids: Sequence[str], label: str) -> dict[str, dict[str, Any]]:
    """The stored runs among `run_ids` whose labels carry `label` (an executor's seal), with the
    fields the seal covers, read a few hundred ids a statement."""
    found: dict[str, dict[str, Any]] = {}
    ids = sorted(set(run_ids))
    columns = (runs.c.run_id, runs.c.job, runs.c.host, runs.c.args, runs.c.kwargs, runs.c.labels)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in conn.execute(select(*columns).where(runs.c.run_id.in_(chunk), runs.c.labels.is_not(None))):
            values = dict(row._mapping)
            if isinstance(values["labels"], dict) and label in values["labels"]:
                found[values["run_id"]] = values
    return found


def job_exists(conn: Connection, job: str) -> bool:
    """Whether any run of the job is stored (one seek on the (job, run_at) index)."""
    return conn.execute(select(runs.c.id).where(runs.c.job == job).limit(1)).first() is not None
