"""Stop and retry: find the run, check it can be acted on, hand it to its executor, audit it.

Executors are picked by the run's `source` (a "local" run goes to the local executor, a "celery" one
would go to a Celery executor). What the pages show comes from `actions_for`, which asks the same
questions the actions do, so a button appears only when pressing it would work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from jobdeck.control import audit
from jobdeck.domain import LIVE_STATUSES, Status
from jobdeck.executors import Executor, Refusal, Refused, RunInfo, Submission
from jobdeck.store import Store
from jobdeck.store import runs as run_rows

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
class Actions:
    """What can be done to a run now. A reason is set when an action would make sense for the run's
    status but no executor can do it; it is None when the action is possible or beside the point."""

    can_stop: bool = False
    can_retry: bool = False
    stop_reason: str | None = None
    retry_reason: str | None = None


def no_executor(source: str | None) -> str:
    """Why runs from `source` have no executor, in words for the pages."""
    if source == "celery":
        return "it is a Celery task, and jobdeck has no Celery executor yet"
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
        retry = executor.why_not_submit(Submission.retrying(info)) if retryable else None
        return Actions(
            can_stop=live and stop is None,
            can_retry=retryable and retry is None,
            stop_reason=stop.reason if stop else None,
            retry_reason=retry.reason if retry else None,
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
