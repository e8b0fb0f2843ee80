"""Retention: delete old raw runs and minute rollups in short batches.

Hour and day rollups stay, so long-range charts survive. The horizon of what was
deleted is kept in the `retention` table: verification skips rollup cells older
than it, because their raw runs are gone on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update

from jobdeck.domain import TERMINAL_STATUSES
from jobdeck.store import rollups
from jobdeck.store.schema import failure_rollups, retention, runs
from jobdeck.store.schema import rollups as rollup_cells
from jobdeck.store.store import Store

RUNS, MINUTE_ROLLUPS = "runs", "minute_rollups"
# Minute rollups are deleted this many seconds of buckets at a time.
_ROLLUP_SPAN = 6 * 3600


@dataclass(frozen=True)
class Cleaned:
    """What one cleanup did."""

    runs: int
    minute_rollups: int


def horizon(conn: Connection, kind: str = RUNS) -> int | None:
    """Epoch seconds before which `kind` was deleted by cleanup, or None if never."""
    value = conn.execute(select(retention.c.before).where(retention.c.kind == kind)).scalar()
    return int(value) if value is not None else None


def _raise_horizon(conn: Connection, kind: str, before: int) -> None:
    current = horizon(conn, kind)
    if current is None:
        conn.execute(insert(retention).values(kind=kind, before=before))
    elif current < before:
        conn.execute(update(retention).where(retention.c.kind == kind).values(before=before))


def delete_runs_batch(conn: Connection, before: datetime, batch_size: int) -> int:
    """Delete up to `batch_size` finished runs that counted before `before`."""
    chosen = conn.execute(
        select(runs.c.id)
        .where(runs.c.run_at < before, runs.c.status.in_([s.value for s in TERMINAL_STATUSES]))
        .order_by(runs.c.run_at)
        .limit(batch_size)
    ).all()
    if not chosen:
        return 0
    return conn.execute(delete(runs).where(runs.c.id.in_([r.id for r in chosen]))).rowcount


def delete_minute_rollups(conn: Connection, lo: int, hi: int) -> int:
    """Delete minute rollup cells (and failure counts) with buckets in [lo, hi)."""
    gone = conn.execute(
        delete(rollup_cells).where(
            rollup_cells.c.granularity == 60, rollup_cells.c.bucket >= lo, rollup_cells.c.bucket < hi
        )
    )
    conn.execute(
        delete(failure_rollups).where(
            failure_rollups.c.granularity == 60, failure_rollups.c.bucket >= lo, failure_rollups.c.bucket < hi
        )
    )
    return gone.rowcount


def oldest_minute_bucket(conn: Connection) -> int | None:
    value = conn.execute(
        select(func.min(rollup_cells.c.bucket)).where(rollup_cells.c.granularity == 60)
    ).scalar()
    return int(value) if value is not None else None


def cleanup(store: Store, before: datetime, batch_size: int = 5000, minute_rollups: bool = True) -> Cleaned:
    """Delete finished runs before `before`, then minute rollups; one short transaction a batch.

    `before` is rounded down to a whole day so hour and day cells are either wholly kept or wholly
    past the horizon.
    """
    cutoff = int(before.timestamp())
    cutoff -= cutoff % 86400
    cutoff_at = rollups.epoch(cutoff)
    with store.write() as conn:
        _raise_horizon(conn, RUNS, cutoff)
    total_runs = 0
    while True:
        with store.write() as conn:
            n_runs = delete_runs_batch(conn, cutoff_at, batch_size)
        total_runs += n_runs
        if n_runs < batch_size:
            break
    total_cells = 0
    if minute_rollups:
        with store.read() as conn:
            lo = oldest_minute_bucket(conn)
        while lo is not None and lo < cutoff:
            hi = min(lo - lo % _ROLLUP_SPAN + _ROLLUP_SPAN, cutoff)
            with store.write() as conn:
                total_cells += delete_minute_rollups(conn, lo, hi)
            lo = hi
        with store.write() as conn:
            _raise_horizon(conn, MINUTE_ROLLUPS, cutoff)
    return Cleaned(total_runs, total_cells)
