"""Live updates: a broadcaster fed by the recorder, other processes and replicas, streamed as SSE.

Changes reach a replica three ways: its own recorder's listener (at once); on PostgreSQL, LISTEN on
the channel that every replica's recorder NOTIFYs after a commit (store/notices.py); on SQLite, a
once-a-second look at the store's change counter, which catches a second process writing (the SDK's direct
transport, `jobdeck import`). Browsers subscribe to GET /api/v1/stream (Server-Sent Events) and fall
back to polling GET /api/v1/changes when the stream is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from jobdeck.recorder import Recorded, Recorder
from jobdeck.store import Store, notices
from jobdeck.store.change_counter import change_count
from jobdeck.web.api.models import Changes

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["live"])

POLL_S = 1.0
RETRY_MS = 2000  # how soon a browser reconnects a dropped stream
MAX_STREAM_S = 600.0  # browsers reconnect on their own; no stream lives forever
MAX_IDS = 20


class Broadcaster:
    """Fans change notices out to the open streams of this process. Publish from any thread."""

    def __init__(self) -> None:
        self.origin = uuid.uuid4().hex
        self.version = 0
        self.closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queues: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.closed = False

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def publish(self, change: dict[str, Any]) -> None:
        """Tell every stream; safe to call from the recorder's thread or the event loop."""
        with self._lock:
            self.version += 1
            change = {**change, "version": self.version}
        loop = self._loop
        if loop is None or loop.is_closed() or not self._queues:
            # No stream to tell (a stream that opens later starts from what it reads): waking the
            # loop for nothing costs a recorder thread as much as a small write.
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._deliver(change)
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._deliver, change)

    def _deliver(self, change: dict[str, Any] | None) -> None:
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(change)

    def subscribe(self) -> asyncio.Queue[dict[str, Any] | None]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=256)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        self._queues.discard(queue)

    def close(self) -> None:
        """End every open stream (server shutdown); safe from any thread."""
        self.closed = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._deliver, None)


def recorded_change(recorded: Recorded, origin: str) -> dict[str, Any]:
    return {
        "runs": recorded.runs_changed,
        "run_ids": list(recorded.changed_run_ids[:MAX_IDS]),
        "origin": origin,
    }


class LiveUpdates:
    """The live-updates service: its broadcaster hears this process's recorder from the start; while
    the app serves, it also hears other writers and replicas, and on stop it ends the open streams."""

    name = "live updates"

    def __init__(self, store: Store, recorder: Recorder) -> None:
        self.store = store
        self.broadcaster = Broadcaster()
        self._postgres = store.backend == "postgresql"
        self._watcher: asyncio.Task[None] | None = None
        self._restore_signals: Callable[[], None] = lambda: None
        recorder.listeners.append(self._on_recorded)

    def _on_recorded(self, recorded: Recorded) -> None:
        change = recorded_change(recorded, self.broadcaster.origin)
        self.broadcaster.publish(change)
        if self._postgres:
            try:
                notices.notify(self.store, change)
            except Exception:  # a failed notice must never fail the recording that caused it
                log.warning("could not NOTIFY other replicas", exc_info=True)

    async def start(self) -> None:
        self.broadcaster.bind(asyncio.get_running_loop())
        watch = _watch(self.store, self.broadcaster, self._postgres)
        self._watcher = asyncio.create_task(watch, name="jobdeck-live-watch")
        self._restore_signals = _close_on_signals(self.broadcaster)

    async def stop(self) -> None:
        self._restore_signals()
        self._restore_signals = lambda: None
        self.broadcaster.close()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


def _close_on_signals(broadcaster: Broadcaster) -> Callable[[], None]:
    """End the streams as soon as the server is told to stop, so its graceful shutdown is not held
    open by browsers; chains to the server's own handlers. Returns a function that restores them."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        broadcaster.close()
        old = previous.get(signum)
        if callable(old):
            old(signum, frame)

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.getsignal(sig)
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, old)

    return restore


async def _watch(store: Store, broadcaster: Broadcaster, postgres: bool) -> None:
    """Hear of changes made by other processes: LISTEN on PostgreSQL (replicas NOTIFY at once), and
    on every backend a look at the change counter, for writers that notify nobody (the SDK's direct
    transport, `jobdeck import`)."""
    tasks = [_poll(store, broadcaster)]
    if postgres:
        tasks.append(_listen_or_log(store, broadcaster))
    await asyncio.gather(*tasks)


async def _listen_or_log(store: Store, broadcaster: Broadcaster) -> None:
    try:
        await _listen(store, broadcaster)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.warning("LISTEN failed; changes of other replicas arrive by the change check", exc_info=True)


async def _poll(store: Store, broadcaster: Broadcaster) -> None:
    def latest() -> int:
        with store.read() as conn:
            return change_count(conn)

    seen: int | None = None
    failing = False
    while True:
        if seen is not None:
            await asyncio.sleep(POLL_S)
            if not broadcaster.subscribers:
                continue
        try:
            now = await asyncio.to_thread(latest)
        except Exception as exc:  # the store is down: /api/health says so; try again later
            if not failing:  # one line when it starts failing, not one per second
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                log.warning("change check failed (%s); trying again every %.0f s", reason, POLL_S)
            failing = True
            seen = seen if seen is not None else 0
            continue
        if failing:
            log.warning("change check works again")
            failing = False
        if seen is None:
            seen = now
            continue
        if now > seen:
            broadcaster.publish({"runs": None, "run_ids": [], "origin": "store"})
        seen = now


async def _listen(store: Store, broadcaster: Broadcaster) -> None:
    async for change in notices.listen(store):
        if change.get("origin") != broadcaster.origin:
            broadcaster.publish(change)


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    summary="Server-Sent Events: a `change` event after runs change",
)
async def stream(request: Request) -> AsyncIterator[ServerSentEvent]:
    """`hello` on connect, `change` {runs, run_ids, version} after each change (FastAPI adds the
    keep-alive comments and ends the stream when the browser goes away)."""
    broadcaster: Broadcaster = request.app.state.live
    queue = broadcaster.subscribe()
    loop = asyncio.get_running_loop()
    ends = loop.time() + MAX_STREAM_S
    try:
        hello = {"version": broadcaster.version, "pid": os.getpid()}
        yield ServerSentEvent(event="hello", data=hello, retry=RETRY_MS)
        while not broadcaster.closed:
            try:
                change = await asyncio.wait_for(queue.get(), timeout=max(0.0, ends - loop.time()))
            except TimeoutError:
                break
            if change is None:
                break
            change.pop("origin", None)
            yield ServerSentEvent(event="change", data=change)
    finally:
        broadcaster.unsubscribe(queue)


@router.get(
    "/changes",
    response_model=Changes,
    summary="The store's change token, for clients that poll instead of streaming",
)
def changes(request: Request) -> dict[str, int]:
    """`version` grows whenever runs change (in any process writing to this store)."""
    store: Store = request.app.state.store
    with store.read() as conn:
        return {"version": change_count(conn)}
