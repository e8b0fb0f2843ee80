"""The only place with SQL: schema, migrations, runs, rollups."""

from __future__ import annotations

from jobdeck.store.store import Store

__all__ = ["Store"]
