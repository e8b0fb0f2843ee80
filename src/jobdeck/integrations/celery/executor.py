"""The Celery executor: stop, terminate and retry Celery tasks through their broker's control commands.

One Celery app per configured broker (no tasks of its own: it only sends). What it does to a run:

- **stop**, a pending task: `revoke` (every worker drops it when it comes to it; with terminate, so a
  task that started a moment ago is stopped too), recorded as cancelled at once.
- **stop**, a running task: `revoke(terminate=True, signal=SIGTERM)` to its worker; recorded as
  cancelled once the pool process that ran it is gone, or after the grace period saying it was not.
  Celery signals a task once: the worker lets go of it at the first signal (reports it revoked) and a
  second revoke finds nothing, so no SIGKILL can follow through Celery. A task that ignores SIGTERM is
  recorded as possibly still running, and Stop's answer says to use Terminate for such tasks.
- **terminate**: `revoke(terminate=True, signal=SIGKILL)`: the pool process is killed at once.
- **retry** (`submit` of a retry): the same task name with the same args, kwargs, queue and priority under
  a new task id, recorded at once as a pending run with `parent_run_id`. Only a failed, cancelled or lost
  task is retried, and only when its args are known (retry_args.py says which are).

A running task whose worker does not answer a ping is refused (409): nothing would stop it, or say so.
Worker answers are cached for a few seconds, so pages asking which buttons to show stay fast.
A run names its broker in the label `celery.broker` (the broker's URL without credentials, as
`integrations.queues.redact_url` writes it); a run without it belongs to the only broker, when there
is one.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jobdeck.domain import EventKind, Status
from jobdeck.events import Event, make_event
from jobdeck.executors.base import Refusal, Refused, RunInfo, Submission, record_safely
from jobdeck.integrations.celery import retry_args
from jobdeck.integrations.queues import redact_url

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

SOURCE = "celery"
BROKER_LABEL = "celery.broker"
RETRYABLE = frozenset({Status.FAILED, Status.CANCELLED, Status.LOST})
POLL_S = 0.5
PAGE_PING_S = 0.5  # how long a page waits for a worker's pong
GONE_AFTER_KILL_S = 15.0  # how long a killed pool process may take to be gone before we stop watching

Sink = Callable[[Sequence[Event]], object]


def _now() -> datetime:
    return datetime.now(UTC)


def display_url(url: str) -> str:
    """A broker URL as it may be shown and stored: without credentials (as /api/v1/queues names it)."""
    return redact_url(url)


class Broker:
    """One configured broker and the Celery app that talks to it (made on first use)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = display_url(url)
        self._app: Celery | None = None
        self._lock = threading.Lock()

    @property
    def app(self) -> Celery:
        with self._lock:
            if self._app is None:
                from celery import Celery

                app = Celery(f"jobdeck-control-{uuid.uuid4().hex[:8]}", broker=self.url, set_as_current=False)
                app.conf.update(
                    # An unreachable broker answers in well under a second, not after Celery's
                    # retries (6 s by default): pages ask about workers while they render.
                    broker_connection_timeout=3.0,
                    broker_connection_retry=False,
                    broker_connection_max_retries=1,
                    broker_transport_options={
                        "max_retries": 1,
                        "interval_start": 0,
                        "interval_step": 0.2,
                        "interval_max": 0.2,
                    },
                    task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.5},
                    worker_hijack_root_logger=False,
                )
                self._app = app
            return self._app

    def close(self) -> None:
        with self._lock:
            if self._app is not None:
                self._app.close()
                self._app = None


class BrokerUnreachable(Exception):
    """The broker did not take a command."""


@dataclass
class _Alive:
    at: float
    answered: bool


class CeleryExecutor:
    """Acts on Celery tasks (runs with source "celery") through the configured brokers."""

    source = SOURCE

    def __init__(
        self,
        record: Sink,
        brokers: Sequence[str],
        *,
        grace_s: float = 10.0,
        ping_timeout_s: float = 1.0,
        alive_ttl_s: float = 5.0,
    ) -> None:
        self.record = record
        self.brokers = [Broker(url) for url in brokers]
        self.grace_s, self.ping_timeout_s, self.alive_ttl_s = grace_s, ping_timeout_s, alive_ttl_s
        self._alive: dict[tuple[str, str], _Alive] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._watchers: list[threading.Thread] = []

    # --- which broker, which worker ---------------------------------------------------------------

    def broker_named(self, name: str | None) -> Broker | None:
        """The configured broker by its URL (with or without its password); the only one for None."""
        if name is None:
            return self.brokers[0] if len(self.brokers) == 1 else None
        for broker in self.brokers:
            if name in (broker.url, broker.name):
                return broker
        return None

    def _broker_of(self, run: RunInfo) -> Broker | Refusal:
        if not self.brokers:
            return Refusal("no Celery broker is configured (JOBDECK_CELERY_BROKERS)")
        named = run.labels.get(BROKER_LABEL)
        broker = self.broker_named(named)
        if broker is not None:
            return broker
        if named is not None:
            return Refusal(f"its broker {named} is not one this server is configured with")
        return Refusal(
            f"it does not say which of the {len(self.brokers)} configured brokers it came from "
            f"(no {BROKER_LABEL!r} label)"
        )

    def worker_answers(self, broker: Broker, worker: str, *, fresh: bool = False) -> bool:
        """Whether the worker answers a ping. Unless `fresh` (an action about to be done), a page's
        question: answered from what is known (an answer for `alive_ttl_s`, a silence three times as
        long: a gone worker tends to stay gone), else asked with a shorter wait, so a page listing the
        tasks of several gone workers stays quick."""
        key = (broker.url, worker)
        now = time.monotonic()
        with self._lock:
            known = self._alive.get(key)
        if known is not None and not fresh:
            ttl = self.alive_ttl_s if known.answered else 3 * self.alive_ttl_s
            if now - known.at < ttl:
                return known.answered
        wait = self.ping_timeout_s if fresh else min(self.ping_timeout_s, PAGE_PING_S)
        try:
            replies = broker.app.control.ping(destination=[worker], timeout=wait, limit=1)
        except Exception as exc:
            log.warning("celery: ping of %s through %s failed: %s", worker, broker.name, exc)
            replies = []
        answered = any(worker in reply for reply in replies or [])
        with self._lock:
            self._alive[key] = _Alive(time.monotonic(), answered)
        return answered

    def _task_state(self, broker: Broker, worker: str, task_id: str) -> tuple[str | None, int | None]:
        """What the worker says of the task: "active", "reserved", "ready", or None (it does not hold it),
        and the pid of the pool process running it, when one does."""
        inspect = broker.app.control.inspect(destination=[worker], timeout=self.ping_timeout_s, limit=1)
        replies = inspect.query_task([task_id]) or {}
        found = (replies.get(worker) or {}).get(task_id)
        if not found:
            return None, None
        info = found[1] if len(found) > 1 and isinstance(found[1], dict) else {}
        pid = info.get("worker_pid")
        return str(found[0]), pid if isinstance(pid, int) else None

    def _pool_processes(self, broker: Broker, worker: str) -> set[int] | None:
        """The pids of the worker's pool processes (None when it does not say)."""
        inspect = broker.app.control.inspect(destination=[worker], timeout=self.ping_timeout_s, limit=1)
        stats = (inspect.stats() or {}).get(worker) or {}
        processes = (stats.get("pool") or {}).get("processes")
        return {int(pid) for pid in processes} if isinstance(processes, list) else None

    def _revoke(self, broker: Broker, task_id: str, signal: str, worker: str | None = None) -> None:
        try:
            broker.app.control.revoke(
                task_id,
                terminate=True,
                signal=signal,
                destination=[worker] if worker else None,
            )
        except Exception as exc:
            raise BrokerUnreachable(f"the broker {broker.name} did not take the revoke: {exc}") from exc

    # --- submit (retry) ---------------------------------------------------------------------------

    def why_not_submit(self, submission: Submission) -> Refusal | None:
        return self._check_submission(submission)[0]

    def _check_submission(
        self, submission: Submission
    ) -> tuple[Refusal, None] | tuple[None, tuple[Broker, retry_args.RetryArgs]]:
        origin = submission.retry_of
        if origin is not None and origin.status not in RETRYABLE:
            return Refusal(
                f"it is {origin.status.value}: only a failed, cancelled or lost Celery task is sent again",
                conflict=True,
            ), None
        if origin is not None:
            broker = self._broker_of(origin)
        else:
            broker = self.broker_named(None) or Refusal("it does not say which broker to send it to")
        if isinstance(broker, Refusal):
            return broker, None
        try:
            parsed = retry_args.parse(submission.args, submission.kwargs)
        except retry_args.Unusable as exc:
            return Refusal(str(exc)), None
        return None, (broker, parsed)

    def submit(self, submission: Submission) -> str:
        refusal, checked = self._check_submission(submission)
        if refusal is not None:
            raise Refused(refusal)
        assert checked is not None
        broker, parsed = checked
        if self._closing.is_set():
            raise Refused(Refusal("this server is shutting down", conflict=True))
        options: dict[str, Any] = {}
        if submission.queue:
            options["queue"] = submission.queue
        if submission.priority is not None:
            options["priority"] = submission.priority
        sent_at = _now()
        try:
            broker.app.send_task(
                submission.job, args=parsed.args, kwargs=parsed.kwargs, task_id=submission.run_id, **options
            )
        except Exception as exc:
            raise Refused(
                Refusal(f"the broker {broker.name} did not take the task: {exc}", conflict=True)
            ) from exc
        fields: dict[str, Any] = {
            "job": submission.job,
            "source": SOURCE,
            "queue": submission.queue,
            "priority": submission.priority,
            "args": parsed.args,
            "kwargs": parsed.kwargs,
            "parent_run_id": submission.parent_run_id,
            "labels": {BROKER_LABEL: broker.name},
        }
        self._record_safely([make_event(submission.run_id, EventKind.ENQUEUED, sent_at, fields)])
        return submission.run_id

    # --- stop and terminate -----------------------------------------------------------------------

    def why_not_cancel(self, run: RunInfo) -> Refusal | None:
        return self._check_live(run, fresh=False)[0]

    def why_not_terminate(self, run: RunInfo) -> Refusal | None:
        return self.why_not_cancel(run)

    def _check_live(self, run: RunInfo, *, fresh: bool) -> tuple[Refusal, None] | tuple[None, Broker]:
        broker = self._broker_of(run)
        if isinstance(broker, Refusal):
            return broker, None
        if run.status == Status.RUNNING or (run.status == Status.RETRYING and run.worker):
            if not run.worker:
                return Refusal("it does not say which worker runs it"), None
            if not self.worker_answers(broker, run.worker, fresh=fresh):
                return Refusal(
                    f"its worker {run.worker} does not answer (it is gone, or its broker "
                    f"{broker.name} cannot be reached), so nothing can stop the task or report it stopped",
                    conflict=True,
                ), None
        return None, broker

    def cancel(self, run: RunInfo) -> str:
        return self._stop(run, "SIGTERM")

    def terminate(self, run: RunInfo) -> str:
        return self._stop(run, "SIGKILL")

    def _stop(self, run: RunInfo, signal: str) -> str:
        refusal, broker = self._check_live(run, fresh=True)
        if refusal is not None:
            raise Refused(refusal)
        assert broker is not None
        if self._closing.is_set():
            raise Refused(Refusal("this server is shutting down", conflict=True))
        worker = run.worker
        try:
            state, pid = self._task_state(broker, worker, run.run_id) if worker else (None, None)
        except Exception as exc:
            raise Refused(Refusal(f"its worker {worker} could not be asked: {exc}", conflict=True)) from exc
        try:
            if state == "active":
                assert worker is not None
                self._revoke(broker, run.run_id, signal, worker)
                self._watch(broker, run, worker, signal, pid)
                sent = f"{signal} sent to task {run.run_id} on worker {worker} (revoke with terminate)"
                if signal == "SIGKILL":
                    return sent
                return (
                    f"{sent}; Celery signals a task once, so if it is still running after "
                    f"{self.grace_s:g} s only Terminate (SIGKILL) stops it"
                )
            if run.status == Status.RUNNING and state is None:
                raise Refused(
                    Refusal(
                        f"its worker {worker} no longer runs it: it has just ended, or its end is not "
                        "recorded yet",
                        conflict=True,
                    )
                )
            # Pending: every worker drops it when it comes to it (terminate covers one that just began).
            self._revoke(broker, run.run_id, signal)
        except BrokerUnreachable as exc:
            raise Refused(Refusal(str(exc), conflict=True)) from exc
        how = f"revoked in jobdeck while pending (a worker that had just started it was sent {signal})"
        fields = {"job": run.job, "error_message": how}
        self._record_safely([make_event(run.run_id, EventKind.CANCELLED, _now(), fields)])
        where = f" (held by worker {worker})" if state in ("reserved", "ready") and worker else ""
        return f"task {run.run_id} revoked{where}: workers drop it instead of running it"

    def _watch(self, broker: Broker, run: RunInfo, worker: str, signal: str, pid: int | None) -> None:
        """Follow a task sent a signal until the pool process that ran it is gone (or the grace period
        has passed), then record it cancelled, saying which."""
        thread = threading.Thread(
            target=self._follow,
            args=(broker, run, worker, signal, pid),
            name=f"jobdeck-celery-stop-{run.run_id[:8]}",
            daemon=True,
        )
        with self._lock:
            self._watchers = [t for t in self._watchers if t.is_alive()] + [thread]
        thread.start()

    def _follow(self, broker: Broker, run: RunInfo, worker: str, signal: str, pid: int | None) -> None:
        # The worker lets go of a task at the first signal (it reports it revoked at once, and no
        # second revoke reaches it), so what tells whether it stopped is its pool process: gone, or
        # replaced, once the signal has killed it.
        message = f"stopped with {signal} (asked for in jobdeck)"
        limit = self.grace_s if signal == "SIGTERM" else GONE_AFTER_KILL_S
        started = time.monotonic()
        if pid is None:
            message = f"revoked with {signal} (asked for in jobdeck); its worker named no pool process"
        while pid is not None:
            if self._closing.wait(POLL_S):
                return
            try:
                processes = self._pool_processes(broker, worker)
            except Exception as exc:
                log.warning("celery: cannot follow the stop of %s on %s: %s", run.run_id, worker, exc)
                processes = None
            if processes is not None and pid not in processes:
                break
            if time.monotonic() - started >= limit:
                message = (
                    f"revoked with {signal} (asked for in jobdeck), but its pool process {pid} was still "
                    f"alive {limit:g} s later: the task may still be running"
                )
                if signal == "SIGTERM":
                    message += " (it ignored SIGTERM; Celery sends no second signal)"
                break
        fields = {"job": run.job, "worker": worker, "error_message": message}
        self._record_safely([make_event(run.run_id, EventKind.CANCELLED, _now(), fields)])

    def expire(self, run_id: str, why: str, run: RunInfo | None = None) -> None:
        """A schedule's timeout: revoke the task with terminate (SIGTERM) on every worker, whatever
        its state (a pending one is dropped, a running one signalled), and record it cancelled, why.
        Celery signals a task once: one that ignores SIGTERM runs on (docs/scheduling.md)."""
        broker = self._broker_of(run) if run is not None else self.broker_named(None)
        if not isinstance(broker, Broker):
            raise Refused(broker or Refusal("it does not say which broker it was sent to"))
        self._revoke(broker, run_id, "SIGTERM")
        fields: dict[str, Any] = {"error_message": why}
        if run is not None:
            fields["job"] = run.job
        self._record_safely([make_event(run_id, EventKind.CANCELLED, _now(), fields)])

    # --- queues -----------------------------------------------------------------------------------

    def purge(self, queue: str, broker_name: str | None = None) -> int:
        """Delete every message waiting in one queue of one broker; how many went."""
        broker = self.broker_named(broker_name)
        if broker is None:
            raise LookupError(
                f"no configured broker is {broker_name!r}"
                if broker_name
                else f"say which of the {len(self.brokers)} brokers (broker=)"
                if self.brokers
                else "no Celery broker is configured (JOBDECK_CELERY_BROKERS)"
            )
        return purge_queue(broker.app, queue)

    # --- the rest ---------------------------------------------------------------------------------

    def _record_safely(self, events: list[Event]) -> None:
        record_safely(self.record, events)

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            watchers = list(self._watchers)
        for thread in watchers:
            thread.join(timeout=2)
        for broker in self.brokers:
            broker.close()


def purge_queue(app: Celery, queue: str) -> int:
    """Delete the messages waiting in `queue` (on Redis, its priority lists too) through the app's
    broker; how many went. A queue the broker does not know has none (0)."""
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, interval_max=0.2)
        channel = conn.default_channel
        try:
            count = channel.queue_purge(queue)
        except Exception as exc:
            if _not_found(exc):
                return 0
            raise
        return int(count or 0)


def _not_found(exc: Exception) -> bool:
    code = getattr(exc, "code", None) or getattr(exc, "reply_code", None)
    return code == 404 or "NOT_FOUND" in str(exc)
