"""A cheap change check: the newest event's id, which grows with every recorded batch (any process)."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from jobdeck.store.schema import events


def latest_event_id(conn: Connection) -> int:
    """The highest event id (0 when empty); one index seek on the primary key."""
    return int(conn.execute(select(func.max(events.c.id))).scalar() or 0)
