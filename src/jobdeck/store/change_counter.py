"""A cheap change check: a counter that every recorded batch raises (in any process)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from jobdeck.store import bulk
from jobdeck.store.schema import counters

CHANGES = "changes"  # its row in the counters table
# The same text in either driver's style: it has no parameters.
BUMP = bulk.Statement(
    f"INSERT INTO counters (name, value) VALUES ('{CHANGES}', 1) "
    "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
)


def change_count(conn: Connection) -> int:
    """The change counter: it differs whenever runs changed since it was last read."""
    return int(conn.execute(select(counters.c.value).where(counters.c.name == CHANGES)).scalar() or 0)
