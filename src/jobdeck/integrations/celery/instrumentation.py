"""Instrumented mode: `instrument(app)` records a Celery app's tasks through the SDK's buffered sender.

Richer than the event stream: args/kwargs as JSON (each capped at 4 kB of JSON text, the SDK's
capture), queue, priority and ETA when a task is published (so pending tasks exist before any worker
takes them), and `track.current().progress(...)` inside a task. The run id is the task id, as in
zero-code mode, so both modes together describe each run once: an instrumented worker says so in its
heartbeats (`jobdeck: "instrumented"` beside Celery's software fields), and the event consumer then
takes its `task-started` as a heartbeat, leaving the start to this module (one start per attempt).

Events go where the SDK is configured to send them (JOBDECK_URL or JOBDECK_DATABASE_URL;
`jobdeck.sdk.configure`). Nothing here raises into Celery: a signal handler that fails logs and
goes on.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from jobdeck.integrations.celery import beat
from jobdeck.integrations.celery.mapping import SOURCE, workflow_labels
from jobdeck.integrations.queues import redact_url
from jobdeck.sdk import payload, wire
from jobdeck.sdk.client import get_client
from jobdeck.sdk.tracking import Run, _current, _job_name

log = logging.getLogger(__name__)
MARK = "jobdeck"  # the heartbeat field that tells the consumer a worker is instrumented
_MAX_SHAPES = 1024  # task shapes kept a process (name, queue, worker); past it, made again


class TaskShape:
    """What every start of one task on one queue and worker shares, built and checked once a process:
    each task's start is a copy with the run's own values added (its id, time, args and kwargs), and
    only those are looked at — not the whole event, nor the names, each time."""

    __slots__ = ("job", "queue", "started", "trusted", "worker")

    def __init__(self, job: str, queue: str | None, worker: str | None) -> None:
        self.job = job
        self.queue = payload.clip(queue, payload.MAX_SHORT) if queue else None
        self.worker = worker
        self.started: dict[str, Any] = {
            "event": "started",
            "job": job,
            "source": SOURCE,
            **payload.process_fields(worker),
        }
        if self.queue is not None:
            self.started["queue"] = self.queue
        self.trusted = wire.acceptable({"run_id": "x", **self.started})


_SHORT_CHECK = wire.CHECKS["run_id"]
_JSON_CHECK = wire.CHECKS["args"]


class CeleryRun(Run):
    """An SDK run whose events say source "celery" (the task's run, reported from inside it)."""

    source = SOURCE

    @classmethod
    def begin(cls, shape: TaskShape, run_id: str, args: Any, kwargs: Any) -> CeleryRun:
        """Start the run of one task execution (Celery's prerun) from its task's `shape`."""
        run = cls.__new__(cls)
        run._setup(
            shape.job,
            payload.clip(run_id, payload.MAX_SHORT),
            queue=shape.queue,
            labels=None,
            args=args,
            kwargs=kwargs,
            worker=shape.worker,
            expects={},
        )
        event = shape.started.copy()
        event["run_id"] = run.run_id
        event["at"] = payload.now_iso()
        trusted = shape.trusted and _SHORT_CHECK(run.run_id)
        if args is not None:
            event["args"] = captured = payload.captured(args)
            trusted = trusted and _JSON_CHECK(captured)
        if kwargs is not None:
            event["kwargs"] = captured = payload.captured(kwargs)
            trusted = trusted and _JSON_CHECK(captured)
        run._begin(event, trusted)
        return run

    def finish_quietly(self) -> None:
        """End the run here without an outcome event (one was sent already, or another attempt follows)."""
        if self._client is not None:
            self._client.finished(self)
        if self._token is not None:
            try:
                _current.reset(self._token)
            except ValueError:
                _current.set(None)
            self._token = None


def _safely(handler: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(handler)
    def guarded(*args: Any, **kwargs: Any) -> None:
        try:
            handler(*args, **kwargs)
        except Exception:
            log.exception("jobdeck: celery signal %s failed (the task goes on)", handler.__name__)

    return guarded


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _emit(event: dict[str, Any]) -> None:
    get_client().emit({key: value for key, value in event.items() if value is not None})


class Instrumentation:
    """The signal handlers of one app; `disconnect()` undoes `instrument`."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.broker = redact_url(str(getattr(app.conf, "broker_url", "") or ""))
        self._runs: dict[str, CeleryRun] = {}  # task id → its run, from prerun to postrun
        self._facts: dict[str, dict[str, Any]] = {}  # task id → what failure/retry signals said
        # (task name, queue, worker) → its TaskShape; made again in a forked pool process (its pid)
        self._shapes: dict[tuple[Any, Any, Any], TaskShape] = {}
        os.register_at_fork(after_in_child=self._shapes.clear)
        self._priorities: dict[str, int] = {}
        self._lock = threading.Lock()
        self._handlers: list[tuple[Any, Callable[..., None]]] = []
        self.beat = beat.Declarer(app)

    def connect(self) -> Instrumentation:
        from celery import signals

        for signal, handler in (
            (signals.before_task_publish, self.before_publish),
            (signals.after_task_publish, self.after_publish),
            (signals.task_prerun, self.prerun),
            (signals.task_failure, self.failure),
            (signals.task_retry, self.retry),
            (signals.task_postrun, self.postrun),
            (signals.task_revoked, self.revoked),
            (signals.worker_init, self.worker_init),
            (signals.worker_process_init, self.process_init),
            (signals.beat_init, self.beat_started),
            (signals.worker_ready, self.beat_started),
        ):
            # prerun and postrun, sent for every task, guard themselves
            guarded = handler if handler in (self.prerun, self.postrun) else _safely(handler)
            signal.connect(guarded, weak=False)
            self._handlers.append((signal, guarded))
        self.mark_worker()
        self.beat.soon()  # the beat schedule as each beat task's expectation (beat.py)
        return self

    def disconnect(self) -> None:
        for signal, handler in self._handlers:
            signal.disconnect(handler)
        self._handlers.clear()

    # --- the worker says it is instrumented --------------------------------------------------------

    def worker_init(self, **_: Any) -> None:
        self.mark_worker()

    @staticmethod
    def process_init(**_: Any) -> None:
        """A pool process has started: make its SDK client now (settings, transport, their imports),
        not in its first task."""
        get_client()

    def beat_started(self, sender: Any = None, **_: Any) -> None:
        """Beat (or a worker) of this app has started: its schedule is complete now; declared again
        when it changed (entries added by `add_periodic_task` after `instrument`)."""
        if getattr(sender, "app", None) is self.app:
            self.beat.soon()

    @staticmethod
    def mark_worker() -> None:
        """Heartbeats and worker-online of this process carry Celery's SOFTWARE_INFO: add the mark."""
        from celery.worker import state

        state.SOFTWARE_INFO[MARK] = "instrumented"

    # --- publishing: the run exists, pending, before any worker sees it ----------------------------

    def before_publish(
        self, sender: Any = None, headers: Any = None, properties: Any = None, **_: Any
    ) -> None:
        if isinstance(headers, dict) and isinstance(properties, dict) and headers.get("id"):
            priority = properties.get("priority")
            if isinstance(priority, int):
                with self._lock:
                    self._priorities[str(headers["id"])] = priority

    def after_publish(
        self, sender: Any = None, body: Any = None, headers: Any = None, routing_key: Any = None, **_: Any
    ) -> None:
        if not isinstance(headers, dict) or not headers.get("id"):
            return  # protocol 1 messages: not recorded at publish time
        run_id = str(headers["id"])
        with self._lock:
            priority = self._priorities.pop(run_id, None)
        args: Any = None
        kwargs: Any = None
        if isinstance(body, list | tuple) and len(body) >= 2:
            args, kwargs = body[0], body[1]
        retries = headers.get("retries")
        _emit(
            {
                "run_id": run_id,
                "event": "enqueued",
                "job": str(headers.get("task") or sender),
                "at": _now(),
                "source": SOURCE,
                "queue": str(routing_key) if routing_key else None,
                "priority": priority,
                "eta": _iso(headers.get("eta")),
                "attempt": retries + 1 if isinstance(retries, int) and retries >= 0 else None,
                # A workflow's parent, root and group as labels (mapping.workflow_labels), not as
                # `parent_run_id`, which is jobdeck's "this run retries that one".
                "labels": {
                    **workflow_labels(
                        run_id, headers.get("parent_id"), headers.get("root_id"), headers.get("group")
                    ),
                    "celery.broker": self.broker,  # which broker the executor acts through
                },
                "args": payload.captured(list(args)) if args is not None else None,
                "kwargs": payload.captured(kwargs) if kwargs is not None else None,
            }
        )

    # --- running ------------------------------------------------------------------------------------

    def prerun(
        self, task_id: Any = None, task: Any = None, args: Any = None, kwargs: Any = None, **_: Any
    ) -> None:
        try:  # guarded here, not by _safely: one call less on every task
            if getattr(task, "app", self.app) is not self.app:
                return  # signals are sent for every app in the process
            request = getattr(task, "request", None)
            delivery = getattr(request, "delivery_info", None) or {}
            key = (
                getattr(task, "name", None),
                delivery.get("routing_key"),
                getattr(request, "hostname", None),
            )
            shape = self._shapes.get(key) or self._shape(key)
            run_id = str(task_id)
            run = CeleryRun.begin(shape, run_id, list(args) if args is not None else None, kwargs)
            with self._lock:
                self._runs[run_id] = run
        except Exception:
            log.exception("jobdeck: celery signal prerun failed (the task goes on)")

    def _shape(self, key: tuple[Any, Any, Any]) -> TaskShape:
        name, queue, worker = key
        shape = TaskShape(_job_name(str(name or "celery task")), str(queue) if queue else None, worker)
        if len(self._shapes) >= _MAX_SHAPES:
            self._shapes.clear()
        self._shapes[key] = shape
        return shape

    def _outcome(self, task_id: Any, **facts: Any) -> None:
        """Keep what a failure or retry signal says, for the task's postrun."""
        run_id = str(task_id)
        with self._lock:
            if run_id in self._runs:
                self._facts.setdefault(run_id, {}).update(facts)

    def failure(self, task_id: Any = None, exception: Any = None, **_: Any) -> None:
        self._outcome(task_id, exception=exception)

    def retry(self, request: Any = None, reason: Any = None, **_: Any) -> None:
        self._outcome(getattr(request, "id", None), retry=reason)

    def postrun(self, task_id: Any = None, state: Any = None, retval: Any = None, **_: Any) -> None:
        try:  # guarded here, not by _safely, as prerun
            run_id = str(task_id)
            with self._lock:
                run = self._runs.pop(run_id, None)
                facts = self._facts.pop(run_id, None) if self._facts else None
            if run is None:
                return
            if facts is None and state == "SUCCESS":
                run.result = retval  # what task_success reports too: no handler of its own needed
                run.finish(None)
            else:
                self._ended(run, state, facts or {}, retval)
        except Exception:
            log.exception("jobdeck: celery signal postrun failed (the task goes on)")

    @staticmethod
    def _ended(run: CeleryRun, state: Any, facts: dict[str, Any], retval: Any) -> None:
        if state == "RETRY" or "retry" in facts:
            reason = facts.get("retry")
            fields: dict[str, Any] = {"source": SOURCE}
            if isinstance(reason, BaseException):
                fields.update(payload.error_fields(reason))
            elif reason is not None:
                fields["error_message"] = payload.clip(str(reason), payload.MAX_ERROR_MESSAGE)
            run._emit(run._event("retrying", **fields))
            run.finish_quietly()
        elif state == "FAILURE" or "exception" in facts:
            exc = facts.get("exception")
            run.finish(exc if isinstance(exc, BaseException) else RuntimeError(str(exc)))
        elif state in ("REVOKED", "REJECTED", "IGNORED"):
            run._emit(run._event("cancelled", source=SOURCE, labels={"celery_state": str(state)}))
            run.finish_quietly()
        else:
            run.result = retval
            run.finish(None)

    def revoked(self, request: Any = None, terminated: Any = None, expired: Any = None, **_: Any) -> None:
        task_id = getattr(request, "id", None) or getattr(request, "task_id", None)
        name = getattr(request, "name", None) or getattr(request, "task_name", None)
        if not task_id or not name:
            return
        how = "expired" if expired else "terminated" if terminated else "revoked"
        _emit(
            {
                "run_id": str(task_id),
                "event": "cancelled",
                "job": str(name),
                "at": _now(),
                "source": SOURCE,
                "labels": {"celery_revoked": how},
            }
        )


def _iso(value: Any) -> str | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


_installed: dict[int, Instrumentation] = {}


def instrument(app: Any) -> Instrumentation:
    """Record `app`'s tasks through the SDK (once per app; a second call returns the first)."""
    key = id(app)
    if key not in _installed:
        _installed[key] = Instrumentation(app).connect()
        log.info("jobdeck: instrumented celery app %s (pid %d)", getattr(app, "main", app), os.getpid())
    return _installed[key]


def uninstrument(app: Any) -> None:
    found = _installed.pop(id(app), None)
    if found is not None:
        found.disconnect()
