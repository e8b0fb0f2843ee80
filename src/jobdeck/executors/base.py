"""The executor interface: submit a run, cancel it (politely), terminate it (now).

An executor starts and stops runs somewhere (a process on this machine, a Celery worker, a webhook)
and reports what happens to them as events, through the same recorder as every other source. It says
beforehand whether it can act on a run (`why_not_submit`, `why_not_cancel`, `why_not_terminate`), so
the pages show only buttons that work and say why the others are missing.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from jobdeck.domain import Status
from jobdeck.events import Event

log = logging.getLogger(__name__)
RECORD_ATTEMPTS = 4


def record_safely(record: Callable[[Sequence[Event]], object], events: Sequence[Event]) -> None:
    """Record, trying again a few times with growing pauses: what an executor saw (a start, an end,
    a stop) must not be lost to a busy store; the last failure is logged, never raised."""
    for attempt in range(RECORD_ATTEMPTS):
        try:
            record(events)
            return
        except Exception:
            if attempt == RECORD_ATTEMPTS - 1:
                log.exception("could not record %s of run %s", events[0].kind.value, events[0].run_id)
                return
            time.sleep(0.5 * 2**attempt)


@dataclass(frozen=True)
class Refusal:
    """Why an executor cannot act on a run. `conflict`: because of the run's state now (HTTP 409),
    rather than because nothing here can act on such a run (HTTP 422)."""

    reason: str
    conflict: bool = False


class Refused(Exception):
    """An executor could not act; carries its Refusal."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


@dataclass(frozen=True)
class RunInfo:
    """A run as an executor sees it: who started it, where, and with what."""

    run_id: str
    job: str
    status: Status
    source: str | None = None
    host: str | None = None
    pid: int | None = None
    queue: str | None = None
    args: Any = None
    kwargs: Any = None
    labels: Mapping[str, str] = field(default_factory=dict)
    worker: str | None = None
    priority: int | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> RunInfo:
        """From a stored run (a row of `runs`, as the store's reads return it)."""
        return cls(
            run_id=row["run_id"],
            job=row["job"],
            status=Status(row["status"]),
            source=row.get("source"),
            host=row.get("host"),
            pid=row.get("pid"),
            queue=row.get("queue"),
            args=row.get("args"),
            kwargs=row.get("kwargs"),
            labels=row.get("labels") or {},
            worker=row.get("worker"),
            priority=row.get("priority"),
        )


@dataclass(frozen=True)
class Submission:
    """A run to start: what to run (the job with its args and kwargs), and the run it retries, if any."""

    job: str
    args: Any = None
    kwargs: Any = None
    queue: str | None = None
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    retry_of: RunInfo | None = None
    priority: int | None = None

    @property
    def parent_run_id(self) -> str | None:
        return self.retry_of.run_id if self.retry_of is not None else None

    @classmethod
    def retrying(cls, run: RunInfo) -> Submission:
        """A new run of the same work as `run`, linked to it."""
        return cls(run.job, run.args, run.kwargs, run.queue, retry_of=run, priority=run.priority)


class Executor(Protocol):
    """Starts and stops runs; records what happens to them as events."""

    @property
    def source(self) -> str:
        """The `source` its runs carry: the runs this executor can act on."""
        ...

    def why_not_submit(self, submission: Submission) -> Refusal | None:
        """None when `submit` would start the run; else why it would not."""
        ...

    def submit(self, submission: Submission) -> str:
        """Start the run (recording it) and return its run_id; raise Refused when it cannot."""
        ...

    def why_not_cancel(self, run: RunInfo) -> Refusal | None:
        """None when `cancel` would reach the run; else why it would not."""
        ...

    def cancel(self, run: RunInfo) -> str:
        """Ask the run to stop, forcing it after a grace period; return what was done, in a sentence.
        The run is recorded as cancelled once it has stopped. Raise Refused when it cannot."""
        ...

    def why_not_terminate(self, run: RunInfo) -> Refusal | None:
        """None when `terminate` would reach the run; else why it would not."""
        ...

    def terminate(self, run: RunInfo) -> str:
        """Stop the run now, without a grace period; like `cancel` otherwise."""
        ...

    def close(self) -> None:
        """Stop what this executor still runs in this process (recording it) and let go of it."""
        ...
