"""The SQLite WAL checkpoint loop: a server copies the log back into the database in the background
(store/checkpoint.py says why), so that commits only append."""

from __future__ import annotations

from jobdeck.background.periodic import Periodic
from jobdeck.store import Store
from jobdeck.store.checkpoint import checkpoint

EVERY_S = 1.0


def loop(store: Store) -> Periodic | None:
    """A PASSIVE checkpoint every `EVERY_S` seconds on SQLite (None on other stores)."""
    if store.backend != "sqlite":
        return None
    return Periodic("wal checkpoint", lambda: checkpoint(store), EVERY_S)
