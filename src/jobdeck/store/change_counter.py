"""A cheap change check: a counter that every recorded batch raises (in any process)."""

from __future__ import annotations

from sqlalchemy import Connection, select, text

from jobdeck.store.schema import counters

CHANGES = "changes"  # its row in the counters table
_BUMP = text(
    "INSERT INTO counters (name, value) VALUES (:name, 1) "
    "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
)


def bump(conn: Connection) -> None:
    """Raise the change counter, in the writer's transaction (the recorder does, once a batch)."""
    conn.execute(_BUMP, {"name": CHANGES})


def change_count(conn: Connection) -> int:
    """The change counter: it differs whenever runs changed since it was last read."""
    return int(conn.execute(select(counters.c.value).where(counters.c.name == CHANGES)).scalar() or 0)
