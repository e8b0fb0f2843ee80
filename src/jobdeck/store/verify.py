"""Recomputing rollups from raw runs and comparing them with the stored ones."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from jobdeck.analytics import sketch
from jobdeck.domain import DURATION_STATUSES
from jobdeck.events import to_micros
from jobdeck.store import retention, rollups
from jobdeck.store.schema import failure_rollups, runs
from jobdeck.store.schema import rollups as cells

_FIELDS = ("job", "status", "run_at", "duration_s", "started_at", "created_at", "fold_state", "fingerprint")
_ITEMS = ("items_succeeded", "items_failed", "items_skipped")
DAY = 86400


def contribution_of_row(row: Mapping[Any, Any]) -> rollups.Contribution:
    """A stored run row's contribution: counted at run_at; duration only for real outcomes."""
    # Deliberately apart from the recorder's `run_writes.values_of` and `run_writes.contribution_of`:
    # this check recomputes the rollups to catch a mistake in the write path, which it could not
    # do if it shared that path's code. It reads the row by column name, as a reader of the table would.
    status = row["status"]
    duration = row["duration_s"] if status in DURATION_STATUSES else None
    wait = None
    started = row["started_at"]
    if started is not None and (row.get("fold_state") or {}).get("e"):
        wait = max(0.0, (started - row["created_at"]).total_seconds())
    return rollups.Contribution(
        job=row["job"],
        at=to_micros(row["run_at"]) // 1_000_000,
        status=status,
        duration=duration,
        wait=wait,
        items=(row.get("items_succeeded") or 0, row.get("items_failed") or 0, row.get("items_skipped") or 0),
        failure=row.get("fingerprint"),
    )


def expected_changes(
    conn: Connection, since: int | None = None, until: int | None = None, batch: int = 10_000
) -> rollups.Changes:
    """The rollups the raw runs counted in [since, until) call for, as if recorded afresh."""
    changes = rollups.Changes.empty()
    query = select(*(runs.c[name] for name in _FIELDS + _ITEMS)).execution_options(yield_per=batch)
    if since is not None:
        query = query.where(runs.c.run_at >= rollups.epoch(since))
    if until is not None:
        query = query.where(runs.c.run_at < rollups.epoch(until))
    for row in conn.execute(query):
        changes.add(contribution_of_row(row._mapping), +1)
    return changes


def differences(
    conn: Connection, limit: int = 20, since: int | None = None, until: int | None = None
) -> list[str]:
    """Where the stored rollups disagree with the raw runs (empty when they agree).

    `since` and `until` (epoch seconds, whole days) limit the check to a range; cells older than
    the retention horizon summarise runs that cleanup deleted on purpose and are skipped.
    """
    floor = retention.horizon(conn)
    if floor is not None:
        since = floor if since is None else max(since, floor)
    for bound in (since, until):
        if bound is not None and bound % DAY:
            raise ValueError("verification ranges must start and end on whole UTC days")
    expected = expected_changes(conn, since, until)
    problems: list[str] = []
    stored_cells = {
        (r["granularity"], r["bucket"], r["job"]): r for r in rollups.all_cells(conn, since, until)
    }
    for cell, delta in expected.cells.items():
        row = stored_cells.pop(cell, None)
        if row is None:
            if any(delta.counters):
                problems.append(f"missing rollup {cell}")
            continue
        for name, value in zip(rollups.COUNTERS, delta.counters, strict=True):
            if not math.isclose(float(row[name]), value, rel_tol=1e-9, abs_tol=1e-6):
                problems.append(f"{cell} {name}: stored {row[name]}, runs say {value}")
        for name, extreme in (("dur_min", delta.low), ("dur_max", delta.high)):
            if not _same(row[name], extreme):
                problems.append(f"{cell} {name}: stored {row[name]}, runs say {extreme}")
        for column, counts in zip(rollups.HISTOGRAMS, delta.sketches, strict=True):
            stored = sketch.decode(row[column])
            wanted = {index: n for index, n in counts.items() if n}
            if stored != wanted:
                problems.append(f"{cell} {column}: stored {stored}, runs say {wanted}")
    problems.extend(f"extra rollup {cell}" for cell in stored_cells)
    problems.extend(_failure_differences(conn, expected, since, until))
    return problems[:limit]


def _failure_differences(
    conn: Connection, expected: rollups.Changes, since: int | None, until: int | None
) -> list[str]:
    query = select(failure_rollups)
    if since is not None:
        query = query.where(failure_rollups.c.bucket >= since)
    if until is not None:
        query = query.where(failure_rollups.c.bucket < until)
    stored = {(r.granularity, r.bucket, r.fingerprint): (r.job, r.n) for r in conn.execute(query)}
    problems = []
    for key, (job, n) in expected.failures.items():
        if n and stored.pop(key, None) != (job, n):
            problems.append(f"failure cell {key}: runs say {n} failures of {job}")
    problems.extend(f"extra failure cell {key}" for key in stored)
    return problems


def days_to_check(conn: Connection) -> list[int]:
    """The whole UTC days (epoch seconds) that hold a run or a rollup cell, past the horizon.

    Found by skipping from one such day to the next through the indexes (one query per day and
    kind of row), so the cost follows the days that hold data, not the span between the oldest and
    the newest (a run dated 1900 beside one dated 2499 adds two days, not two hundred thousand).
    """
    floor = retention.horizon(conn) or None
    days = set(_days_of_runs(conn, floor))
    for granularity in rollups.GRANULARITIES:
        days.update(_days_of_cells(conn, granularity, floor))
    return sorted(days)


def _days_of_runs(conn: Connection, floor: int | None) -> Iterator[int]:
    since = rollups.epoch(floor) if floor is not None else None
    while True:
        query = select(func.min(runs.c.run_at))
        if since is not None:
            query = query.where(runs.c.run_at >= since)
        found = conn.execute(query).scalar()
        if found is None:
            return
        day = int(found.timestamp()) // DAY * DAY
        yield day
        since = rollups.epoch(day + DAY)


def _days_of_cells(conn: Connection, granularity: int, floor: int | None) -> Iterator[int]:
    since = floor
    while True:
        query = select(func.min(cells.c.bucket)).where(cells.c.granularity == granularity)
        if since is not None:
            query = query.where(cells.c.bucket >= since)
        found = conn.execute(query).scalar()
        if found is None:
            return
        day = int(found) // DAY * DAY
        yield day
        since = day + DAY


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)


def window_rows(conn: Connection, since: datetime, until: datetime, batch: int = 50_000) -> Iterator[Any]:
    """(run_id, job, status, created_at, started_at, finished_at, duration_s) of every run in [since, until].

    Only benchmarks use it: the seed dashboard's way (every row of the window into Python), the
    baseline a summary from rollups is compared against.
    """
    names = ("run_id", "job", "status", "created_at", "started_at", "finished_at", "duration_s")
    query = (
        select(*(runs.c[name] for name in names))
        .where(runs.c.run_at >= since, runs.c.run_at <= until)
        .execution_options(yield_per=batch)
    )
    yield from conn.execute(query)
