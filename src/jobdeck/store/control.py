"""The control center's read: the runs running now, longest-running first, with what the control
plane needs to tell whether it can act on them (who started them, where, with what)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from jobdeck.domain import Status
from jobdeck.store.schema import runs

RUNNING_COLUMNS = ("run_id", "job", "queue", "worker", "host", "started_at", "heartbeat_at", "attempt")
ACTION_COLUMNS = ("status", "source", "pid", "args", "kwargs", "labels")


def running_runs(conn: Connection, limit: int = 500) -> tuple[list[dict[str, Any]], int]:
    """Up to `limit` running runs, oldest start first, and how many are running in all."""
    running = runs.c.status == Status.RUNNING.value
    rows = conn.execute(
        select(*(runs.c[name] for name in RUNNING_COLUMNS + ACTION_COLUMNS))
        .where(running)
        .order_by(runs.c.run_at, runs.c.id)
        .limit(limit)
    )
    total = conn.execute(select(func.count()).select_from(runs).where(running)).scalar_one()
    return [dict(row._mapping) for row in rows], total


PENDING_COLUMNS = ("run_id", "job", "queue", "priority", "created_at", "eta", "attempt")


def pending_runs(conn: Connection, limit: int = 500) -> tuple[list[dict[str, Any]], int]:
    """Up to `limit` pending runs, longest-waiting first, and how many are pending in all (the same
    status the control center's Pending card counts, so the card and the list agree)."""
    pending = runs.c.status == Status.PENDING.value
    rows = conn.execute(
        select(*(runs.c[name] for name in PENDING_COLUMNS))
        .where(pending)
        .order_by(runs.c.created_at, runs.c.id)
        .limit(limit)
    )
    total = conn.execute(select(func.count()).select_from(runs).where(pending)).scalar_one()
    return [dict(row._mapping) for row in rows], total


def failed_runs(
    conn: Connection, job: str, since: datetime, limit: int = 1000
) -> tuple[list[dict[str, Any]], int]:
    """Up to `limit` failed runs of `job` since `since` (oldest first), each with the ids of the runs
    that retried it (`retried_by`), and how many there are in all."""
    failed = (runs.c.job == job) & (runs.c.status == Status.FAILED.value) & (runs.c.run_at >= since)
    rows = [
        dict(row._mapping)
        for row in conn.execute(
            select(runs.c.run_id).where(failed).order_by(runs.c.run_at, runs.c.id).limit(limit)
        )
    ]
    children = runs.alias("children")
    if rows:
        retried: dict[str, list[str]] = {}
        ids = [row["run_id"] for row in rows]
        for start in range(0, len(ids), 500):
            for parent, child in conn.execute(
                select(children.c.parent_run_id, children.c.run_id).where(
                    children.c.parent_run_id.in_(ids[start : start + 500])
                )
            ):
                retried.setdefault(parent, []).append(child)
        for row in rows:
            row["retried_by"] = retried.get(row["run_id"], [])
    total = conn.execute(select(func.count()).select_from(runs).where(failed)).scalar_one()
    return rows, total
