"""What only a broadcast tells of Celery workers: pool, concurrency, queues, active/reserved/scheduled
tasks and registered task names. One broadcast round serves every viewer for a few seconds.

Each round asks the workers the events know of (`limit`: the answer comes as soon as they all
replied, not after the timeout) for stats, active_queues, active, reserved, scheduled and registered.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

CACHE_S = 5.0
TIMEOUT_S = 1.0
METHODS = ("stats", "active_queues", "active", "reserved", "scheduled", "registered")


class Inspector:
    """Cached `inspect()` of one broker's workers (thread-safe; one round at a time)."""

    def __init__(self, url: str, cache_s: float = CACHE_S, timeout_s: float = TIMEOUT_S) -> None:
        self.url = url
        self.cache_s = cache_s
        self.timeout_s = timeout_s
        self._app: Any = None
        self._lock = threading.Lock()
        self._at = 0.0
        self._replies: dict[str, dict[str, Any]] = {}
        self.error: str | None = None
        self.rounds = 0

    def replies(self, expected: int) -> dict[str, dict[str, Any]]:
        """{method: {worker: reply}} from the last round, made now when older than the cache."""
        with self._lock:
            if time.monotonic() - self._at < self.cache_s:
                return self._replies
            # No worker known from the events: nobody to wait for (a round would wait out the
            # timeout for each of the six questions).
            self._replies = self._round(expected) if expected > 0 else {}
            self._at = time.monotonic()
            return self._replies

    def _round(self, expected: int) -> dict[str, dict[str, Any]]:
        if self._app is None:
            from celery import Celery

            self._app = Celery(broker=self.url, set_as_current=False)
        self.rounds += 1
        inspect = self._app.control.inspect(timeout=self.timeout_s, limit=expected)

        def ask(method: str) -> dict[str, Any]:
            try:
                return dict(getattr(inspect, method)() or {})
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("celery inspect %s: %s", method, self.error)
                return {}

        self.error = None
        # One after another: the calls share the app's reply queue, where concurrent rounds would
        # take each other's replies. With `limit` each returns as soon as every worker answered.
        return {method: ask(method) for method in METHODS}

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
