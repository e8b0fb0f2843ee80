"""SQLite WAL checkpoints off the write path.

In WAL mode every commit appends to the log, and by default the commit that takes the log past
1,000 pages copies it back into the database file and syncs it: a write batch pays for that about
every other time. A server checkpoints in a background thread instead (background/checkpoint.py;
PASSIVE: it never blocks a reader or a writer), so commits only append; connections keep an
automatic checkpoint at 8,000 pages (engine.AUTO_CHECKPOINT_PAGES) as a backstop for processes that
write without a server (the SDK's direct transport, `jobdeck import`).
"""

from __future__ import annotations

from jobdeck.store.store import Store


def checkpoint(store: Store) -> None:
    """Copy what the WAL holds back into the database as far as readers allow."""
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
