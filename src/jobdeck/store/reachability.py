"""Whether this process reaches its store, and since when it does not: one log line per change.

The engine reports here (`watch`): a failed connect or a dropped connection marks the store
unreachable, the next connection that opens marks it reachable again. Loops that retry during an
outage log nothing of their own per attempt; health and the pages read `describe()`.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError

log = logging.getLogger("jobdeck.store")


class Reachability:
    """The store's state as this process last saw it."""

    def __init__(self) -> None:
        self.since: datetime | None = None  # when it was first found unreachable; None while it is reachable
        self.reason = ""
        self._began = 0.0
        self._lock = threading.Lock()

    def failed(self, error: BaseException) -> None:
        """The store could not be reached: log it once, when the state changes."""
        reason = short_reason(error)
        with self._lock:
            if self.since is not None:
                return
            self.since, self.reason, self._began = datetime.now(UTC), reason, time.monotonic()
        log.warning(
            "the store is unreachable (%s): requests answer 503 with Retry-After, background checks "
            "retry with back-off; the next line says when it is back",
            reason,
        )

    def reached(self) -> None:
        """A connection opened: log the recovery once."""
        if self.since is None:  # the common case, without the lock
            return
        with self._lock:
            if self.since is None:
                return
            since, took = self.since, time.monotonic() - self._began
            self.since, self.reason = None, ""
        log.warning("the store is reachable again after %.1f s (unreachable since %s)", took, _clock(since))

    def describe(self) -> str | None:
        """'unreachable since 2026-12-04 17:20:03 UTC (42 s ago): connection refused', or None when
        reachable."""
        since = self.since_text()
        return f"{since}: {self.reason}" if since else None

    def since_text(self) -> str | None:
        """'unreachable since 2026-12-04 17:20:03 UTC (42 s ago)', or None when reachable."""
        since = self.since
        if since is None:
            return None
        ago = (datetime.now(UTC) - since).total_seconds()
        return f"unreachable since {_clock(since)} ({ago:.0f} s ago)"


def _clock(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def short_reason(error: BaseException) -> str:
    """The first line of what the driver said (or the error's name)."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def watch(engine: Engine, reachability: Reachability) -> None:
    """Report the engine's connection failures and successes to `reachability`."""

    @event.listens_for(engine, "handle_error")
    def _error(context: Any) -> None:
        original = context.original_exception
        connecting = context.connection is None
        if context.is_disconnect or (connecting and _is_connection_error(original)):
            reachability.failed(context.sqlalchemy_exception or original)

    @event.listens_for(engine, "engine_connect")
    def _connected(connection: Any) -> None:
        reachability.reached()


def _is_connection_error(error: BaseException) -> bool:
    kind = type(error).__name__
    return kind in ("OperationalError", "InterfaceError") or isinstance(error, DBAPIError | OSError)
