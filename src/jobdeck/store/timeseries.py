"""Time series and duration heatmaps over any window, read from rollups (never from raw runs).

A window is cut into steps chosen from a fixed ladder so a series has at most
MAX_POINTS points; each step is read from the coarsest rollup granularity that
divides it, so a 30-day series reads hourly cells and a 1-hour one minute cells.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, func, select

from jobdeck.analytics import sketch
from jobdeck.store import rollups
from jobdeck.store.schema import rollups as rollup_cells

T = TypeVar("T")
MAX_POINTS = 1000
HEATMAP_COLUMNS = 240
STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 7 * 86400)
# Counter metrics: the rollup columns summed for each point.
COUNTER_METRICS: dict[str, tuple[str, ...]] = {
    "runs": ("runs",),
    "succeeded": ("succeeded",),
    "failures": ("failed", "lost"),
    "items": ("items_succeeded", "items_failed", "items_skipped"),
    "items_succeeded": ("items_succeeded",),
    "items_failed": ("items_failed",),
    "items_skipped": ("items_skipped",),
}
# Quantile metrics: (histogram metric, quantile).
QUANTILE_METRICS: dict[str, tuple[int, float]] = {
    "duration_p50": (rollups.DURATION, 0.5),
    "duration_p95": (rollups.DURATION, 0.95),
    "queue_wait_p95": (rollups.WAIT, 0.95),
}
METRICS = (*COUNTER_METRICS, *QUANTILE_METRICS)
# A heatmap row spans this many sketch bins (GAMMA**8 ≈ 1.27: about ten rows per decade).
HEATMAP_ROW_BINS = 8


@dataclass(frozen=True)
class Grid:
    """Aligned steps [lo, hi) over a window, and the rollup granularity they are read from."""

    step: int
    lo: int
    hi: int

    @property
    def granularity(self) -> int:
        return max(g for g in rollups.GRANULARITIES if self.step % g == 0)

    @property
    def times(self) -> range:
        return range(self.lo, self.hi, self.step)


def grid_for(since: int, until: int, step: int | None = None, max_points: int = MAX_POINTS) -> Grid:
    """The smallest ladder step ≥ `step` giving at most `max_points` steps over [since, until)."""
    wanted = max(step or 0, (until - since) / max_points)
    chosen = next((s for s in STEPS if s >= wanted), STEPS[-1])
    lo = since - since % chosen
    hi = until - until % chosen + (chosen if until % chosen else 0)
    return Grid(chosen, lo, max(hi, lo + chosen))


def series(
    conn: Connection, metric: str, since: int, until: int, job: str | None = None, step: int | None = None
) -> tuple[int, dict[str, list[tuple[int, float | None]]]]:
    """(step, {job: [(t, value), …]}): dense points, 0 for empty counter steps, None for empty quantiles."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    grid = grid_for(since, until, step)
    empty: float | None
    if metric in COUNTER_METRICS:
        read = partial(_counter_points, conn, grid, COUNTER_METRICS[metric], job)
        empty = 0
    else:
        read = partial(_quantile_points, conn, grid, *QUANTILE_METRICS[metric], job)
        empty = None
    values = _split(conn, metric, grid, job, read)
    return grid.step, {
        name: [(t, points.get(t, empty)) for t in grid.times] for name, points in sorted(values.items())
    }


def _bucket_of(column: Any, step: int) -> Any:
    return (column - column % step).label("t")


def _split(
    conn: Connection,
    kind: str,
    grid: Grid,
    job: str | None,
    read: Callable[[int, int], dict[str, dict[int, T]]],
) -> dict[str, dict[int, T]]:
    """`read(lo, hi)` over the grid: every step but the last from the range cache, the last one fresh."""
    stable_hi = grid.hi - grid.step
    key = (kind, grid.step)
    result = {
        name: dict(points)
        for name, points in rollups.cached(
            conn, key, grid.granularity, grid.lo, stable_hi, job, partial(read, grid.lo, stable_hi)
        ).items()
    }
    for name, points in read(stable_hi, grid.hi).items():
        result.setdefault(name, {}).update(points)
    return result


def _counter_points(
    conn: Connection, grid: Grid, columns: tuple[str, ...], job: str | None, lo: int, hi: int
) -> dict[str, dict[int, float | None]]:
    t = _bucket_of(rollup_cells.c.bucket, grid.step)
    total = sum((rollup_cells.c[name] for name in columns[1:]), rollup_cells.c[columns[0]])
    query = select(rollup_cells.c.job, t, func.sum(total)).where(
        rollup_cells.c.granularity == grid.granularity,
        rollup_cells.c.bucket >= lo,
        rollup_cells.c.bucket < hi,
    )
    if job is not None:
        query = query.where(rollup_cells.c.job == job)
    result: dict[str, dict[int, float | None]] = defaultdict(dict)
    for name, at, value in conn.execute(query.group_by(rollup_cells.c.job, t)):
        result[name][int(at)] = float(value)
    return result


def _step_histograms(
    conn: Connection, grid: Grid, metric: int, job: str | None, lo: int, hi: int
) -> Iterator[tuple[str, int, dict[int, int]]]:
    """(job, t, {bin: n}) for every non-empty step in [lo, hi), streamed one step at a time."""
    column = rollup_cells.c[rollups.HISTOGRAMS[metric]]
    query = select(rollup_cells.c.job, rollup_cells.c.bucket, column).where(
        rollup_cells.c.granularity == grid.granularity,
        rollup_cells.c.bucket >= lo,
        rollup_cells.c.bucket < hi,
        column.is_not(None),
    )
    if job is not None:
        query = query.where(rollup_cells.c.job == job)
    query = query.order_by(rollup_cells.c.job, rollup_cells.c.bucket).execution_options(yield_per=2_000)
    step = grid.step
    current: tuple[str, int] | None = None
    counts: dict[int, int] = {}
    for name, bucket, blob in conn.execute(query):
        key = (name, bucket - bucket % step)
        if key != current:
            if current is not None and counts:
                yield (*current, counts)
            current, counts = key, {}
        sketch.add_into(counts, sketch.decode(blob))
    if current is not None and counts:
        yield (*current, counts)


def _quantile_points(
    conn: Connection, grid: Grid, metric: int, q: float, job: str | None, lo: int, hi: int
) -> dict[str, dict[int, float | None]]:
    extremes = _duration_extremes(conn, grid, job, lo, hi) if metric == rollups.DURATION else {}
    result: dict[str, dict[int, float | None]] = defaultdict(dict)
    for name, at, counts in _step_histograms(conn, grid, metric, job, lo, hi):
        value = sketch.quantile(counts, q)
        low, high = extremes.get((name, at), (None, None))
        if value is not None:
            # The sketch answers within ALPHA; the exact extremes can only make it closer.
            value = min(max(value, low if low is not None else value), high if high is not None else value)
        result[name][at] = value
    return dict(result)


def _heat_cells(
    conn: Connection, grid: Grid, job: str | None, lo: int, hi: int
) -> dict[str, dict[int, dict[int, int]]]:
    """{"": {t: {heatmap row: runs}}}: durations of all the jobs asked for, merged into coarse rows."""
    merged: dict[int, dict[int, int]] = defaultdict(dict)
    for _, at, counts in _step_histograms(conn, grid, rollups.DURATION, job, lo, hi):
        cells = merged[at]
        for index, n in counts.items():
            row = _row_of(index)
            cells[row] = cells.get(row, 0) + n
    return {"": dict(merged)}


def _duration_extremes(
    conn: Connection, grid: Grid, job: str | None, lo: int, hi: int
) -> dict[tuple[str, int], tuple[float | None, float | None]]:
    t = _bucket_of(rollup_cells.c.bucket, grid.step)
    query = select(
        rollup_cells.c.job, t, func.min(rollup_cells.c.dur_min), func.max(rollup_cells.c.dur_max)
    ).where(
        rollup_cells.c.granularity == grid.granularity,
        rollup_cells.c.bucket >= lo,
        rollup_cells.c.bucket < hi,
        rollup_cells.c.dur_count > 0,
    )
    if job is not None:
        query = query.where(rollup_cells.c.job == job)
    return {
        (name, int(at)): (low, high)
        for name, at, low, high in conn.execute(query.group_by(rollup_cells.c.job, t))
    }


def heatmap(
    conn: Connection, since: int, until: int, job: str | None = None, step: int | None = None
) -> dict[str, Any]:
    """Durations per time step (at least `step` seconds, at most HEATMAP_COLUMNS steps): rows of
    duration ranges, and [t, row, count] for every non-empty cell."""
    grid = grid_for(since, until, step, max_points=HEATMAP_COLUMNS)
    merged: dict[tuple[int, int], int] = defaultdict(int)
    read = partial(_heat_cells, conn, grid, job)
    for steps in _split(conn, "heatmap", grid, job, read).values():
        for at, cells in steps.items():
            for row, n in cells.items():
                merged[(at, row)] += n
    rows = sorted({row for _, row in merged})
    position = {row: i for i, row in enumerate(rows)}
    return {
        "step_s": grid.step,
        "rows": [list(_row_bounds(row)) for row in rows],
        "cells": [[at, position[row], n] for (at, row), n in sorted(merged.items())],
    }


def _row_of(index: int) -> int:
    return index if index == sketch.ZERO_BIN else index // HEATMAP_ROW_BINS


def _row_bounds(row: int) -> tuple[float, float]:
    """The duration range (seconds) a heatmap row covers."""
    if row == sketch.ZERO_BIN:
        return (0.0, sketch.MIN_VALUE)
    return (sketch.GAMMA ** (row * HEATMAP_ROW_BINS - 1), sketch.GAMMA ** ((row + 1) * HEATMAP_ROW_BINS - 1))
