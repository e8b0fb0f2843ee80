"""The rollups' write: merging a transaction's deltas into the stored cells, in the writer's transaction.

The cells a batch touches are read (locked on PostgreSQL), merged and written back: one row per
cell, however many histogram bins it has. Counters and sketches are sums, so that is exact; a
minimum or maximum cannot be taken away, so a cell that loses a duration has them recomputed from
its raw runs (rare: only a finished run that changes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, func, select, update

from jobdeck.analytics import sketch
from jobdeck.domain import DURATION_STATUSES
from jobdeck.store import bulk, key_locks
from jobdeck.store.rollups.cache import new_version
from jobdeck.store.rollups.cells import COUNTERS, GRANULARITIES, HISTOGRAMS, Cell, epoch
from jobdeck.store.rollups.contributions import RUNS, Changes, Delta
from jobdeck.store.schema import rollups, runs

_KEY = ("granularity", "bucket", "job")
_VALUE_COLUMNS = (*COUNTERS, "dur_min", "dur_max", *HISTOGRAMS)
_CELL_COLUMNS = (*_KEY, *_VALUE_COLUMNS, "version")
_PG_KEY_TYPES = ("int", "bigint", "text")
_N = len(COUNTERS)


# A stored cell as `_read_cells` reads it: its values in _VALUE_COLUMNS order, named by these.
Stored = tuple[Any, ...]
_COUNTERS = slice(0, _N)
_DUR_MIN, _DUR_MAX = _N, _N + 1
_SKETCHES = slice(_N + 2, _N + 2 + len(HISTOGRAMS))


def _read_cells(conn: Connection, keys: Sequence[Cell]) -> list[bulk.Statement]:
    """The statements reading these cells (locked for update on PostgreSQL); their rows are the
    key, then the values in _VALUE_COLUMNS order."""
    if conn.dialect.name == "postgresql":
        names = ", ".join(f"r.{name}" for name in (*_KEY, *_VALUE_COLUMNS))
        arrays = ", ".join(f"%s::{t}[]" for t in _PG_KEY_TYPES)
        statement = (
            f"SELECT {names} FROM rollups r JOIN unnest({arrays}) AS k(g, b, j) "
            "ON r.granularity = k.g AND r.bucket = k.b AND r.job = k.j "
            "ORDER BY r.granularity, r.bucket, r.job FOR UPDATE OF r"
        )
        columns = tuple(list(column) for column in zip(*keys, strict=True))
        return [bulk.Statement(statement, columns, rows=True)]
    reads = []
    for start in range(0, len(keys), 900):
        chunk = keys[start : start + 900]
        # A join with the keys seeks each in the primary key; `(…) IN (VALUES …)` scans the table.
        statement = sqlite_cells_query(len(chunk))
        reads.append(bulk.Statement(statement, tuple(x for key in chunk for x in key), rows=True))
    return reads


def sqlite_cells_query(count: int) -> str:
    """SQLite's statement reading `count` cells by key (`_load_cells`)."""
    names = ", ".join(f"rollups.{name}" for name in (*_KEY, *_VALUE_COLUMNS))
    marks = ", ".join("(?, ?, ?)" for _ in range(count))
    return (
        f"SELECT {names} FROM (VALUES {marks}) AS k JOIN rollups ON rollups.granularity = k.column1 "
        "AND rollups.bucket = k.column2 AND rollups.job = k.column3"
    )


def _merged(stored: Stored | None, delta: Delta) -> list[Any]:
    """A cell's new values (in _VALUE_COLUMNS order) from its stored ones and a delta."""
    if stored is None:
        durations, waits = delta.sketches
        return [
            *delta.counters,
            delta.low,
            delta.high,
            sketch.encode(durations) if durations else None,
            sketch.encode(waits) if waits else None,
        ]
    values = [(old or 0) + x for old, x in zip(stored[_COUNTERS], delta.counters, strict=True)]
    low, high = stored[_DUR_MIN], stored[_DUR_MAX]
    if delta.low is not None and delta.high is not None:  # set together
        low = delta.low if low is None else min(low, delta.low)
        high = delta.high if high is None else max(high, delta.high)
    sketches = []
    for blob, part in zip(stored[_SKETCHES], delta.sketches, strict=True):
        if part:
            merged = sketch.decode(blob)
            sketch.add_into(merged, part)
            sketches.append(sketch.encode(merged) or None)
        else:
            sketches.append(blob)
    return [*values, low, high, *sketches]


def apply_changes(
    conn: Connection,
    changes: Changes,
    before: Sequence[bulk.Statement] = (),
    after: Sequence[bulk.Statement] = (),
) -> None:
    """Merge accumulated deltas into the stored cells; drop emptied cells, recompute lost extremes.

    Cells are locked (`key_locks`, found or not: two writers may create the same cell), read and
    written in key order, so concurrent writers take turns on a cell and never deadlock. The
    caller's statements `before` go with the cells' read, those `after` with their write: on
    PostgreSQL a small transaction's statements take two round trips in all (bulk.run).
    """
    cells = changes.cells
    keys = _changed_cells(cells)
    reads = [*before, *_failure_statements(conn, changes.failures)]
    if not keys:
        bulk.run(conn, [*reads, *after])
        return
    locks = key_locks.lock_statements(conn, key_locks.ROLLUP_CELLS, [f"{g}:{b}:{job}" for g, b, job in keys])
    stored = {
        (row[0], row[1], row[2]): tuple(row[3:])
        for row in bulk.run(conn, [*reads, *locks, *_read_cells(conn, keys)])
    }
    stamp = new_version()
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    emptied: list[Cell] = []
    recompute: list[Cell] = []
    for key in keys:
        delta = cells[key]
        old = stored.get(key)
        values = _merged(old, delta)
        if values[RUNS] <= 0:  # no runs left in the cell
            if old is not None:
                emptied.append(key)
            continue
        if delta.recompute:
            recompute.append(key)
        if old is None:
            inserts.append((*key, *values, stamp))
        else:
            updates.append((*values, stamp, *key))
    mark = bulk.placeholder(conn)
    writes = bulk.insert_statements(conn, rollups, _CELL_COLUMNS, inserts)
    if updates:
        sets = ", ".join(f"{name} = {mark}" for name in (*_VALUE_COLUMNS, "version"))
        where = " AND ".join(f"{name} = {mark}" for name in _KEY)
        writes.append(bulk.Statement(f"UPDATE rollups SET {sets} WHERE {where}", updates, many=True))
    if emptied:
        where = " AND ".join(f"{name} = {mark}" for name in _KEY)
        writes.append(bulk.Statement(f"DELETE FROM rollups WHERE {where}", emptied, many=True))
    bulk.run(conn, [*writes, *after])
    for g, bucket, job in recompute:
        _recompute_extremes(conn, g, bucket, job, stamp)


def _changed_cells(cells: Mapping[Cell, Delta]) -> list[Cell]:
    """The cells a transaction changes, in key order: those with a non-zero delta, and the coarser
    cells of the same job holding one. A run moved between two hours of one day changes the hour
    cells but can leave the day cell's sums as they were; the day cell is written all the same, so
    its version changes whenever anything inside it does (caches of finer cells rely on that)."""
    changed: list[Cell] = []
    unchanged: set[Cell] = set()
    for key, d in cells.items():
        if any(d.counters) or d.recompute or any(d.sketches):
            changed.append(key)
        else:
            unchanged.add(key)
    if unchanged:  # rare: most batches change every cell they touch
        for g, bucket, job in list(changed):
            for coarser in GRANULARITIES:
                key = (coarser, bucket - bucket % coarser, job)
                if coarser > g and key in unchanged:
                    unchanged.discard(key)
                    changed.append(key)
    return sorted(changed)


def _failure_statements(
    conn: Connection, failures: dict[tuple[int, int, str], list[Any]]
) -> list[bulk.Statement]:
    """Add the failure counts per fingerprint (additive upserts, in key order), drop emptied cells."""
    rows = [(*key, job, n) for key, (job, n) in sorted(failures.items()) if n]
    if not rows:
        return []
    mark = bulk.placeholder(conn)
    upsert = (
        f"INSERT INTO failure_rollups (granularity, bucket, fingerprint, job, n) "
        f"VALUES ({', '.join([mark] * 5)}) "
        "ON CONFLICT (granularity, bucket, fingerprint) DO UPDATE SET n = failure_rollups.n + excluded.n"
    )
    statements = [bulk.Statement(upsert, rows, many=True)]
    emptied = [row[:3] for row in rows if row[4] < 0]
    if emptied:
        delete = (
            f"DELETE FROM failure_rollups WHERE granularity = {mark} AND bucket = {mark} "
            f"AND fingerprint = {mark} AND n <= 0"
        )
        statements.append(bulk.Statement(delete, emptied, many=True))
    return statements


def _recompute_extremes(conn: Connection, g: int, bucket: int, job: str, stamp: int) -> None:
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
        .values(dur_min=low, dur_max=high, version=stamp)
    )
