"""The safety sweep's reads: runs that look stuck (running with no recent sign of life)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from jobdeck.domain import Status
from jobdeck.store.schema import runs

# Runs that claim to be executing: a pending run may wait in a queue for long, and that is not stuck.
EXECUTING = (Status.RUNNING.value, Status.RETRYING.value)


def quiet_runs(conn: Connection, quiet_since: datetime, limit: int = 10_000) -> list[dict[str, Any]]:
    """Executing runs whose last sign of life (heartbeat, start or creation) is before `quiet_since`."""
    last_sign = func.coalesce(runs.c.heartbeat_at, runs.c.started_at, runs.c.created_at)
    query = (
        select(
            runs.c.run_id,
            runs.c.job,
            runs.c.source,
            runs.c.status,
            runs.c.created_at,
            runs.c.started_at,
            runs.c.heartbeat_at,
        )
        .where(runs.c.status.in_(EXECUTING), last_sign < quiet_since)
        .order_by(runs.c.run_at)
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(query).mappings()]
