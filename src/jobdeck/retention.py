"""The retention loop: `run_once` deletes what retention says is too old; a thin loop repeats it."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI

from jobdeck.config import Settings
from jobdeck.store import Store
from jobdeck.store.retention import Cleaned, cleanup

log = logging.getLogger(__name__)


def run_once(store: Store, settings: Settings, now: datetime | None = None) -> Cleaned | None:
    """Apply the retention setting once; None when retention is off."""
    if settings.retention_days is None:
        return None
    before = (now or datetime.now(UTC)) - timedelta(days=settings.retention_days)
    return cleanup(store, before, minute_rollups=not settings.keep_minute_rollups)


class RetentionLoop:
    """Runs `run_once` every `cleanup_interval_s` in a daemon thread until stopped."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jobdeck-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                cleaned = run_once(self.store, self.settings)
                log.info("retention cleanup: %s", cleaned)
            except Exception:  # the loop must outlive one failed pass; the next one retries
                log.exception("retention cleanup failed")
            self._stop.wait(self.settings.cleanup_interval_s)


def install(app: FastAPI, store: Store, settings: Settings) -> None:
    """Run the retention loop for the app's lifetime when `retention_days` is set."""
    if settings.retention_days is None:
        return
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        loop = RetentionLoop(store, settings)
        loop.start()
        try:
            async with inner(application) as state:
                yield state
        finally:
            loop.stop()

    app.router.lifespan_context = lifespan
