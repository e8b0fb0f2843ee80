"""Runs and their event log: loading fold states, writing folded runs, and the run reads."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    Connection,
    Select,
    String,
    and_,
    any_,
    bindparam,
    column,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)

from jobdeck.domain import CARRIED_FIELDS, LIVE_STATUSES, Status
from jobdeck.events import Event, RunState, make_event, to_micros
from jobdeck.store import bulk
from jobdeck.store.schema import events, runs
from jobdeck.store.types import JSONValue, UTCDateTime

_RUN_COLUMNS = tuple(c.name for c in runs.columns if c.name != "id")
_FIELD_COLUMNS = tuple(name for name in CARRIED_FIELDS if name not in ("attempt",))
_DATETIME_FIELDS = ("eta",)

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


def _from_micros(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)


def state_to_row(state: RunState) -> dict[str, Any]:
    """The runs-table row for a folded run."""
    if state.created_at is None or state.job is None:
        raise ValueError(f"run {state.run_id!r} has no events or no job")
    row: dict[str, Any] = {name: state.fields.get(name) for name in _FIELD_COLUMNS}
    for name in _DATETIME_FIELDS:
        if isinstance(row[name], str):
            row[name] = datetime.fromisoformat(row[name])
    started = state.started_at
    row.update(
        run_id=state.run_id,
        status=state.status.value,
        created_at=state.created_at,
        started_at=started,
        finished_at=state.finished_at,
        heartbeat_at=state.heartbeat_at,
        run_at=started or state.created_at,
        duration_s=state.duration_s,
        attempt=state.attempt,
        fold_key=state.last_key,
        fold_state={"starts": [to_micros(s) for s in state.starts], "enq": state.created_by_enqueue},
    )
    return row


def row_to_state(row: Mapping[str, Any]) -> RunState:
    """The fold state stored in a runs-table row."""
    fields = {name: row[name] for name in _FIELD_COLUMNS if row[name] is not None}
    for name in _DATETIME_FIELDS:
        if name in fields:
            fields[name] = fields[name].isoformat()
    fields["attempt"] = row["attempt"]
    fold_state = row["fold_state"]
    return RunState(
        run_id=row["run_id"],
        status=Status(row["status"]),
        created_at=row["created_at"],
        created_by_enqueue=bool(fold_state.get("enq")),
        finished_at=row["finished_at"],
        heartbeat_at=row["heartbeat_at"],
        starts=[_from_micros(s) for s in fold_state.get("starts", [])],
        fields=fields,
        last_key=row["fold_key"],
    )


# --- the write path (used only by the recorder) ------------------------------------------------


def load_rows(conn: Connection, run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored rows of these runs, locked for update on PostgreSQL."""
    found: dict[str, dict[str, Any]] = {}
    columns = [runs.c[name] for name in _RUN_COLUMNS]
    if conn.dialect.name == "postgresql":
        # One statement with an array parameter: a plan that does not depend on the batch size.
        ids = bindparam("ids", list(run_ids), type_=ARRAY(String))
        query = select(*columns).where(runs.c.run_id == any_(ids)).order_by(runs.c.run_id).with_for_update()
        return {row.run_id: dict(row._mapping) for row in conn.execute(query)}
    for chunk in _chunks(run_ids, 500):
        for row in conn.execute(select(*columns).where(runs.c.run_id.in_(chunk))):
            found[row.run_id] = dict(row._mapping)
    return found


def load_events(conn: Connection, run_ids: Sequence[str]) -> dict[str, list[Event]]:
    """Every stored event of these runs."""
    found: dict[str, list[Event]] = {}
    for chunk in _chunks(run_ids, 500):
        query = select(events.c.run_id, events.c.kind, events.c.at, events.c.data).where(
            events.c.run_id.in_(chunk)
        )
        for run_id, kind, at, data in conn.execute(query):
            found.setdefault(run_id, []).append(make_event(run_id, kind, at, data))
    return found


_EVENT_COLUMNS = ("run_id", "key", "kind", "at", "data")


def insert_events(conn: Connection, new_events: Sequence[Event]) -> None:
    """Append events to the log (the recorder has made sure they are new)."""
    if not new_events:
        return
    time = bulk.sqlite_time if conn.dialect.name == "sqlite" else bulk.pg_time
    dumps = json.dumps
    bulk.insert(
        conn,
        events,
        _EVENT_COLUMNS,
        [(e.run_id, e.key, e.kind.value, time(e.at), dumps(e.data)) for e in new_events],
    )


def insert_runs(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new runs (COPY on PostgreSQL)."""
    if rows:
        convert = bulk.converters(conn, runs, _RUN_COLUMNS)
        bulk.insert(conn, runs, _RUN_COLUMNS, bulk.tuples(rows, _RUN_COLUMNS, convert))


def update_runs(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Write refolded runs over their stored rows, one statement for all."""
    if not rows:
        return
    columns = [name for name in _RUN_COLUMNS if name != "run_id"]
    mark = bulk.placeholder(conn)
    json_columns = {c.name for c in runs.columns if isinstance(c.type, JSONValue)}
    cast = "::jsonb" if conn.dialect.name == "postgresql" else ""
    sets = ", ".join(f"{name} = {mark}{cast if name in json_columns else ''}" for name in columns)
    convert = bulk.converters(conn, runs, [*columns, "run_id"])
    params = bulk.tuples(rows, [*columns, "run_id"], convert)
    bulk.execute_many(conn, f"UPDATE runs SET {sets} WHERE run_id = {mark}", params)


# --- reads -------------------------------------------------------------------------------------


def encode_cursor(run_at: datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{to_micros(run_at)}:{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """Parse a cursor from `list_runs`; raise ValueError when it is not one."""
    try:
        micros, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        return _from_micros(int(micros)), int(row_id)
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
_LATEST_PG = (
    text(
        "SELECT j.job, l.run_at, l.status, s.finished_at FROM unnest(:jobs) AS j(job) "
        "LEFT JOIN LATERAL (SELECT run_at, status FROM runs "
        "WHERE (runs.job, runs.run_at) <= (j.job, 'infinity'::timestamptz) AND runs.job >= j.job "
        "ORDER BY runs.job DESC, runs.run_at DESC LIMIT 1) l ON true "
        "LEFT JOIN LATERAL (SELECT finished_at FROM runs "
        "WHERE (runs.job, runs.status, runs.run_at) <= (j.job, 'succeeded', 'infinity'::timestamptz) "
        "AND runs.job >= j.job AND runs.status >= 'succeeded' "
        "ORDER BY runs.job DESC, runs.status DESC, runs.run_at DESC LIMIT 1) s ON true"
    )
    .bindparams(bindparam("jobs", type_=ARRAY(String)))
    .columns(
        column("job", String),
        column("run_at", UTCDateTime()),
        column("status", String),
        column("finished_at", UTCDateTime()),
    )
)


def latest_by_job(conn: Connection, jobs: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Per job: the last run's time and status and the last success's time (index seeks, not scans).

    Two LIMIT 1 seeks per job, all in one statement: one round trip instead of two per job.
    """
    names = list(jobs)
    result: dict[str, dict[str, Any]] = {
        job: {"last_run_at": None, "last_status": None, "last_success_at": None} for job in names
    }
    if conn.dialect.name == "postgresql":
        # A LATERAL join plans once for every job; eighty UNIONed subqueries took longer to plan than run.
        for job, run_at, status, success in conn.execute(_LATEST_PG, {"jobs": names}):
            result[job] = {"last_run_at": run_at, "last_status": status, "last_success_at": success}
        return result
    for chunk in _chunks(names, 100):
        parts = []
        for i, job in enumerate(chunk):
            last = (
                select(literal(i).label("i"), literal(0).label("kind"), runs.c.run_at, runs.c.status)
                .where(runs.c.job == job)
                .order_by(runs.c.run_at.desc())
                .limit(1)
            )
            success = (
                select(literal(i).label("i"), literal(1).label("kind"), runs.c.finished_at, runs.c.status)
                .where(runs.c.job == job, runs.c.status == Status.SUCCEEDED.value)
                .order_by(runs.c.run_at.desc())
                .limit(1)
            )
            parts += [select(last.subquery()), select(success.subquery())]
        for i, kind, at, status in conn.execute(union_all(*parts)):
            entry = result[chunk[i]]
            if kind == 0:
                entry["last_run_at"], entry["last_status"] = at, status
            else:
                entry["last_success_at"] = at
    return result


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
