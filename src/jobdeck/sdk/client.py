"""The process's client: settings, a transport, the sender thread, and the runs in progress."""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobdeck.sdk import payload, wire
from jobdeck.sdk.sender import Sender
from jobdeck.sdk.settings import SdkSettings, server_url
from jobdeck.sdk.spool import Spool
from jobdeck.sdk.transport import DirectTransport, EventDict, HttpTransport, Transport

if TYPE_CHECKING:
    from jobdeck.sdk.tracking import Run

log = logging.getLogger("jobdeck.sdk")
_REQUIRED = frozenset({"run_id", "event", "job", "at"})


def transport_for(settings: SdkSettings) -> Transport:
    """HTTP when a server URL is set, else straight into the store."""
    if settings.url:
        return HttpTransport(settings.url, settings.token)
    return DirectTransport(settings.database_url)


def checked(event: EventDict) -> EventDict | None:
    """The event as the server will accept it: fields it would refuse are dropped (and logged).

    The full check, by the server's model: for the events `wire.acceptable` is unsure of."""
    from pydantic import ValidationError

    from jobdeck.events import EventIn

    for _ in range(3):
        try:
            EventIn.model_validate(event)
            return event
        except ValidationError as exc:
            bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
            if not bad or bad & _REQUIRED:
                break
            log.warning("jobdeck: run %s: leaving out invalid fields %s: %s", event.get("run_id"), bad, exc)
            event = {k: v for k, v in event.items() if k not in bad}
    log.warning("jobdeck: dropped an invalid %s event of run %s", event.get("event"), event.get("run_id"))
    return None


class Client:
    """Queues events for the sender and keeps the runs in progress (for heartbeats)."""

    def __init__(self, settings: SdkSettings, transport: Transport | None = None) -> None:
        self.settings = settings
        self.sender = Sender(
            transport or transport_for(settings),
            Spool(settings.spool_path, settings.spool_max_bytes),
            flush_interval_s=settings.flush_interval_s,
            queue_max=settings.queue_max,
            on_tick=self.tick,
        )
        self._active: dict[str, Run] = {}
        self._lock = threading.Lock()

    def emit(self, event: EventDict) -> None:
        """Queue an event for sending. Never raises."""
        try:
            if wire.acceptable(event):  # what the SDK builds: a few µs, no model
                self.sender.put(event)
                return
            valid = checked(payload.storable(event))
            if valid is not None:
                self.sender.put(valid)
        except Exception:
            log.exception(
                "jobdeck: could not queue a %s event of run %s", event.get("event"), event.get("run_id")
            )

    def queue(self, event: EventDict) -> None:
        """Queue an event built from checked parts (a run's, after its start passed the check), as it
        is. Never raises."""
        try:
            self.sender.put(event)
        except Exception:
            log.exception(
                "jobdeck: could not queue a %s event of run %s", event.get("event"), event.get("run_id")
            )

    def started(self, run: Run) -> None:
        with self._lock:
            self._active[run.run_id] = run

    def finished(self, run: Run) -> None:
        with self._lock:
            self._active.pop(run.run_id, None)

    def tick(self) -> None:
        """Called by the sender thread: heartbeats and throttled progress of the runs in progress."""
        with self._lock:
            runs = list(self._active.values())
        now = time.monotonic()
        for run in runs:
            for event in run.due_events(now):
                self.emit(event)

    def flush(self, timeout: float) -> bool:
        return self.sender.flush(timeout)

    def close(self, timeout: float | None = None) -> None:
        self.sender.close(self.settings.shutdown_timeout_s if timeout is None else timeout)


_client: Client | None = None
_client_lock = threading.Lock()


def get_client() -> Client:
    """The process's client, made from the environment on first use."""
    global _client
    client = _client
    if client is None:
        with _client_lock:
            if _client is None:
                _client = Client(SdkSettings.from_env())
                _flush_at_child_exit()
            client = _client
    return client


def configure(
    *,
    url: str | None = None,
    database_url: str | None = None,
    token: str | None = None,
    spool_dir: str | Path | None = None,
    transport: Transport | None = None,
    **options: Any,
) -> Client:
    """Replace the process's client; unset values come from the environment.

    `options` are the other SdkSettings fields (spool_max_bytes, flush_interval_s,
    shutdown_timeout_s, heartbeat_interval_s, progress_interval_s, queue_max).
    """
    global _client
    settings = SdkSettings.from_env()
    given: dict[str, Any] = dict(options)
    if url is not None or database_url is not None:
        given.update(url=server_url(url), database_url=database_url or settings.database_url)
    if token is not None:
        given["token"] = token
    if spool_dir is not None:
        given["spool_dir"] = Path(spool_dir)
    client = Client(dataclasses.replace(settings, **given), transport)
    _flush_at_child_exit()
    with _client_lock:
        old, _client = _client, client
    if old is not None:
        old.close()
    return client


def flush(timeout: float = 5.0) -> bool:
    """Send every event tracked so far; True if all were delivered within `timeout` seconds."""
    try:
        return get_client().flush(timeout)
    except Exception:
        log.exception("jobdeck: flush failed")
        return False


def shutdown(timeout: float | None = None) -> None:
    """Deliver what is queued (spooling what cannot be), then stop the sender. Runs at exit."""
    global _client
    with _client_lock:
        client, _client = _client, None
    if client is not None:
        try:
            client.close(timeout)
        except Exception:
            log.exception("jobdeck: shutdown failed")


_exit_hook_pid = 0


def _flush_at_child_exit() -> None:
    """In a multiprocessing child, flush when it ends: it leaves by os._exit, which skips atexit."""
    global _exit_hook_pid
    mp = sys.modules.get("multiprocessing")
    if mp is None or _exit_hook_pid == os.getpid():
        return
    try:
        if mp.parent_process() is None:
            return
        from multiprocessing import util

        util.Finalize(None, shutdown, exitpriority=20)
        _exit_hook_pid = os.getpid()
    except Exception:
        log.debug("jobdeck: cannot flush at the end of this child process", exc_info=True)


def _forget_after_fork() -> None:
    # The child has no sender thread and must not resend the parent's queue: start afresh.
    global _client, _client_lock
    _client = None
    _client_lock = threading.Lock()


atexit.register(shutdown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
