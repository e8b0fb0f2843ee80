"""A loop that repeats one step on a timer in a daemon thread: the shape of every background loop of
a server (retention, WAL checkpoints, the demo's live events, …)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from jobdeck.store.reachability import short_reason

log = logging.getLogger(__name__)

STOP_WAIT_S = 10.0


class Periodic:
    """Calls `task()` every `every_s` seconds in a daemon thread from `start` until `stop` (a
    `services.Loop`); what a call returns is logged unless it is empty, and a failing call is logged
    and the next one tries again. `run_once` is one step, for tests and for subclasses to override."""

    def __init__(self, name: str, task: Callable[[], object], every_s: float) -> None:
        self.name, self.task, self.every_s = name, task, every_s
        self._stop = threading.Event()
        self._thread = self._new_thread()

    def run_once(self) -> object:
        return self.task()

    async def start(self) -> None:
        if self._thread.ident is not None:  # started before: a thread runs once, so make another
            self._thread = self._new_thread()
        self._stop.clear()
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.to_thread(self._thread.join, STOP_WAIT_S)

    def _new_thread(self) -> threading.Thread:
        return threading.Thread(target=self._run, name=f"jobdeck-{self.name}", daemon=True)

    def _run(self) -> None:
        failing = ""  # the last failure's reason while passes keep failing
        while not self._stop.is_set():
            try:
                result = self.run_once()
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
