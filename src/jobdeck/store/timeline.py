"""Runs that overlap a window, for the timeline and overlap views: only the columns a bar needs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from jobdeck.domain import LIVE_STATUSES
from jobdeck.store.schema import runs

# A run that started this long before the window and ended inside it is still drawn; an older one
# that is still live is found through the live-runs index. Longer finished runs are left out.
LOOKBACK = timedelta(hours=24)
COLUMNS = ("run_id", "job", "status", "started_at", "finished_at")


def runs_overlapping(
    conn: Connection, since: datetime, until: datetime, job: str | None = None, limit: int = 20_000
) -> tuple[list[dict[str, Any]], bool]:
    """Started runs whose span meets [since, until], the newest `limit`; returns (runs, truncated)."""
    cols = [runs.c[name] for name in COLUMNS]
    live = [s.value for s in LIVE_STATUSES]
    in_window = and_(runs.c.run_at >= since, runs.c.run_at <= until)
    # run_at is the start of a started run, so this is a range of the run_at index.
    reaching_in = and_(
        runs.c.run_at >= since - LOOKBACK,
        runs.c.run_at < since,
        or_(runs.c.finished_at >= since, runs.c.status.in_(live)),
    )
    query = select(*cols).where(runs.c.started_at.is_not(None), or_(in_window, reaching_in))
    if job is not None:
        query = query.where(runs.c.job == job)
    query = query.order_by(runs.c.run_at.desc()).limit(limit + 1)
    rows = [dict(row._mapping) for row in conn.execute(query)]
    old_live = select(*cols).where(
        runs.c.status.in_(live), runs.c.run_at < since - LOOKBACK, runs.c.started_at.is_not(None)
    )
    if job is not None:
        old_live = old_live.where(runs.c.job == job)
    rows += [dict(row._mapping) for row in conn.execute(old_live.limit(1000))]
    truncated = len(rows) > limit
    return rows[:limit], truncated
