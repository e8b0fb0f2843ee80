"""Stop, terminate and retry: find the run, check it can be acted on, hand it to its executor, audit it.
Also the bulk actions: retry a job's failed runs of a window, purge a queue.

Executors are picked by the run's `source` (a "local" run goes to the local executor, a "celery" one
would go to a Celery executor). What the pages show comes from `actions_for`, which asks the same
questions the actions do, so a button appears only when pressing it would work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from jobdeck.control import audit
from jobdeck.domain import LIVE_STATUSES, Status
from jobdeck.executors import Executor, Refusal, Refused, RunInfo, Submission
from jobdeck.store import Store
from jobdeck.store import runs as run_rows
from jobdeck.store.control import failed_runs

# How many failed runs one bulk retry takes at most (the oldest beyond it are left, and counted).
MAX_BULK_RETRIES = 1000

# A run that succeeded has nothing to retry; every other one may be run again.
NOT_RETRIED = frozenset({Status.SUCCEEDED})


class ActionRefused(Exception):
    """An action that cannot be done: its HTTP status (404, 409 or 422) and why, in a sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Stopped:
    run_id: str
    detail: str  # what was done, e.g. "SIGTERM sent to process 4711; …"


@dataclass(frozen=True)
class Retried:
    run_id: str  # the run retried
    new_run_id: str


@dataclass(frozen=True)
class BulkRetried:
    """What a bulk retry of a job's failed runs did: each run retried (with its new run) or refused."""

    job: str
    hours: float
    retried: list[Retried] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (run_id, why)
    left: int = 0  # failed runs beyond MAX_BULK_RETRIES, not tried

    @property
    def detail(self) -> str:
        found = len(self.retried) + len(self.refused) + self.left
        window = f"the last {self.hours:g} hour{'' if self.hours == 1 else 's'}"
        if not found:
            return f"no failed run of {self.job} in {window}"
        text = f"{len(self.retried)} of {found} failed runs of {self.job} in {window} retried"
        if self.refused:
            text += f", {len(self.refused)} refused"
        if self.left:
            text += f", {self.left} beyond the first {MAX_BULK_RETRIES} not tried"
        return text


@dataclass(frozen=True)
class Purged:
    queue: str
    broker: str | None
    count: int

    @property
    def detail(self) -> str:
        where = f" of {self.broker}" if self.broker else ""
        plural = "message" if self.count == 1 else "messages"
        return f"{self.count} {plural} deleted from queue {self.queue}{where}"


@runtime_checkable
class QueuePurger(Protocol):
    """An executor that can empty one of its queues (the Celery executor can)."""

    def purge(self, queue: str, broker_name: str | None = None) -> int: ...


@dataclass(frozen=True)
class Actions:
    """What can be done to a run now. A reason is set when an action would make sense for the run's
    status but no executor can do it; it is None when the action is possible or beside the point."""

    can_stop: bool = False
    can_retry: bool = False
    stop_reason: str | None = None
    retry_reason: str | None = None
    can_terminate: bool = False


def no_executor(source: str | None) -> str:
    """Why runs from `source` have no executor, in words for the pages."""
    if source == "celery":
        return "it is a Celery task, and no Celery broker is configured (JOBDECK_CELERY_BROKERS)"
    if source == "sdk":
        return "its own process reports it through the SDK; jobdeck did not start it"
    if source is None:
        return "its source does not say how it was started"
    return f"no executor acts on runs from {source!r}"


class ControlPlane:
    """The executors of this server, and the actions done through them."""

    def __init__(self, store: Store, executors: Iterable[Executor]) -> None:
        self.store = store
        self.executors: dict[str, Executor] = {e.source: e for e in executors}

    def actions_for(self, run: Mapping[str, Any]) -> Actions:
        """What the pages may offer for a stored run."""
        info = RunInfo.of(run)
        live, retryable = info.status in LIVE_STATUSES, info.status not in NOT_RETRIED
        executor = self.executors.get(info.source or "")
        if executor is None:
            reason = no_executor(info.source)
            return Actions(stop_reason=reason if live else None, retry_reason=reason if retryable else None)
        stop = executor.why_not_cancel(info) if live else None
        terminate = executor.why_not_terminate(info) if live and stop is None else None
        retry = executor.why_not_submit(Submission.retrying(info)) if retryable else None
        return Actions(
            can_stop=live and stop is None,
            can_retry=retryable and retry is None,
            stop_reason=stop.reason if stop else None,
            # A run still going that its executor retries only once it has ended: nothing to explain.
            retry_reason=retry.reason if retry and not (live and retry.conflict) else None,
            can_terminate=live and stop is None and terminate is None,
        )

    def stop(self, run_id: str, by: str) -> Stopped:
        """Ask the run's executor to stop it (SIGTERM, then SIGKILL after a grace period, for a process)."""
        with _audited("stop", run_id, by, self.store):
            info = self._run(run_id)
            if info.status not in LIVE_STATUSES:
                raise ActionRefused(
                    409, f"run {run_id} is {info.status.value}: only a pending or running run can be stopped"
                )
            detail = self._act(info, lambda executor: executor.cancel(info), "stopped")
        audit.record("stop", run_id, by, "accepted", detail, store=self.store, address=_address(by))
        return Stopped(run_id, detail)

    def terminate(self, run_id: str, by: str) -> Stopped:
        """Ask the run's executor to stop it now (SIGKILL for a process), without a grace period."""
        with _audited("terminate", run_id, by, self.store):
            info = self._run(run_id)
            if info.status not in LIVE_STATUSES:
                raise ActionRefused(
                    409,
                    f"run {run_id} is {info.status.value}: only a pending or running run can be terminated",
                )
            detail = self._act(info, lambda executor: executor.terminate(info), "terminated")
        audit.record("terminate", run_id, by, "accepted", detail, store=self.store, address=_address(by))
        return Stopped(run_id, detail)

    def retry(self, run_id: str, by: str) -> Retried:
        """Start a new run of the same work, linked to this one, through the executor that can run it."""
        with _audited("retry", run_id, by, self.store):
            info = self._run(run_id)
            if info.status in NOT_RETRIED:
                raise ActionRefused(409, f"run {run_id} succeeded: there is nothing to retry")
            submission = Submission.retrying(info)
            new_run_id = self._act(info, lambda executor: executor.submit(submission), "retried")
        audit.record(
            "retry", run_id, by, "accepted", f"new run {new_run_id}", store=self.store, address=_address(by)
        )
        return Retried(run_id, new_run_id)

    def retry_failed(self, job: str, hours: float, by: str, *, now: datetime | None = None) -> BulkRetried:
        """Retry every failed run of `job` in the last `hours` that can be retried and was not already;
        each retry is audited as one, and the whole as "retry-failed" on the job."""
        since = (now or datetime.now(UTC)) - timedelta(hours=hours)
        with self.store.read() as conn:
            found, total = failed_runs(conn, job, since, MAX_BULK_RETRIES)
        outcome = BulkRetried(job, hours, left=max(total - len(found), 0))
        for run in found:
            if run["retried_by"]:
                outcome.refused.append(
                    (run["run_id"], f"it was already retried as run {', '.join(run['retried_by'])}")
                )
                continue
            try:
                outcome.retried.append(self.retry(run["run_id"], by))
            except ActionRefused as exc:
                outcome.refused.append((run["run_id"], exc.message))
        audit.record(
            "retry-failed", job, by, "accepted", outcome.detail, store=self.store, address=_address(by)
        )
        return outcome

    def purge_queue(self, queue: str, broker: str | None, by: str, source: str = "celery") -> Purged:
        """Delete every message waiting in a queue, through the executor of `source`; audited."""
        target = f"{queue}@{broker}" if broker else queue
        with _audited("purge", target, by, self.store):
            executor = self.executors.get(source)
            if not isinstance(executor, QueuePurger):
                raise ActionRefused(422, f"queue {queue} cannot be purged: {no_executor(source)}")
            try:
                count = executor.purge(queue, broker)
            except LookupError as exc:
                raise ActionRefused(422, f"queue {queue} cannot be purged: {exc.args[0]}") from None
            except Exception as exc:
                raise ActionRefused(
                    503, f"queue {queue} cannot be purged: {type(exc).__name__}: {exc}"
                ) from None
        purged = Purged(queue, broker, count)
        audit.record("purge", target, by, "accepted", purged.detail, store=self.store, address=_address(by))
        return purged

    def close(self) -> None:
        for executor in self.executors.values():
            executor.close()

    def _run(self, run_id: str) -> RunInfo:
        with self.store.read() as conn:
            row = run_rows.get_run(conn, run_id)
        if row is None:
            raise ActionRefused(404, f"no run with id {run_id!r}")
        return RunInfo.of(row)

    def _act(self, info: RunInfo, action: Callable[[Executor], str], done: str) -> str:
        executor = self.executors.get(info.source or "")
        if executor is None:
            raise ActionRefused(422, f"run {info.run_id} cannot be {done}: {no_executor(info.source)}")
        try:
            return action(executor)
        except Refused as exc:
            raise ActionRefused(_status(exc.refusal), f"run {info.run_id} cannot be {done}: {exc}") from None


@contextmanager
def _audited(action: str, run_id: str, by: str, store: Store) -> Iterator[None]:
    """Put an action that is refused or fails on the audit record (and let the exception go on)."""
    try:
        yield
    except ActionRefused as refused:
        audit.record(
            action,
            run_id,
            by,
            f"refused-{refused.status}",
            refused.message,
            store=store,
            address=_address(by),
        )
        raise
    except Exception as exc:  # the store or the system failed it: still on the record
        detail = f"{type(exc).__name__}: {exc}"
        audit.record(action, run_id, by, "error", detail, store=store, address=_address(by))
        raise


def _address(by: str) -> str:
    """The address in an actor as the web layer writes it ("[name@]address/way")."""
    return by.rsplit("/", 1)[0].rsplit("@", 1)[-1]


def _status(refusal: Refusal) -> int:
    return 409 if refusal.conflict else 422
