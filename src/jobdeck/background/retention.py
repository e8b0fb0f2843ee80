"""The retention loop: `run_once` deletes what retention says is too old; the server repeats it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobdeck.background.periodic import Periodic
from jobdeck.config import Settings
from jobdeck.store import Store
from jobdeck.store.retention import Cleaned, cleanup


def run_once(store: Store, settings: Settings, now: datetime | None = None) -> Cleaned | None:
    """Apply the retention setting once; None when retention is off."""
    if settings.retention_days is None:
        return None
    before = (now or datetime.now(UTC)) - timedelta(days=settings.retention_days)
    return cleanup(store, before, minute_rollups=not settings.keep_minute_rollups)


def loop(store: Store, settings: Settings) -> Periodic | None:
    """The cleanup every `cleanup_interval_s`, when `retention_days` is set (else None)."""
    if settings.retention_days is None:
        return None
    return Periodic("retention cleanup", lambda: run_once(store, settings), settings.cleanup_interval_s)
