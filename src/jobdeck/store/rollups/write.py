"""Per-job rollups by minute, hour and day, kept by adding each run's contribution.

The recorder calls `apply_changes` in the same transaction as the runs it writes: for every run
that changed, its old contribution is taken away and its new one added. A cell holds counters, the
duration extremes and two log-bucketed sketches (duration and queue wait) as small binary values.
A batch's deltas are summed per cell in Python, the cells it touches are read (locked on
PostgreSQL), merged and written back: one row per cell, however many histogram bins it has.
Counters and sketches are sums, so that is exact; a minimum or maximum cannot be taken away, so a
cell that loses a duration has them recomputed from its raw runs (rare: only a finished run that
changes).
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import Connection, func, select, update

from jobdeck.analytics import sketch
from jobdeck.domain import DURATION_STATUSES
from jobdeck.events import to_micros
from jobdeck.store import bulk
from jobdeck.store.schema import rollups, runs

GRANULARITIES = (60, 3600, 86400)
DURATION, WAIT = 0, 1
HISTOGRAMS = ("dur_hist", "wait_hist")  # the column of each sketch metric
COUNTERS = (
    "runs",
    "pending",
    "running",
    "retrying",
    "succeeded",
    "failed",
    "cancelled",
    "lost",
    "dur_count",
    "dur_sum",
    "wait_count",
    "wait_sum",
    "items_succeeded",
    "items_failed",
    "items_skipped",
)
_INDEX = {name: i for i, name in enumerate(COUNTERS)}
_N = len(COUNTERS)


class Contribution(NamedTuple):
    """What one run adds to the rollups."""

    job: str
    at: int  # epoch seconds of run_at
    status: str
    duration: float | None
    wait: float | None
    items: tuple[int, int, int]
    failure: str | None = None  # a failed run's fingerprint


def contribution_of(row: Mapping[Any, Any]) -> Contribution:
    """A run row's contribution: counted at run_at; duration only for real outcomes."""
    status = row["status"]
    duration = row["duration_s"] if status in DURATION_STATUSES else None
    wait = None
    started = row["started_at"]
    if started is not None and (row.get("fold_state") or {}).get("e"):
        wait = max(0.0, (started - row["created_at"]).total_seconds())
    return Contribution(
        job=row["job"],
        at=to_micros(row["run_at"]) // 1_000_000,
        status=status,
        duration=duration,
        wait=wait,
        items=(row.get("items_succeeded") or 0, row.get("items_failed") or 0, row.get("items_skipped") or 0),
        failure=row.get("fingerprint"),
    )


Cell = tuple[int, int, str]  # (granularity, bucket, job)


class Delta:
    """What a transaction adds to one cell: counters, the extremes of added durations, sketches."""

    __slots__ = ("high", "low", "recompute", "sketches", "values")

    def __init__(self) -> None:
        # Integers but for the two sums of seconds: counters stay exact, nothing to round.
        self.values: list[Any] = [0] * _N
        self.low: float | None = None
        self.high: float | None = None
        self.sketches: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.recompute = False  # a duration was taken away: min and max come from the runs again


class Changes:
    """Accumulated rollup deltas for one transaction: each contribution goes straight into its
    minute, hour and day cells."""

    def __init__(self) -> None:
        self.cells: dict[Cell, Delta] = {}
        # (granularity, bucket, fingerprint) -> [job, failed runs added]
        self.failures: dict[tuple[int, int, str], list[Any]] = {}

    @classmethod
    def empty(cls) -> Changes:
        return cls()

    def add(self, c: Contribution, sign: int) -> None:
        job, at, status, duration, wait, items, failure = c
        if failure is not None:
            failures = self.failures
            for g in GRANULARITIES:
                key = (g, at - at % g, failure)
                found = failures.get(key)
                if found is None:
                    failures[key] = [job, sign]
                else:
                    found[1] += sign
        status_index = _INDEX[status]
        duration_bin = sketch.bin_of(duration) if duration is not None else 0
        wait_bin = sketch.bin_of(wait) if wait is not None else 0
        cells = self.cells
        for g in GRANULARITIES:
            key = (g, at - at % g, job)
            delta = cells.get(key)
            if delta is None:
                delta = cells[key] = Delta()
            v = delta.values
            v[0] += sign
            v[status_index] += sign
            if items[0]:
                v[12] += sign * items[0]
            if items[1]:
                v[13] += sign * items[1]
            if items[2]:
                v[14] += sign * items[2]
            if duration is not None:
                v[8] += sign
                v[9] += sign * duration
                durations = delta.sketches[DURATION]
                durations[duration_bin] = durations.get(duration_bin, 0) + sign
                if sign < 0:
                    delta.recompute = True
                elif delta.low is None or delta.high is None:
                    delta.low = delta.high = duration
                elif duration < delta.low:
                    delta.low = duration
                elif duration > delta.high:
                    delta.high = duration
            if wait is not None:
                v[10] += sign
                v[11] += sign * wait
                waits = delta.sketches[WAIT]
                waits[wait_bin] = waits.get(wait_bin, 0) + sign

    def change(self, old: Contribution | None, new: Contribution | None) -> None:
        if old == new:
            return
        if old is not None:
            self.add(old, -1)
        if new is not None:
            self.add(new, +1)


_KEY = ("granularity", "bucket", "job")
_VALUE_COLUMNS = (*COUNTERS, "dur_min", "dur_max", *HISTOGRAMS)
_CELL_COLUMNS = (*_KEY, *_VALUE_COLUMNS, "version")
_PG_KEY_TYPES = ("int", "bigint", "text")


def _load_cells(conn: Connection, keys: Sequence[Cell]) -> dict[Cell, tuple[Any, ...]]:
    """The stored values of these cells (locked for update on PostgreSQL), by key."""
    found: dict[Cell, tuple[Any, ...]] = {}
    names = ", ".join(f"r.{name}" for name in (*_KEY, *_VALUE_COLUMNS))
    if conn.dialect.name == "postgresql":
        arrays = ", ".join(f"%s::{t}[]" for t in _PG_KEY_TYPES)
        statement = (
            f"SELECT {names} FROM rollups r JOIN unnest({arrays}) AS k(g, b, j) "
            "ON r.granularity = k.g AND r.bucket = k.b AND r.job = k.j "
            "ORDER BY r.granularity, r.bucket, r.job FOR UPDATE OF r"
        )
        columns = tuple(list(column) for column in zip(*keys, strict=True))
        for row in conn.exec_driver_sql(statement, columns):
            found[(row[0], row[1], row[2])] = tuple(row[3:])
        return found
    for start in range(0, len(keys), 900):
        chunk = keys[start : start + 900]
        # A join with the keys seeks each in the primary key; `(…) IN (VALUES …)` scans the table.
        statement = sqlite_cells_query(len(chunk))
        for row in conn.exec_driver_sql(statement, tuple(x for key in chunk for x in key)):
            found[(row[0], row[1], row[2])] = tuple(row[3:])
    return found


def sqlite_cells_query(count: int) -> str:
    """SQLite's statement reading `count` cells by key (`_load_cells`)."""
    names = ", ".join(f"rollups.{name}" for name in (*_KEY, *_VALUE_COLUMNS))
    marks = ", ".join("(?, ?, ?)" for _ in range(count))
    return (
        f"SELECT {names} FROM (VALUES {marks}) AS k JOIN rollups ON rollups.granularity = k.column1 "
        "AND rollups.bucket = k.column2 AND rollups.job = k.column3"
    )


def _merged(stored: tuple[Any, ...] | None, delta: Delta) -> list[Any]:
    """A cell's new values (counters, dur_min, dur_max, sketches) from its stored ones and a delta."""
    if stored is None:
        durations, waits = delta.sketches
        return [
            *delta.values,
            delta.low,
            delta.high,
            sketch.encode(durations) if durations else None,
            sketch.encode(waits) if waits else None,
        ]
    values = [(old or 0) + x for old, x in zip(stored, delta.values, strict=False)]
    low, high = stored[_N], stored[_N + 1]
    if delta.low is not None:
        low = delta.low if low is None else min(low, delta.low)
        high = delta.high if high is None else max(high, delta.high)
    sketches = []
    for blob, part in zip(stored[_N + 2 :], delta.sketches, strict=True):
        if part:
            merged = sketch.decode(blob)
            sketch.add_into(merged, part)
            sketches.append(sketch.encode(merged) or None)
        else:
            sketches.append(blob)
    return [*values, low, high, *sketches]


def apply_changes(conn: Connection, changes: Changes) -> None:
    """Merge accumulated deltas into the stored cells; drop emptied cells, recompute lost extremes.

    Cells are read and written in key order so concurrent writers lock them in the same order;
    two writers creating the same cell at once make one of them fail with an integrity error,
    which the recorder retries.
    """
    cells = changes.cells
    _apply_failures(conn, changes.failures)
    keys = sorted(key for key, d in cells.items() if any(d.values) or d.recompute or any(d.sketches))
    if not keys:
        return
    stored = _load_cells(conn, keys)
    stamp = new_version()
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    emptied: list[Cell] = []
    recompute: list[Cell] = []
    for key in keys:
        delta = cells[key]
        old = stored.get(key)
        values = _merged(old, delta)
        if values[0] <= 0:
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
    if updates:
        sets = ", ".join(f"{name} = {mark}" for name in (*_VALUE_COLUMNS, "version"))
        where = " AND ".join(f"{name} = {mark}" for name in _KEY)
        bulk.execute_many(conn, f"UPDATE rollups SET {sets} WHERE {where}", updates)
    bulk.insert(conn, rollups, _CELL_COLUMNS, inserts)
    if emptied:
        where = " AND ".join(f"{name} = {mark}" for name in _KEY)
        bulk.execute_many(conn, f"DELETE FROM rollups WHERE {where}", emptied)
    for g, bucket, job in recompute:
        _recompute_extremes(conn, g, bucket, job, stamp)


def _apply_failures(conn: Connection, failures: dict[tuple[int, int, str], list[Any]]) -> None:
    """Add the failure counts per fingerprint (additive upserts, in key order), drop emptied cells."""
    rows = [(*key, job, n) for key, (job, n) in sorted(failures.items()) if n]
    if not rows:
        return
    mark = bulk.placeholder(conn)
    upsert = (
        f"INSERT INTO failure_rollups (granularity, bucket, fingerprint, job, n) "
        f"VALUES ({', '.join([mark] * 5)}) "
        "ON CONFLICT (granularity, bucket, fingerprint) DO UPDATE SET n = failure_rollups.n + excluded.n"
    )
    bulk.execute_many(conn, upsert, rows)
    emptied = [row[:3] for row in rows if row[4] < 0]
    if emptied:
        bulk.execute_many(
            conn,
            f"DELETE FROM failure_rollups WHERE granularity = {mark} AND bucket = {mark} "
            f"AND fingerprint = {mark} AND n <= 0",
            emptied,
        )


_VERSION_MOD = 2**40


def new_version() -> int:
    """A fresh cell version: random, so a cell deleted and made again never reuses an old one."""
    return random.getrandbits(40) | 1


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


def epoch(seconds: int) -> datetime:
    """The aware UTC datetime of epoch seconds."""
    return datetime.fromtimestamp(seconds, tz=UTC)


# --- reading -----------------------------------------------------------------------------------


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
        for row in _totals(conn, g, lo, hi, job):
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


# --- caching what was merged from a range of cells ----------------------------------------------

T = TypeVar("T")


class RangeCache:
    """Values computed from a range of rollup cells, kept while the cells' versions are unchanged.

    Every write to a cell or its bins gives the cell a new random version, so the count and sum
    of the versions in a range change whenever anything in it does. Checking them costs one
    small query; merging the range again costs thousands of rows. A few entries are kept.
    """

    def __init__(self, size: int = 48) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[tuple[int, int], Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, fingerprint: tuple[int, int]) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != fingerprint:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, fingerprint: tuple[int, int], value: Any) -> None:
        with self._lock:
            self._entries[key] = (fingerprint, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


range_cache = RangeCache()


def fingerprint(conn: Connection, g: int, lo: int, hi: int, job: str | None = None) -> tuple[int, int]:
    """(cells, sum of their versions) over [lo, hi) at granularity g: changes whenever a cell does."""
    # Versions are summed modulo 2**40 so a sum over millions of cells stays within 64 bits.
    query = select(func.count(), func.coalesce(func.sum(rollups.c.version % _VERSION_MOD), 0)).where(
        rollups.c.granularity == g, rollups.c.bucket >= lo, rollups.c.bucket < hi
    )
    if job is not None:
        query = query.where(rollups.c.job == job)
    count, total = conn.execute(query).one()
    return int(count), int(total)


def cached(
    conn: Connection, kind: Hashable, g: int, lo: int, hi: int, job: str | None, compute: Callable[[], T]
) -> T:
    """`compute()` for the cells [lo, hi) of granularity g (and job), reused while they are unchanged."""
    if lo >= hi:
        return compute()
    current = fingerprint(conn, g, lo, hi, job)
    key = (conn.engine.url, kind, g, lo, hi, job)
    value = range_cache.get(key, current)
    if value is None:
        value = compute()
        range_cache.put(key, current, value)
    return cast(T, value)


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
