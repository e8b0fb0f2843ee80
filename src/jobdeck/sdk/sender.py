"""The background sender: a daemon thread that drains a bounded queue of events in batches.

What the destination cannot take goes to the spool and is replayed, oldest first, before newer
events once the destination answers again. Nothing here raises into the caller.
"""

from __future__ import annotations

import logging
import random
import re
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
HOLD_ATTEMPTS = 8  # tries of one held event (some minutes of back-off) while the server is healthy
_INDEX = re.compile(r"\bevent (\d+):")  # how the server's 422 names the event it refuses


def jittered(backoff_s: float) -> float:
    """A pause of between half and all of `backoff_s`, so senders that failed together spread out."""
    # Jitter, not a secret: `random` is the right tool (S311).
    return backoff_s * random.uniform(0.5, 1.0)  # noqa: S311


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
        # put() takes the plain lock itself (cheaper than through the condition), never re-entered.
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._queue: deque[EventDict | _Flush | _Stop] = deque()
        self._queued_events = 0
        self._urgent = False
        self._in_flight: list[EventDict] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        self._backoff_s = 0.0
        self._retry_at = 0.0
        self._spool_pending = True  # an earlier process may have left events there
        self._held_backoff_s = 0.0
        self._held_retry_at = 0.0  # an earlier process's held batches are tried at once
        self._held_pending = True
        self._held_tries: dict[str, int] = {}  # by held file name
        self.set_aside_count = 0  # events the destination refused, kept in the spool's set-aside files

    # The caller's side.

    def put(self, event: EventDict) -> None:
        """Queue an event; when the queue is full, its oldest batch goes to the spool instead."""
        overflow: list[EventDict] = []
        with self._lock:
            if self._closed:
                overflow.append(event)
            else:
                if self._queued_events >= self.queue_max:
                    overflow = self._take_events(BATCH_SIZE)
                self._queue.append(event)
                self._queued_events += 1
                if self._queued_events >= BATCH_SIZE and not self._urgent:
                    self._wake()  # once: the sender takes every full batch when it wakes
        if overflow:
            self._spool(overflow)
            self._spool_pending = True
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._ensure_thread()

    def flush(self, timeout: float) -> bool:
        """Deliver what is queued now (and the spool, and held batches that go through now); True if
        nothing is left waiting in the queue or the spool (held batches keep their back-off)."""
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
        held_due = self._held_pending and (force or time.monotonic() >= self._held_retry_at)
        if not events and not self._spool_pending and not held_due:
            return True
        if not force and time.monotonic() < self._retry_at:
            self._spool(events)
            self._spool_pending = True
            return False
        try:
            if self._spool_pending:
                self._replay()
            self._retry_held(force)
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

    def _retry_held(self, force: bool) -> None:
        """Send the held batches again once their back-off has passed (at once on a flush).

        A held batch that fails again waits longer, and is halved so an event that trips the
        server ends up alone; one event that still fails after HOLD_ATTEMPTS tries is set aside.
        """
        if not self._held_pending or (not force and time.monotonic() < self._held_retry_at):
            return
        failed = False
        healthy = getattr(self.transport, "healthy", None)
        files = self.spool.held()
        for file in files:
            try:
                events = self.spool.read(file)
            except OSError:
                continue
            try:
                self.transport.send(events)
            except Rejected as exc:
                self._refused(events, exc)
            except ServerError as exc:
                failed = True
                if healthy is None or not healthy():
                    break  # the server is unwell: every held batch waits for the next try as it is
                tries = self._held_tries.pop(file.name, 0) + 1
                if len(events) > 1:
                    middle = len(events) // 2
                    for half in (events[:middle], events[middle:]):
                        held = self.spool.hold(half)
                        if held is not None:
                            self._held_tries[held.name] = tries
                elif tries >= HOLD_ATTEMPTS:
                    self._set_aside(events, f"the server failed on it {tries} times: {exc}")
                else:
                    self._held_tries[file.name] = tries
                    continue
            except Unavailable:
                raise
            except Exception as exc:
                raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
            self._held_tries.pop(file.name, None)
            self.spool.remove(file)
        if failed:
            self._held_backoff_s = min(max(1.0, self._held_backoff_s * 2), MAX_BACKOFF_S)
            self._held_retry_at = time.monotonic() + jittered(self._held_backoff_s)
        else:
            self._held_backoff_s = 0.0
            self._held_pending = False
            if files:
                log.info("jobdeck: held events were sent")

    def _deliver(self, events: Sequence[EventDict]) -> None:
        """Send a batch; what the destination refuses is set aside, what it fails on is held."""
        try:
            self.transport.send(events)
        except Rejected as exc:
            self._refused(events, exc)
        except ServerError as exc:
            self._hold(events, exc)
        except Unavailable:
            raise
        except Exception as exc:
            raise Unavailable(f"{type(exc).__name__}: {exc}") from exc

    def _refused(self, events: Sequence[EventDict], error: Rejected) -> None:
        """Find the events the destination refuses and set those alone aside: the one the refusal
        names by index (`event 3: …`), or by halving the batch when it names none."""
        if len(events) == 1 or not error.per_event:
            self._set_aside(events, str(error))
            return
        named = _INDEX.search(str(error))
        index = int(named.group(1)) if named else -1
        if 0 <= index < len(events):
            self._set_aside([events[index]], str(error))
            rest = [*events[:index], *events[index + 1 :]]
            if rest:
                self._deliver(rest)
            return
        middle = len(events) // 2
        self._deliver(events[:middle])
        self._deliver(events[middle:])

    def _hold(self, events: Sequence[EventDict], error: ServerError) -> None:
        """After a server error, keep the batch apart (a `.held` file, retried with back-off) so it
        does not hold back later events — unless the server says it is unwell: then the error
        goes up and everything waits in the spool, in order, as when it is unreachable."""
        healthy = getattr(self.transport, "healthy", None)
        if healthy is None or not healthy():
            raise error
        try:
            where: object = self.spool.hold(events)
        except OSError as exc:
            where = f"nowhere ({exc}), so they are lost"
        self._held_pending = True
        if not self._held_backoff_s:
            self._held_backoff_s = 1.0
            self._held_retry_at = time.monotonic() + jittered(self._held_backoff_s)
        log.warning(
            "jobdeck: the destination failed on %d events while healthy (%s); held in %s and retried "
            "with back-off",
            len(events),
            error,
            where,
        )

    def _set_aside(self, events: Sequence[EventDict], reason: str) -> None:
        """Keep events the destination will not take in the spool's set-aside file, and say which."""
        try:
            self.spool.set_aside(events)
        except OSError as exc:
            log.warning("jobdeck: could not set aside %d events, so they are lost: %s", len(events), exc)
        self.set_aside_count += len(events)
        first = events[0] if events else {}
        log.warning(
            "jobdeck: set aside %d event(s), the first a %s event of run %r: %s "
            "(%d set aside so far; `jobdeck spool show` lists them)",
            len(events),
            first.get("event"),
            first.get("run_id"),
            reason,
            self.set_aside_count,
        )

    def _unavailable(self, exc: Exception) -> None:
        if not self._backoff_s:
            log.warning("jobdeck: destination unavailable (%s); spooling events to %s", exc, self.spool.path)
        else:
            log.debug("jobdeck: destination still unavailable: %s", exc)
        self._backoff_s = min(max(1.0, self._backoff_s * 2), MAX_BACKOFF_S)
        self._retry_at = time.monotonic() + jittered(self._backoff_s)

    def _spool(self, events: list[Any]) -> None:
        try:
            self.spool.append(events)
        except OSError as exc:
            log.warning("jobdeck: could not spool %d events, so they are lost: %s", len(events), exc)
