"""Per-job rollups by minute, hour and day, kept by adding each run's contribution.

The recorder calls `apply_changes` in the same transaction as the runs it
writes: for every run that changed, its old contribution is taken away and its
new one added. Counters and histogram bins are sums, so that is exact; a
minimum or maximum cannot be taken away, so a cell that loses a duration has
them recomputed from its raw runs (rare: only a finished run that changes).
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, func, select, update

from jobdeck.analytics import sketch
from jobdeck.domain import DURATION_STATUSES
from jobdeck.events import to_micros
from jobdeck.store import bulk
from jobdeck.store.schema import rollup_bins, rollups, runs

GRANULARITIES = (60, 3600, 86400)
DURATION, WAIT = 0, 1
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


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one run adds to the rollups."""

    job: str
    at: int  # epoch seconds of run_at
    status: str
    duration: float | None
    wait: float | None
    items: tuple[int, int, int]


def contribution_of(row: Mapping[Any, Any]) -> Contribution:
    """A run row's contribution: counted at run_at; duration only for real outcomes."""
    status = row["status"]
    duration = row["duration_s"] if status in DURATION_STATUSES else None
    wait = None
    state = row.get("fold_state") or {}
    if row.get("started_at") is not None and state.get("enq"):
        wait = max(0.0, (row["started_at"] - row["created_at"]).total_seconds())
    return Contribution(
        job=row["job"],
        at=to_micros(row["run_at"]) // 1_000_000,
        status=status,
        duration=duration,
        wait=wait,
        items=(row.get("items_succeeded") or 0, row.get("items_failed") or 0, row.get("items_skipped") or 0),
    )


MinuteCell = tuple[int, str]  # (minute bucket, job)
Cell = tuple[int, int, str]  # (granularity, bucket, job)
BinKey = tuple[int, int, str, int, int]  # (granularity, bucket, job, metric, bin)


class Changes:
    """Accumulated rollup deltas for one transaction.

    Contributions are added per minute cell only; the hour and day cells are sums of minute
    cells, rolled up once when read (`cells`, `extremes`, `bins`, `recompute`).
    """

    def __init__(self) -> None:
        self.minutes: dict[MinuteCell, list[float]] = {}
        self.minute_extremes: dict[MinuteCell, tuple[float, float]] = {}
        self.minute_bins: dict[tuple[int, str, int, int], int] = defaultdict(int)
        self.minute_recompute: set[MinuteCell] = set()
        self.removed = False
        self._rolled: tuple[
            dict[Cell, list[float]], dict[Cell, tuple[float, float]], dict[BinKey, int], set[Cell]
        ]
        self._rolled_at = -1
        self._additions = 0

    @classmethod
    def empty(cls) -> Changes:
        return cls()

    def add(self, c: Contribution, sign: int) -> None:
        self._additions += 1
        if sign < 0:
            self.removed = True
        cell = (c.at - c.at % 60, c.job)
        v = self.minutes.get(cell)
        if v is None:
            v = self.minutes[cell] = [0.0] * len(COUNTERS)
        v[0] += sign
        v[_INDEX[c.status]] += sign
        items = c.items
        if items[0]:
            v[12] += sign * items[0]
        if items[1]:
            v[13] += sign * items[1]
        if items[2]:
            v[14] += sign * items[2]
        duration = c.duration
        if duration is not None:
            v[8] += sign
            v[9] += sign * duration
            self.minute_bins[(*cell, DURATION, sketch.bin_of(duration))] += sign
            if sign > 0:
                lo_hi = self.minute_extremes.get(cell)
                self.minute_extremes[cell] = (
                    (min(lo_hi[0], duration), max(lo_hi[1], duration)) if lo_hi else (duration, duration)
                )
            else:
                self.minute_recompute.add(cell)
        if c.wait is not None:
            v[10] += sign
            v[11] += sign * c.wait
            self.minute_bins[(*cell, WAIT, sketch.bin_of(c.wait))] += sign

    def change(self, old: Contribution | None, new: Contribution | None) -> None:
        if old == new:
            return
        if old is not None:
            self.add(old, -1)
        if new is not None:
            self.add(new, +1)

    def _roll(
        self,
    ) -> tuple[dict[Cell, list[float]], dict[Cell, tuple[float, float]], dict[BinKey, int], set[Cell]]:
        if self._rolled_at == self._additions:
            return self._rolled
        cells: dict[Cell, list[float]] = {}
        extremes: dict[Cell, tuple[float, float]] = {}
        bins: dict[BinKey, int] = defaultdict(int)
        recompute: set[Cell] = set()
        for (minute, job), v in self.minutes.items():
            for g in GRANULARITIES:
                key = (g, minute - minute % g, job)
                total = cells.get(key)
                if total is None:
                    cells[key] = list(v)
                else:
                    for i, x in enumerate(v):
                        if x:
                            total[i] += x
        for (minute, job), (lo, hi) in self.minute_extremes.items():
            for g in GRANULARITIES:
                key = (g, minute - minute % g, job)
                old = extremes.get(key)
                extremes[key] = (min(old[0], lo), max(old[1], hi)) if old else (lo, hi)
        for (minute, job, metric, index), n in self.minute_bins.items():
            if n:
                for g in GRANULARITIES:
                    bins[(g, minute - minute % g, job, metric, index)] += n
        for minute, job in self.minute_recompute:
            recompute.update((g, minute - minute % g, job) for g in GRANULARITIES)
        self._rolled, self._rolled_at = (cells, extremes, bins, recompute), self._additions
        return self._rolled

    @property
    def cells(self) -> dict[Cell, list[float]]:
        return self._roll()[0]

    @property
    def extremes(self) -> dict[Cell, tuple[float, float]]:
        return self._roll()[1]

    @property
    def bins(self) -> dict[BinKey, int]:
        return self._roll()[2]

    @property
    def recompute(self) -> set[Cell]:
        return self._roll()[3]


_DELTA_COLUMNS = ("granularity", "bucket", "job", *COUNTERS, "dur_min", "dur_max", "version")
_ROUNDED = tuple(name not in ("dur_sum", "wait_sum") for name in COUNTERS)


_PG_TYPES = {"granularity": "int", "bucket": "bigint", "job": "text", "metric": "smallint", "bin": "int"}
_PG_TYPES |= {name: "float8" for name in ("dur_sum", "wait_sum", "dur_min", "dur_max")}
_CELL_KEY = ("granularity", "bucket", "job")
_BIN_COLUMNS = (*_CELL_KEY, "metric", "bin", "n")


def _rows_source(dialect: str, columns: tuple[str, ...]) -> str:
    """Where rows come from: one VALUES row per execution on SQLite, one unnest of arrays on PostgreSQL."""
    if dialect == "sqlite":
        return f"VALUES ({', '.join('?' * len(columns))})"
    arrays = ", ".join(f"%s::{_PG_TYPES.get(name, 'bigint')}[]" for name in columns)
    return f"SELECT * FROM unnest({arrays})"


def _statements(dialect: str) -> tuple[str, str, str, str]:
    """The additive upserts and the deletes of emptied cells for a dialect."""
    adds = ", ".join(f"{name} = rollups.{name} + excluded.{name}" for name in COUNTERS)
    cells = (
        f"INSERT INTO rollups ({', '.join(_DELTA_COLUMNS)}) {_rows_source(dialect, _DELTA_COLUMNS)} "
        f"ON CONFLICT (granularity, bucket, job) DO UPDATE SET {adds}, version = excluded.version, "
        "dur_min = CASE WHEN rollups.dur_min IS NULL OR excluded.dur_min < rollups.dur_min "
        "THEN coalesce(excluded.dur_min, rollups.dur_min) ELSE rollups.dur_min END, "
        "dur_max = CASE WHEN rollups.dur_max IS NULL OR excluded.dur_max > rollups.dur_max "
        "THEN coalesce(excluded.dur_max, rollups.dur_max) ELSE rollups.dur_max END"
    )
    bins = (
        f"INSERT INTO rollup_bins ({', '.join(_BIN_COLUMNS)}) {_rows_source(dialect, _BIN_COLUMNS)} "
        "ON CONFLICT (granularity, bucket, job, metric, bin) DO UPDATE SET n = rollup_bins.n + excluded.n"
    )
    if dialect == "sqlite":
        drop_cells = "DELETE FROM rollups WHERE granularity = ? AND bucket = ? AND job = ? AND runs <= 0"
        drop_bins = (
            "DELETE FROM rollup_bins WHERE granularity = ? AND bucket = ? AND job = ? "
            "AND metric = ? AND bin = ? AND n <= 0"
        )
    else:
        drop_cells = (
            f"DELETE FROM rollups WHERE ({', '.join(_CELL_KEY)}) IN "
            f"({_rows_source(dialect, _CELL_KEY)}) AND runs <= 0"
        )
        drop_bins = (
            f"DELETE FROM rollup_bins WHERE ({', '.join(_BIN_COLUMNS[:5])}) IN "
            f"({_rows_source(dialect, _BIN_COLUMNS[:5])}) AND n <= 0"
        )
    return cells, bins, drop_cells, drop_bins


def _execute(conn: Connection, statement: str, rows: list[tuple[Any, ...]]) -> None:
    """Run a statement for every row: executemany on SQLite, once over column arrays on PostgreSQL."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        bulk.execute_many(conn, statement, rows)
    else:
        conn.exec_driver_sql(statement, tuple(list(column) for column in zip(*rows, strict=True)))


def apply_changes(conn: Connection, changes: Changes) -> None:
    """Write accumulated deltas: additive upserts, then deletes of emptied cells and min/max recomputation.

    Keys are written in sorted order so concurrent writers lock rows in the same order.
    """
    cells_sql, bins_sql, drop_cells_sql, drop_bins_sql = _statements(conn.dialect.name)
    extremes = changes.extremes
    bin_rows = [(*key, n) for key, n in sorted(changes.bins.items()) if n]
    binned = {row[:3] for row in bin_rows}
    stamp = new_version()
    cell_rows = []
    emptied_cells = []
    for key, v in sorted(changes.cells.items()):
        lo_hi = extremes.get(key)
        if lo_hi is None and not any(v) and key not in binned:
            continue
        values = [round(x) if r else x for x, r in zip(v, _ROUNDED, strict=True)]
        cell_rows.append((*key, *values, *(lo_hi or (None, None)), stamp))
        if v[0] < 0:
            emptied_cells.append(key)
    _execute(conn, cells_sql, cell_rows)
    _execute(conn, bins_sql, bin_rows)
    if changes.removed:
        _execute(conn, drop_bins_sql, [row[:5] for row in bin_rows if row[5] < 0])
        _execute(conn, drop_cells_sql, emptied_cells)
    for g, bucket, job in sorted(changes.recompute):
        _recompute_extremes(conn, g, bucket, job, stamp)


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
    """Merged histogram bins per job over the window (each covering range cached while unchanged)."""
    result: dict[str, dict[int, int]] = defaultdict(dict)
    for g, lo, hi in cover(since, until):
        part = cached(conn, ("bins", metric), g, lo, hi, job, partial(_bins, conn, g, lo, hi, metric, job))
        for job_name, counts in part.items():
            merged = result[job_name]
            if not merged:
                merged.update(counts)
                continue
            for index, n in counts.items():
                merged[index] = merged.get(index, 0) + n
    return result


def _bins(
    conn: Connection, g: int, lo: int, hi: int, metric: int, job: str | None
) -> dict[str, dict[int, int]]:
    query = select(rollup_bins.c.job, rollup_bins.c.bin, func.sum(rollup_bins.c.n)).where(
        rollup_bins.c.granularity == g,
        rollup_bins.c.metric == metric,
        rollup_bins.c.bucket >= lo,
        rollup_bins.c.bucket < hi,
    )
    if job is not None:
        query = query.where(rollup_bins.c.job == job)
    result: dict[str, dict[int, int]] = defaultdict(dict)
    for job_name, index, n in conn.execute(query.group_by(rollup_bins.c.job, rollup_bins.c.bin)):
        if n:
            result[job_name][int(index)] = int(n)
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


def all_bins(
    conn: Connection, since: int | None = None, until: int | None = None
) -> Iterable[Mapping[Any, Any]]:
    """Every histogram bin with a bucket in [since, until) (for verification)."""
    query = select(rollup_bins)
    if since is not None:
        query = query.where(rollup_bins.c.bucket >= since)
    if until is not None:
        query = query.where(rollup_bins.c.bucket < until)
    return (row._mapping for row in conn.execute(query))
