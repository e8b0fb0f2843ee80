"""The background sender: a daemon thread that drains a bounded queue of events in batches.

What the destination cannot take goes to the spool and is replayed, oldest first, before newer
events once the destination answers again. Nothing here raises into the caller.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from jobdeck.sdk.spool import Spool
from jobdeck.sdk.transport import EventDict, Rejected, ServerError, Transport, Unavailable

log = logging.getLogger("jobdeck.sdk")
BATCH_SIZE = 500
MAX_BACKOFF_S = 60.0


class _Flush:
    """A flush request queued behind the events it waits for."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.delivered = False


class _Stop:
    """Queued by close(): deliver what is queued, then end the thread."""


class Sender:
    """Sends events from a background thread; spools them while the destination is unavailable."""

    def __init__(
        self,
        transport: Transport,
        spool: Spool,
        *,
        flush_interval_s: float = 1.0,
        queue_max: int = 10_000,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self.transport = transport
        self.spool = spool
        self.flush_interval_s = flush_interval_s
        self.queue_max = max(queue_max, BATCH_SIZE)
        self.on_tick = on_tick
        self._cond = threading.Condition()
        self._queue: deque[EventDict | _Flush | _Stop] = deque()
        self._queued_events = 0
        self._urgent = False
        self._in_flight: list[EventDict] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        self._backoff_s = 0.0
        self._retry_at = 0.0
        self._spool_pending = True  # an earlier process may have left events there

    # The caller's side.

    def put(self, event: EventDict) -> None:
        """Queue an event; when the queue is full, its oldest batch goes to the spool instead."""
        overflow: list[EventDict] = []
        with self._cond:
            if self._closed:
                overflow.append(event)
            else:
                if self._queued_events >= self.queue_max:
                    overflow = self._take_events(BATCH_SIZE)
                self._queue.append(event)
                self._queued_events += 1
                if self._queued_events >= BATCH_SIZE:
                    self._wake()
        if overflow:
            self._spool(overflow)
            self._spool_pending = True
        self._ensure_thread()

    def flush(self, timeout: float) -> bool:
        """Deliver what is queued now (and the spool); True if nothing is left waiting anywhere."""
        token = _Flush()
        with self._cond:
            if self._closed:
                return False
            self._queue.append(token)
            self._wake()
        self._ensure_thread()
        return token.done.wait(timeout) and token.delivered

    def close(self, timeout: float) -> None:
        """Deliver what is queued within `timeout` seconds; spool whatever is still undelivered."""
        with self._cond:
            if self._closed:
                return
            self._queue.append(_Stop())
            self._wake()
            thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout)
        with self._cond:
            self._closed = True
            leftover = [*self._in_flight, *self._take_events(len(self._queue))]
            self._in_flight = []
        # A send that is still going may deliver these too: the recorder ignores the repeat.
        self._spool(leftover)
        if thread is None or not thread.is_alive():
            self.transport.close()

    # The thread's side.

    def _wake(self) -> None:
        self._urgent = True
        self._cond.notify()

    def _take_events(self, limit: int) -> list[EventDict]:
        taken: list[EventDict] = []
        kept: deque[EventDict | _Flush | _Stop] = deque()
        for item in self._queue:
            if isinstance(item, dict) and len(taken) < limit:
                taken.append(item)
            else:
                kept.append(item)
        self._queue = kept
        self._queued_events -= len(taken)
        return taken

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._cond:
            if self._closed or (self._thread is not None and self._thread.is_alive()):
                return
            thread = threading.Thread(target=self._run, name="jobdeck-sender", daemon=True)
            try:
                thread.start()
            except RuntimeError:
                # Too late in interpreter shutdown for threads: close() spools what is queued.
                log.debug("jobdeck: cannot start the sender thread now")
                return
            self._thread = thread

    def _run(self) -> None:
        stop = False
        while not stop:
            with self._cond:
                if not self._urgent:
                    self._cond.wait(self.flush_interval_s)
            try:
                if self.on_tick is not None:
                    self.on_tick()
            except Exception:
                log.exception("jobdeck: a heartbeat failed")
            with self._cond:
                self._urgent = False
                items = list(self._queue)
                self._queue.clear()
                self._queued_events = 0
                events = [item for item in items if isinstance(item, dict)]
                self._in_flight = events
            flushes = [item for item in items if isinstance(item, _Flush)]
            stop = any(isinstance(item, _Stop) for item in items)
            ok = False
            try:
                ok = self._round(events, force=bool(flushes) or stop)
            except Exception:
                log.exception("jobdeck: the sender failed; %d events go to the spool", len(events))
                self._spool(self._in_flight)
            with self._cond:
                self._in_flight = []
            for request in flushes:
                request.delivered = ok and not self._spool_pending
                request.done.set()
        self.transport.close()

    def _round(self, events: list[EventDict], force: bool) -> bool:
        """Replay the spool then send `events`; return False if the destination was unavailable."""
        if not events and not self._spool_pending:
            return True
        if not force and time.monotonic() < self._retry_at:
            self._spool(events)
            self._spool_pending = True
            return False
        try:
            if self._spool_pending:
                self._replay()
            for start in range(0, len(events), BATCH_SIZE):
                self._deliver(events[start : start + BATCH_SIZE])
                with self._cond:
                    self._in_flight = events[start + BATCH_SIZE :]
        except Unavailable as exc:
            self._unavailable(exc)
            self._spool(self._in_flight)
            self._spool_pending = True
            return False
        if self._backoff_s:
            log.info("jobdeck: destination reachable again; spooled events were sent")
        self._backoff_s = self._retry_at = 0.0
        return True

    def _replay(self) -> None:
        for file in self.spool.files():
            try:
                events = self.spool.read(file)
            except OSError:
                continue  # another process replayed and removed it first
            for start in range(0, len(events), BATCH_SIZE):
                self._deliver(events[start : start + BATCH_SIZE])
            self.spool.remove(file)
        self._spool_pending = False

    def _deliver(self, events: Sequence[EventDict]) -> None:
        """Send a batch; when it is refused, send its events one by one so only the bad ones are lost."""
        try:
            self.transport.send(events)
        except Rejected as exc:
            if len(events) > 1 and exc.per_event:
                for event in events:
                    self._deliver([event])
                return
            log.warning("jobdeck: dropped %d events the destination refused: %s", len(events), exc)
        except ServerError as exc:
            self._isolate(events, exc)
        except Unavailable:
            raise
        except Exception as exc:
            raise Unavailable(f"{type(exc).__name__}: {exc}") from exc

    def _isolate(self, events: Sequence[EventDict], error: ServerError) -> None:
        """After a server error, find the events that cause it by halving the batch, and hold those.

        An event is held (kept in the spool as a `.held` file, not replayed) when it fails twice on its
        own while the server says it is healthy, so it cannot hold back every later event; when the
        server is in trouble, the error goes up and everything waits in the spool as usual.
        """
        if len(events) > 1:
            middle = len(events) // 2
            self._deliver(events[:middle])
            self._deliver(events[middle:])
            return
        healthy = getattr(self.transport, "healthy", None)
        if healthy is None or not healthy():
            raise error
        try:
            self.transport.send(events)  # once more: the error may have been passing
            return
        except ServerError as again:
            error = again
        except Rejected as exc:
            log.warning("jobdeck: dropped 1 event the destination refused: %s", exc)
            return
        if not healthy():
            raise error
        try:
            where: object = self.spool.hold(events)
        except OSError as exc:
            where = f"nowhere ({exc}), so it is lost"
        log.warning(
            "jobdeck: the destination fails on a %s event of run %s while healthy (%s); it is held in %s",
            events[0].get("event"),
            events[0].get("run_id"),
            error,
            where,
        )

    def _unavailable(self, exc: Exception) -> None:
        if not self._backoff_s:
            log.warning("jobdeck: destination unavailable (%s); spooling events to %s", exc, self.spool.path)
        else:
            log.debug("jobdeck: destination still unavailable: %s", exc)
        self._backoff_s = min(max(1.0, self._backoff_s * 2), MAX_BACKOFF_S)
        self._retry_at = time.monotonic() + self._backoff_s

    def _spool(self, events: list[Any]) -> None:
        try:
            self.spool.append(events)
        except OSError as exc:
            log.warning("jobdeck: could not spool %d events, so they are lost: %s", len(events), exc)
