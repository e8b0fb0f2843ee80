"""Live updates: a broadcaster fed by the recorder, other processes and replicas, streamed as SSE.

Changes reach a replica three ways: its own recorder's listener (at once); on PostgreSQL, LISTEN on
the `jobdeck_changes` channel that every replica's recorder NOTIFYs after a commit; on SQLite, a
once-a-second look at the store's change counter, which catches a second process writing (the SDK's direct
transport, `jobdeck import`). Browsers subscribe to GET /api/v1/stream (Server-Sent Events) and fall
back to polling GET /api/v1/changes when the stream is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import StreamingResponse

from jobdeck.recorder import Recorded, Recorder
from jobdeck.store import Store
from jobdeck.store.change_counter import change_count

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["live"])

CHANNEL = "jobdeck_changes"
KEEPALIVE_S = 15.0
POLL_S = 1.0
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
        if loop is None or loop.is_closed():
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


def notify_replicas(store: Store, change: dict[str, Any]) -> None:
    """NOTIFY the other replicas on PostgreSQL (after the recorder's commit)."""
    from sqlalchemy import text

    try:
        with store.write() as conn:
            conn.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": json.dumps(change)},
            )
    except Exception:  # a failed notice must never fail the recording that caused it
        log.warning("could not NOTIFY other replicas", exc_info=True)


def install(app: FastAPI, store: Store, recorder: Recorder) -> Broadcaster:
    """Create the app's broadcaster, hook it to the recorder, and watch other writers while serving."""
    broadcaster = Broadcaster()
    app.state.live = broadcaster
    postgres = store.backend == "postgresql"

    def on_recorded(recorded: Recorded) -> None:
        change = recorded_change(recorded, broadcaster.origin)
        broadcaster.publish(change)
        if postgres:
            notify_replicas(store, change)

    recorder.listeners.append(on_recorded)
    inner: Callable[[Any], contextlib.AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        broadcaster.bind(asyncio.get_running_loop())
        watcher = asyncio.create_task(_watch(store, broadcaster, postgres), name="jobdeck-live-watch")
        restore = _close_on_signals(broadcaster)
        try:
            async with inner(application) as state:
                yield state
        finally:
            restore()
            broadcaster.close()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    app.router.lifespan_context = lifespan
    return broadcaster


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
    while True:
        if seen is not None:
            await asyncio.sleep(POLL_S)
            if not broadcaster.subscribers:
                continue
        try:
            now = await asyncio.to_thread(latest)
        except Exception:  # the store is down: /api/health says so; try again later
            log.warning("change check failed", exc_info=True)
            seen = seen if seen is not None else 0
            continue
        if seen is None:
            seen = now
            continue
        if now > seen:
            broadcaster.publish({"runs": None, "run_ids": [], "origin": "store"})
        seen = now


async def _listen(store: Store, broadcaster: Broadcaster) -> None:
    import psycopg

    url = store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                async for notice in conn.notifies():
                    try:
                        change = json.loads(notice.payload)
                    except ValueError:
                        continue
                    if change.get("origin") != broadcaster.origin:
                        broadcaster.publish(change)
        except psycopg.OperationalError:
            log.warning("lost the LISTEN connection; reconnecting", exc_info=True)
            await asyncio.sleep(2)


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


@router.get("/stream", summary="Server-Sent Events: a `change` event after runs change")
async def stream(request: Request) -> StreamingResponse:
    """`hello` on connect, `change` {runs, run_ids, version} after each change, comments as keep-alives."""
    broadcaster: Broadcaster = request.app.state.live

    async def events() -> AsyncIterator[str]:
        queue = broadcaster.subscribe()
        loop = asyncio.get_running_loop()
        ends = loop.time() + MAX_STREAM_S
        try:
            yield "retry: 2000\n" + _event("hello", {"version": broadcaster.version, "pid": os.getpid()})
            while not broadcaster.closed and loop.time() < ends:
                try:
                    change = await asyncio.wait_for(queue.get(), timeout=min(KEEPALIVE_S, ends - loop.time()))
                except TimeoutError:
                    if await request.is_disconnected():
                        break
                    yield ": keep-alive\n\n"
                    continue
                if change is None:
                    break
                change.pop("origin", None)
                yield _event("change", change)
        finally:
            broadcaster.unsubscribe(queue)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


@router.get("/changes", summary="The store's change token, for clients that poll instead of streaming")
def changes(request: Request) -> dict[str, int]:
    """`version` grows whenever runs change (in any process writing to this store)."""
    store: Store = request.app.state.store
    with store.read() as conn:
        return {"version": change_count(conn)}
