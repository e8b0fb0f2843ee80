"""The retention loop: `run_once` deletes what retention says is too old; the server repeats it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from jobdeck.config import Settings
from jobdeck.periodic import Periodic, run_with
from jobdeck.store import Store
from jobdeck.store.retention import Cleaned, cleanup


def run_once(store: Store, settings: Settings, now: datetime | None = None) -> Cleaned | None:
    """Apply the retention setting once; None when retention is off."""
    if settings.retention_days is None:
        return None
    before = (now or datetime.now(UTC)) - timedelta(days=settings.retention_days)
    return cleanup(store, before, minute_rollups=not settings.keep_minute_rollups)


def install(app: FastAPI, store: Store, settings: Settings) -> None:
    """Run the retention cleanup every `cleanup_interval_s` for the app's lifetime when
    `retention_days` is set."""
    if settings.retention_days is not None:
        task = Periodic("retention cleanup", lambda: run_once(store, settings), settings.cleanup_interval_s)
        run_with(app, task)
