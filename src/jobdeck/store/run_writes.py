"""The recorder's write path for runs: stored fold states in, folded runs out, in bulk.

A run travels as a tuple of Python values in WRITE_COLUMNS order (fold state as a dict), the
same for a run loaded from the store and one just folded, so an update compares the two and
writes only the columns that changed: an index whose columns a statement does not set is left
alone (SQLite and PostgreSQL both skip it), which is most of an update's cost. Rows go to the
driver as tuples, below SQLAlchemy's per-value bind and result processing: thousands of runs a
batch pay for every microsecond.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from jobdeck.analytics.fingerprints import fingerprint
from jobdeck.domain import CARRIED_FIELDS, DURATION_STATUSES
from jobdeck.events import RunState, from_micros, to_micros
from jobdeck.store import bulk, key_locks
from jobdeck.store.rollups import Contribution
from jobdeck.store.schema import runs
from jobdeck.store.types import JSONValue, UTCDateTime

FIELD_COLUMNS = tuple(name for name in CARRIED_FIELDS if name != "attempt")
# The carried fields, then what the fold derives.
WRITE_COLUMNS = (
    "run_id",
    *FIELD_COLUMNS,
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
    "fingerprint",
)
assert sorted(WRITE_COLUMNS) == sorted(c.name for c in runs.columns if c.name != "id"), "every column"
_AT = {name: i for i, name in enumerate(WRITE_COLUMNS)}
_FIELDS = slice(1, 1 + len(FIELD_COLUMNS))
_JSON = frozenset(i for i, name in enumerate(WRITE_COLUMNS) if isinstance(runs.c[name].type, JSONValue))
_TIMES = frozenset(i for i, name in enumerate(WRITE_COLUMNS) if isinstance(runs.c[name].type, UTCDateTime))
_FOLD_STATE = _AT["fold_state"]
_JSON_AT = tuple(sorted(_JSON - {_FOLD_STATE}))
_TIMES_AT = tuple(sorted(_TIMES))
_ENCODE = json.JSONEncoder().encode
_FIELD_NAMES = frozenset(CARRIED_FIELDS)
_SCALARS = (str, int)
_encoded: dict[tuple[Any, ...], str] = {}


def json_text(value: Any) -> str:
    """JSON text of a column value. Small flat objects of strings and integers (labels, most
    kwargs) repeat from run to run: their text is kept, keyed by their items (no bool or float
    in a key, so 1, 1.0 and true never share one)."""
    if type(value) is dict and len(value) <= 8 and all(type(v) in _SCALARS for v in value.values()):
        key = tuple(value.items())
        text = _encoded.get(key)
        if text is None:
            if len(_encoded) >= 50_000:
                _encoded.clear()
            text = _encoded[key] = _ENCODE(value)
        return text
    return _ENCODE(value)


def fold_state_text(saved: Mapping[str, Any]) -> str:
    """A fold state (`fold_state_of`) as JSON text, written directly: one a changed run, and the
    generic encoder costs twice as much. Field names are known identifiers and keys integers, so
    only label names need escaping."""
    text = f'{{"s":[{",".join([str(s) for s in saved["s"]])}],"e":{saved["e"]}'
    keys = saved.get("k")
    if keys:
        assert _FIELD_NAMES.issuperset(keys), "field keys name carried fields"
        text += ',"k":{' + ",".join([f'"{name}":{key}' for name, key in keys.items()]) + "}"
    labels = saved.get("l")
    if labels:
        text += ',"l":{' + ",".join([f"{_ENCODE(name)}:{key}" for name, key in labels.items()]) + "}"
    return text + "}"


# --- between fold states and values --------------------------------------------------------------


def fold_state_of(state: RunState) -> dict[str, Any]:
    """What the join needs kept beside the run's columns: its starts (epoch micros), whether its
    creation time is an enqueue, and the key of every carried field and label."""
    saved: dict[str, Any] = {"s": [to_micros(s) for s in state.starts], "e": int(state.created_by_enqueue)}
    if state.keys:
        saved["k"] = state.keys
    if state.label_keys:
        saved["l"] = state.label_keys
    return saved


def values_of(state: RunState) -> tuple[tuple[Any, ...], Contribution]:
    """A folded run's values in WRITE_COLUMNS order, and what it adds to the rollups."""
    created = state.created_at
    fields = state.fields
    job = fields.get("job")
    if created is None or job is None:
        raise ValueError(f"run {state.run_id!r} has no events or no job")
    get = fields.get
    started, finished = state.timings()
    duration = (finished - started).total_seconds() if started and finished else None
    status = state.status.value
    run_at = started or created
    failure = fingerprint(job, get("error_type"), get("error_message")) if status == "failed" else None
    values = (
        state.run_id, *[get(name) for name in FIELD_COLUMNS], status, created, started, finished,
        state.heartbeat_at, run_at, duration, state.attempt, str(state.top_key), fold_state_of(state),
        failure,
    )  # fmt: skip
    wait = None
    if started is not None and state.created_by_enqueue:
        wait = max(0.0, (started - created).total_seconds())
    contribution = Contribution(
        job, to_micros(run_at) // 1_000_000, status, duration if status in DURATION_STATUSES else None, wait,
        (get("items_succeeded") or 0, get("items_failed") or 0, get("items_skipped") or 0), failure,
    )  # fmt: skip
    return values, contribution


def contribution_of(values: Sequence[Any]) -> Contribution:
    """What stored values add to the rollups (the same as `values_of` gave when they were written)."""
    status, started, created = values[_AT["status"]], values[_AT["started_at"]], values[_AT["created_at"]]
    wait = None
    if started is not None and values[_AT["fold_state"]].get("e"):
        wait = max(0.0, (started - created).total_seconds())
    duration = values[_AT["duration_s"]] if status in DURATION_STATUSES else None
    items = (
        values[_AT["items_succeeded"]] or 0,
        values[_AT["items_failed"]] or 0,
        values[_AT["items_skipped"]] or 0,
    )
    return Contribution(
        values[_AT["job"]],
        to_micros(values[_AT["run_at"]]) // 1_000_000,
        status,
        duration,
        wait,
        items,
        values[_AT["fingerprint"]],
    )


def state_of(values: Sequence[Any]) -> RunState:
    """The fold state of stored values."""
    fields = {
        name: value for name, value in zip(FIELD_COLUMNS, values[_FIELDS], strict=True) if value is not None
    }
    fields["attempt"] = values[_AT["attempt"]]
    saved = values[_AT["fold_state"]]
    return RunState(
        run_id=values[0],
        top_key=int(values[_AT["fold_key"]]),
        created_at=values[_AT["created_at"]],
        created_by_enqueue=bool(saved.get("e")),
        heartbeat_at=values[_AT["heartbeat_at"]],
        starts=[from_micros(s) for s in saved.get("s", ())],
        fields=fields,
        keys=dict(saved.get("k", ())),
        label_keys=dict(saved.get("l", ())),
    )


def value_of(values: Sequence[Any], name: str) -> Any:
    """One column's value of a run's values (as `load` gives them)."""
    return values[_AT[name]]


def row_of(state: RunState) -> dict[str, Any]:
    """A folded run as a runs-table row (what reading it back gives)."""
    return dict(zip(WRITE_COLUMNS, values_of(state)[0], strict=True))


def state_of_row(row: Mapping[str, Any]) -> RunState:
    """The fold state of a runs-table row as SQLAlchemy reads it."""
    return state_of([row[name] for name in WRITE_COLUMNS])


# --- to and from the driver --------------------------------------------------------------------


def to_driver(values: Sequence[Any], sqlite: bool) -> tuple[Any, ...]:
    """`values` as the driver takes them for an insert: on SQLite JSON and times as text; on
    PostgreSQL datetimes as they are and JSON as text wrapped for the binary COPY's jsonb dumper
    (which would json.dumps every value again, the fold state the slow way)."""
    if not sqlite:
        out = list(values)
        jsonb = _jsonb()
        for i in _JSON_AT:
            if out[i] is not None:
                out[i] = jsonb(json_text(out[i]), str)
        out[_FOLD_STATE] = jsonb(fold_state_text(out[_FOLD_STATE]), str)
        return tuple(out)
    out = list(values)
    for i in _JSON_AT:
        if out[i] is not None:
            out[i] = json_text(out[i])
    out[_FOLD_STATE] = fold_state_text(out[_FOLD_STATE])
    done: list[tuple[Any, str]] = []  # a run's times are often the same datetime again
    for i in _TIMES_AT:
        at = out[i]
        if at is None:
            continue
        for seen, text in done:
            if seen is at:
                out[i] = text
                break
        else:  # bulk.sqlite_time, inline: five a run
            utc = at if at.tzinfo is UTC else at.astimezone(UTC)
            out[i] = text = utc.isoformat(" ", "microseconds")[:26]
            done.append((at, text))
    return tuple(out)


def _driver_value(values: Sequence[Any], i: int, sqlite: bool) -> Any:
    value = values[i]
    if value is None:
        return None
    if i in _JSON:
        return fold_state_text(value) if i == _FOLD_STATE else json_text(value)
    return bulk.sqlite_time(value) if sqlite and i in _TIMES else value


@functools.cache
def _jsonb() -> Any:
    from psycopg.types.json import Jsonb  # PostgreSQL's driver is an extra: imported when used

    return Jsonb


def _from_sqlite(row: Sequence[Any]) -> tuple[Any, ...]:
    out = list(row)
    for i in _TIMES:
        if out[i] is not None:
            out[i] = datetime.fromisoformat(out[i]).replace(tzinfo=UTC)
    for i in _JSON:
        if out[i] is not None:
            out[i] = json.loads(out[i])
    return tuple(out)


def _from_postgres(row: Sequence[Any]) -> tuple[Any, ...]:
    out = list(row)
    for i in _TIMES:
        if out[i] is not None:
            out[i] = out[i].astimezone(UTC)
    return tuple(out)


# --- statements ---------------------------------------------------------------------------------

_SELECT = ", ".join(WRITE_COLUMNS)


def load(conn: Connection, run_ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """The stored values of these runs by run id. On PostgreSQL every run id is locked first,
    found or not, so no other writer creates or changes one of these runs until this transaction
    ends: what is read here is the state the batch's changes (and rollup deltas) build on. (The
    lock and the read go in one round trip.)"""
    if conn.dialect.name == "postgresql":
        # One statement with an array parameter: a plan that does not depend on the batch size.
        statement = f"SELECT {_SELECT} FROM runs WHERE run_id = ANY(%s) ORDER BY run_id FOR UPDATE"
        locks = key_locks.lock_statements(conn, key_locks.RUNS, run_ids)
        rows = bulk.run(conn, [*locks, bulk.Statement(statement, (list(run_ids),), rows=True)])
        return {row[0]: _from_postgres(row) for row in rows}
    reads = []
    for start in range(0, len(run_ids), 500):
        chunk = run_ids[start : start + 500]
        statement = f"SELECT {_SELECT} FROM runs WHERE run_id IN ({', '.join('?' * len(chunk))})"
        reads.append(bulk.Statement(statement, tuple(chunk), rows=True))
    return {row[0]: _from_sqlite(row) for row in bulk.run(conn, reads)}


_SEARCHED_AT = tuple(_AT[name] for name in ("error_type", "error_message", "args", "kwargs"))


def insert_statements(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> list[bulk.Statement]:
    """The statements inserting new runs in the driver's form (`to_driver`), to send with others
    (bulk.run); on SQLite with the statement that adds them to the search index."""
    if not rows:
        return []
    inserts = bulk.insert_statements(conn, runs, WRITE_COLUMNS, rows)  # on SQLite only built, not run
    if conn.dialect.name != "sqlite":
        return inserts
    if len(rows) > 1:
        first_id = int(conn.exec_driver_sql("SELECT coalesce(max(id), 0) + 1 FROM runs").scalar_one())
        return [*inserts, _search_statement(first_id)]
    if all(rows[0][i] is None for i in _SEARCHED_AT):  # one new run, nothing in it to search
        return inserts
    return [*inserts, _search_statement(None)]  # its row id is the connection's last one


_INDEXES = range(len(WRITE_COLUMNS))


def _changed(old: Sequence[Any], new: Sequence[Any]) -> tuple[int, ...]:
    return tuple([i for i, a, b in zip(_INDEXES, old, new, strict=True) if a != b or type(a) is not type(b)])


def update_statements(
    conn: Connection, changes: Sequence[tuple[Sequence[Any], Sequence[Any]]]
) -> list[bulk.Statement]:
    """The statements writing runs over their stored values ((old, new) pairs), to send with others
    (bulk.run). Runs are grouped by the columns that changed, one statement per group (a start
    sets a handful of columns, an outcome others)."""
    groups: dict[tuple[int, ...], list[Sequence[Any]]] = {}
    for old, new in changes:
        columns = _changed(old, new)
        if columns:
            groups.setdefault(columns, []).append(new)
    sqlite = conn.dialect.name == "sqlite"
    statements = []
    for columns, group in groups.items():
        names = [WRITE_COLUMNS[i] for i in columns]
        params = [(*[_driver_value(values, i, sqlite) for i in columns], values[0]) for values in group]
        if sqlite:
            sets = ", ".join(f"{name} = ?" for name in names)
            statements.append(bulk.Statement(f"UPDATE runs SET {sets} WHERE run_id = ?", params, many=True))
        else:
            statements.append(_update_postgres(names, params))
    return statements


def _update_postgres(names: Sequence[str], params: Sequence[tuple[Any, ...]]) -> bulk.Statement:
    """One UPDATE … FROM unnest(column arrays): a join, not a statement per run."""
    kinds = [_pg_type(name) for name in names]
    arrays = ", ".join(f"%s::{kind}[]" for kind in [*kinds, "text"])
    sets = ", ".join(
        f"{name} = u.{name}::jsonb" if _is_json(name) else f"{name} = u.{name}" for name in names
    )
    columns = ", ".join(names)
    statement = f"UPDATE runs SET {sets} FROM unnest({arrays}) AS u({columns}, key) WHERE runs.run_id = u.key"
    return bulk.Statement(statement, tuple(list(column) for column in zip(*params, strict=True)))


def _is_json(name: str) -> bool:
    return isinstance(runs.c[name].type, JSONValue)


def _pg_type(name: str) -> str:
    """The PostgreSQL type an array of this column's driver values is cast to (JSON goes as text)."""
    return "text" if _is_json(name) else bulk.pg_type_name(runs.c[name].type)


# SQLite's search index (migration 0009) holds runs that have something to find; the recorder adds
# new ones in one statement, triggers keep it right on update and delete.
SEARCHED = "error_type, error_message, args, kwargs"
HAS_TEXT = "(error_type IS NOT NULL OR error_message IS NOT NULL OR args IS NOT NULL OR kwargs IS NOT NULL)"


def _search_statement(first_id: int | None) -> bulk.Statement:
    """SQLite's statement adding runs from row id `first_id` on (None: the run just inserted) to
    its search index."""
    if first_id is None:
        return bulk.Statement(
            f"INSERT INTO runs_fts(rowid, {SEARCHED}) "
            f"SELECT id, {SEARCHED} FROM runs WHERE id = last_insert_rowid() AND {HAS_TEXT}"
        )
    return bulk.Statement(
        f"INSERT INTO runs_fts(rowid, {SEARCHED}) "
        f"SELECT id, {SEARCHED} FROM runs WHERE id >= ? AND {HAS_TEXT}",
        (first_id,),
    )
