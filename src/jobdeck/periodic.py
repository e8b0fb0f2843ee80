"""Background work a server does on a timer (retention, WAL checkpoints, …): one daemon thread per
task, run for an app's lifetime."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from jobdeck.store.reachability import short_reason

log = logging.getLogger(__name__)


class Periodic:
    """Calls `task()` every `every_s` seconds in a daemon thread until stopped; what a call returns
    is logged unless it is empty, and a failing call is logged and the next one tries again."""

    def __init__(self, name: str, task: Callable[[], object], every_s: float) -> None:
        self.name, self.task, self.every_s = name, task, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"jobdeck-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        failing = ""  # the last failure's reason while passes keep failing
        while not self._stop.is_set():
            try:
                result = self.task()
                if result:  # something done worth a line (None or an empty list is not)
                    log.info("%s: %s", self.name, result)
                if failing:
                    log.warning("%s works again", self.name)
                failing = ""
            except Exception as exc:  # the loop must outlive one failed pass; the next one retries
                reason = f"{type(exc).__name__}: {short_reason(exc)}"
                if not failing:
                    # The traceback once; while the same cause lasts (a store that is down), one line
                    # when it changes and nothing per pass.
                    log.exception("%s failed; it runs again every %.0f s", self.name, self.every_s)
                elif reason != failing:
                    log.warning("%s still fails, now with %s", self.name, reason)
                failing = reason
            self._stop.wait(self.every_s)


def around_lifespan(app: FastAPI, start: Callable[[], Any], stop: Callable[[], Any]) -> None:
    """Call `start` when the app starts serving and `stop` when it stops (after a failed start too)."""
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        start()
        try:
            async with inner(application) as state:
                yield state
        finally:
            stop()

    app.router.lifespan_context = lifespan


def run_with(app: FastAPI, periodic: Periodic) -> None:
    """Start `periodic` when the app starts serving and stop it when the app stops."""
    around_lifespan(app, periodic.start, periodic.stop)
