"""Starting what a firing runs, by its target: a command or a Python callable through the local
executor, an HTTP call, or a Celery task sent through the Celery executor (refused, with why, when no
Celery broker is configured).

Every run carries its schedule (`schedule_id`) from its first event, which the loop records in the
transaction that claims the firing; here the run is started and the rest of its events recorded.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx2

from jobdeck.domain import EventKind
from jobdeck.events import Event, make_event
from jobdeck.executors import Refusal, Refused, RunInfo, Submission
from jobdeck.executors.local import LocalExecutor
from jobdeck.scheduler.spec import CeleryTarget, CommandTarget, HttpTarget, PythonTarget, ScheduleSpec

if TYPE_CHECKING:
    from jobdeck.integrations.celery.executor import CeleryExecutor
    from jobdeck.store import Store

log = logging.getLogger(__name__)

HTTP_TIMEOUT_S = 30.0
BODY_TAIL_CHARS = 500
NO_CELERY = (
    "no Celery broker is configured here (jobdeck serve --celery-broker URL, or JOBDECK_CELERY_BROKERS), "
    "so a Celery task cannot be sent"
)
LIVE = ("pending", "running", "retrying")

Sink = Callable[[Sequence[Event]], object]
RunOf = Callable[[str], RunInfo | None]


def _now() -> datetime:
    return datetime.now(UTC)


def source_of(spec: ScheduleSpec) -> str:
    """The `source` a schedule's runs carry: the executor that starts them."""
    return {"command": "local", "python": "local"}.get(spec.target.type, spec.target.type)


def runs_in(store: Store) -> RunOf:
    """Reads a stored run as an executor sees it (None when unknown)."""
    from jobdeck.store.runs import get_run

    def run_of(run_id: str) -> RunInfo | None:
        with store.read() as conn:
            row = get_run(conn, run_id)
        return RunInfo.of(row) if row is not None else None

    return run_of


def command_of(spec: ScheduleSpec) -> tuple[list[str], dict[str, Any] | None]:
    """The argv and kwargs (its working directory) of a command or Python target."""
    target = spec.target
    if isinstance(target, CommandTarget):
        return list(target.command), ({"cwd": target.cwd} if target.cwd else None)
    assert isinstance(target, PythonTarget)
    call = json.dumps({"args": target.args, "kwargs": target.kwargs})
    return [sys.executable, "-m", "jobdeck.scheduler.call", target.callable, call], None


def enqueued(run_id: str, schedule_id: str, spec: ScheduleSpec, scheduled_at: datetime) -> Event:
    """The first event of a firing's run: its job, its schedule and what it will run."""
    fields: dict[str, Any] = {
        "job": spec.job_name,
        "source": source_of(spec),
        "schedule_id": schedule_id,
        "eta": scheduled_at,
        "labels": {"schedule": spec.name},
    }
    if spec.target.type in ("command", "python"):
        fields["args"], fields["kwargs"] = command_of(spec)
    elif isinstance(spec.target, CeleryTarget):
        target = spec.target
        fields.update(args=list(target.args), kwargs=dict(target.kwargs), queue=target.queue)
    return make_event(run_id, EventKind.ENQUEUED, _now(), fields)


class Launcher:
    """Starts firings' runs; `record` is the recorder's (the one write path for runs). Celery targets
    go through `celery` (the control plane's Celery executor, when brokers are configured); `run_of`
    reads a run back, for a Celery run's timeout."""

    def __init__(
        self,
        record: Sink,
        local: LocalExecutor | None = None,
        celery: CeleryExecutor | None = None,
        run_of: RunOf | None = None,
    ) -> None:
        self.record = record
        self.local = local or LocalExecutor(record)
        self.celery, self.run_of = celery, run_of
        self.host = socket.gethostname() or "localhost"

    def why_not(self, spec: ScheduleSpec) -> str | None:
        """None when this jobdeck can start the schedule's target; else why not."""
        if isinstance(spec.target, CeleryTarget) and (self.celery is None or not self.celery.brokers):
            return NO_CELERY
        return None

    def launch(self, run_id: str, spec: ScheduleSpec) -> None:
        """Start the run (its end is recorded when it comes); raise Refused when it cannot start."""
        if isinstance(spec.target, HttpTarget):
            target = spec.target
            threading.Thread(
                target=self._call, args=(run_id, spec, target), name=f"jobdeck-http-{run_id}", daemon=True
            ).start()
            return
        reason = self.why_not(spec)
        if reason is not None:
            raise Refused(Refusal(reason))
        if isinstance(spec.target, CeleryTarget):
            self._send(run_id, spec, spec.target)
            return
        argv, kwargs = command_of(spec)
        process = self.local.start(Submission(job=spec.job_name, args=argv, kwargs=kwargs, run_id=run_id))
        if spec.timeout_s is not None and not process.exited:
            timer = threading.Timer(
                spec.timeout_s, process.stop, args=(signal.SIGTERM, f"timeout_s {spec.timeout_s:g} passed")
            )
            timer.daemon = True
            timer.start()

    def close(self) -> None:
        self.local.close()

    def _send(self, run_id: str, spec: ScheduleSpec, target: CeleryTarget) -> None:
        """Send the task under the run's id (the executor records it pending with its broker); with
        `timeout_s`, revoke it with terminate (SIGTERM) if it has not ended by then."""
        assert self.celery is not None
        submission = Submission(
            job=target.task,
            args=list(target.args),
            kwargs=dict(target.kwargs),
            queue=target.queue,
            run_id=run_id,
        )
        self.celery.submit(submission)
        if spec.timeout_s is not None:
            timer = threading.Timer(spec.timeout_s, self._celery_timeout, args=(run_id, spec.timeout_s))
            timer.daemon = True
            timer.start()

    def _celery_timeout(self, run_id: str, timeout_s: float) -> None:
        if self.celery is None:
            return
        run = self.run_of(run_id) if self.run_of is not None else None
        if self.run_of is not None and (run is None or run.status.value not in LIVE):
            return  # it has ended (or is not known here): nothing to stop
        why = f"timeout_s {timeout_s:g} passed: revoked with terminate (SIGTERM)"
        try:
            self.celery.expire(run_id, why, run)
        except Exception:
            log.exception("could not revoke Celery run %s after its timeout", run_id)

    def _call(self, run_id: str, spec: ScheduleSpec, target: HttpTarget) -> None:
        job = spec.job_name
        self.record([make_event(run_id, EventKind.STARTED, _now(), {"job": job, "host": self.host})])
        fields: dict[str, Any] = {"job": job}
        try:
            response = httpx2.request(
                target.method,
                target.url,
                json=target.body if target.body is not None else None,
                timeout=spec.timeout_s or HTTP_TIMEOUT_S,
            )
        except httpx2.HTTPError as exc:
            fields.update(error_type=type(exc).__name__, error_message=f"{target.method} {target.url}: {exc}")
            kind = EventKind.FAILED
        else:
            fields["result"] = {"status": response.status_code}
            if response.is_success:
                kind = EventKind.SUCCEEDED
            else:
                tail = response.text[-BODY_TAIL_CHARS:]
                fields.update(error_type="HTTPStatus", error_message=f"HTTP {response.status_code}: {tail}")
                kind = EventKind.FAILED
        try:
            self.record([make_event(run_id, kind, _now(), fields)])
        except Exception:
            log.exception("could not record how the HTTP call of run %s ended", run_id)
