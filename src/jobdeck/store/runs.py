"""Runs: loading fold states, writing folded runs, and the run reads."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
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

from jobdeck.domain import CARRIED_FIELDS, DURATION_STATUSES, LIVE_STATUSES, Status
from jobdeck.events import RunState, from_micros, to_micros
from jobdeck.store import bulk
from jobdeck.store.rollups import Contribution
from jobdeck.store.schema import runs
from jobdeck.store.types import JSONValue, UTCDateTime

_RUN_COLUMNS = tuple(c.name for c in runs.columns if c.name != "id")
_FIELD_COLUMNS = tuple(name for name in CARRIED_FIELDS if name not in ("attempt",))
# The order of `encode_run`'s values: the carried fields, then what the fold derives.
WRITE_COLUMNS = (
    "run_id",
    *_FIELD_COLUMNS,
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "heartbeat_at",
    "run_at",
    "duration_s",
    "attempt",
    "fold_key",
    "fold_state",
)
assert sorted(WRITE_COLUMNS) == sorted(_RUN_COLUMNS), "WRITE_COLUMNS must name every runs column"
_JSON_AT = tuple(i for i, name in enumerate(_FIELD_COLUMNS) if isinstance(runs.c[name].type, JSONValue))
_TIME_AT = tuple(i for i, name in enumerate(_FIELD_COLUMNS) if isinstance(runs.c[name].type, UTCDateTime))
_ENCODE = json.JSONEncoder().encode
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode

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


def state_to_row(state: RunState) -> dict[str, Any]:
    """The runs-table row for a folded run."""
    if state.created_at is None or state.job is None:
        raise ValueError(f"run {state.run_id!r} has no events or no job")
    fields = state.fields
    row: dict[str, Any] = {name: fields.get(name) for name in _FIELD_COLUMNS}
    started, finished = state.timings()
    row.update(
        run_id=state.run_id,
        status=state.status.value,
        created_at=state.created_at,
        started_at=started,
        finished_at=finished,
        heartbeat_at=state.heartbeat_at,
        run_at=started or state.created_at,
        duration_s=(finished - started).total_seconds() if started and finished else None,
        attempt=state.attempt,
        fold_key=str(state.top_key),
        fold_state=fold_state_of(state),
    )
    return row


def fold_state_of(state: RunState) -> dict[str, Any]:
    """What the join needs kept beside the run's columns: its starts (epoch micros), whether its
    creation time is an enqueue, and the key of every carried field and label."""
    saved: dict[str, Any] = {"s": [to_micros(s) for s in state.starts], "e": int(state.created_by_enqueue)}
    if state.keys:
        saved["k"] = state.keys
    if state.label_keys:
        saved["l"] = state.label_keys
    return saved


def fold_state_text(state: RunState) -> str:
    """`fold_state_of` as canonical JSON (sorted keys: the same run is stored the same whatever
    order its events came in)."""
    return _CANONICAL(fold_state_of(state))


def row_to_state(row: Mapping[str, Any]) -> RunState:
    """The fold state of a runs-table row."""
    fields = {name: row[name] for name in _FIELD_COLUMNS if row[name] is not None}
    fields["attempt"] = row["attempt"]
    saved = row["fold_state"]
    return RunState(
        run_id=row["run_id"],
        top_key=int(row["fold_key"]),
        created_at=row["created_at"],
        created_by_enqueue=bool(saved.get("e")),
        heartbeat_at=row["heartbeat_at"],
        starts=[from_micros(s) for s in saved.get("s", ())],
        fields=fields,
        keys=dict(saved.get("k", ())),
        label_keys=dict(saved.get("l", ())),
    )


# --- the write path (used only by the recorder) ------------------------------------------------


def encode_run(state: RunState, sqlite: bool) -> tuple[tuple[Any, ...], Contribution]:
    """A folded run as the driver takes it (WRITE_COLUMNS order; times as text on SQLite), and
    what it adds to the rollups.

    The recorder writes thousands of runs a batch: this skips building a row dict and SQLAlchemy's
    per-value bind processing, derives each timing once, and converts only the columns that need it.
    """
    created = state.created_at
    fields = state.fields
    job = fields.get("job")
    if created is None or job is None:
        raise ValueError(f"run {state.run_id!r} has no events or no job")
    get = fields.get
    values = [get(name) for name in _FIELD_COLUMNS]
    for i in _JSON_AT:
        if values[i] is not None:
            values[i] = _ENCODE(values[i])
    status = state.status
    started, finished = state.timings()
    duration = (finished - started).total_seconds() if started and finished else None
    run_at = started or created
    wait = None
    if started is not None and state.created_by_enqueue:
        wait = max(0.0, (started - created).total_seconds())
    items = (get("items_succeeded") or 0, get("items_failed") or 0, get("items_skipped") or 0)
    contribution = Contribution(
        job, to_micros(run_at) // 1_000_000, status.value, duration if status in DURATION_STATUSES else None,
        wait, items,
    )  # fmt: skip
    times: tuple[Any, ...] = (created, started, finished, state.heartbeat_at, run_at)
    if sqlite:
        for i in _TIME_AT:
            if values[i] is not None:
                values[i] = bulk.sqlite_time(values[i])
        # The fold's times are UTC already: straight to SQLAlchemy's SQLite text form.
        heartbeat = state.heartbeat_at
        created_text = created.isoformat(" ", "microseconds")[:26]
        started_text = started.isoformat(" ", "microseconds")[:26] if started is not None else None
        times = (
            created_text,
            started_text,
            finished.isoformat(" ", "microseconds")[:26] if finished is not None else None,
            heartbeat.isoformat(" ", "microseconds")[:26] if heartbeat is not None else None,
            started_text or created_text,
        )
    row = (
        state.run_id, *values, status.value, *times, duration, state.attempt, str(state.top_key),
        fold_state_text(state),
    )  # fmt: skip
    return row, contribution


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


def insert_runs(conn: Connection, values: Sequence[tuple[Any, ...]]) -> None:
    """Insert new runs from `encode_run` values (executemany on SQLite, COPY on PostgreSQL)."""
    if not values:
        return
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        first_id = int(conn.execute(select(func.coalesce(func.max(runs.c.id), 0))).scalar_one()) + 1
    bulk.insert(conn, runs, WRITE_COLUMNS, values)
    if sqlite:
        index_for_search(conn, first_id)


def update_runs(conn: Connection, values: Sequence[tuple[Any, ...]]) -> None:
    """Write refolded runs (`encode_run` values) over their stored rows, one statement for all."""
    if not values:
        return
    mark = bulk.placeholder(conn)
    json_columns = {c.name for c in runs.columns if isinstance(c.type, JSONValue)}
    cast = "::jsonb" if conn.dialect.name == "postgresql" else ""
    sets = ", ".join(f"{name} = {mark}{cast if name in json_columns else ''}" for name in WRITE_COLUMNS[1:])
    bulk.execute_many(conn, f"UPDATE runs SET {sets} WHERE run_id = {mark}", [(*v[1:], v[0]) for v in values])


# SQLite's search index (migration 0005) holds runs that have something to find; the recorder adds
# new ones in one statement, triggers keep it right on update and delete.
SEARCHED = "error_type, error_message, args"
HAS_TEXT = "(error_type IS NOT NULL OR error_message IS NOT NULL OR args IS NOT NULL)"


def index_for_search(conn: Connection, first_id: int) -> None:
    """Add runs inserted from row id `first_id` on that have searchable text to SQLite's index."""
    conn.exec_driver_sql(
        f"INSERT INTO runs_fts(rowid, {SEARCHED}) SELECT id, {SEARCHED} FROM runs "
        f"WHERE id >= ? AND {HAS_TEXT}",
        (first_id,),
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
