"""Actions on runs: POST /api/v1/runs/{run_id}/stop, /terminate and /retry, a job's failed runs retried
at once, a queue purged; all through the control plane, which audits them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request

from jobdeck.auth.principal import address_of, principal_of
from jobdeck.config import Settings
from jobdeck.control import ActionRefused, BulkRetried, ControlPlane, audit
from jobdeck.executors import Executor
from jobdeck.executors.local import LocalExecutor
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.web.api import models
from jobdeck.web.api.models import Purged, Retried, Stopped, Terminated
from jobdeck.web.deps import MAX_WINDOW_HOURS

router = APIRouter(prefix="/api/v1", tags=["control"])

REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No credentials"},
    403: {"description": "The role may not do this, or no CSRF token"},
    404: {"description": "No such run"},
    409: {"description": "The run's state does not allow it (finished, or its process is gone)"},
    422: {"description": "No executor can act on this run (e.g. a Celery task, or a run on another host)"},
}


def get_control(request: Request) -> ControlPlane:
    control: ControlPlane = request.app.state.control
    return control


def actor(request: Request, way: str) -> str:
    """Who asked, for the audit trail: the signed-in user or token (when there is one), the client's
    address and the way in, e.g. "alice@10.0.0.5/ui" or, on an open server, "127.0.0.1/api"."""
    principal = principal_of(request)
    who = f"{principal.name}@" if principal is not None and principal.via != "open" else ""
    return f"{who}{address_of(request)}/{way}"


ControlDep = Annotated[ControlPlane, Depends(get_control)]


@router.post(
    "/runs/{run_id:path}/stop",
    status_code=202,
    response_model=Stopped,
    responses=REFUSALS,
)
def stop_run(request: Request, control: ControlDep, run_id: str) -> dict[str, str]:
    """Stop a pending or running run through its executor: SIGTERM, then SIGKILL after a grace period."""
    try:
        stopped = control.stop(run_id, actor(request, "api"))
    except ActionRefused as exc:
        raise HTTPException(exc.status, exc.message) from None
    return {"run_id": run_id, "detail": stopped.detail}


@router.post(
    "/runs/{run_id:path}/retry",
    status_code=202,
    response_model=Retried,
    responses=REFUSALS,
)
def retry_run(request: Request, control: ControlDep, run_id: str) -> dict[str, str]:
    """Start a new run of the same work, with `parent_run_id` set to this run; answers the new run's id."""
    try:
        retried = control.retry(run_id, actor(request, "api"))
    except ActionRefused as exc:
        raise HTTPException(exc.status, exc.message) from None
    return {"run_id": retried.new_run_id, "parent_run_id": run_id}


@router.post(
    "/runs/{run_id:path}/terminate",
    status_code=202,
    response_model=Terminated,
    responses=REFUSALS,
)
def terminate_run(request: Request, control: ControlDep, run_id: str) -> dict[str, str]:
    """Stop a pending or running run now, without a grace period: SIGKILL (a Celery task: revoke with
    terminate and SIGKILL)."""
    try:
        stopped = control.terminate(run_id, actor(request, "api"))
    except ActionRefused as exc:
        raise HTTPException(exc.status, exc.message) from None
    return {"run_id": run_id, "detail": stopped.detail}


MAX_RETRY_HOURS = MAX_WINDOW_HOURS  # any window the job page can show


def bulk_answer(outcome: BulkRetried) -> dict[str, Any]:
    """A bulk retry as the API and the pages tell it."""
    runs = [
        {
            "run_id": r.run_id,
            "outcome": "retried",
            "new_run_id": r.new_run_id,
            "detail": f"retried as run {r.new_run_id}",
        }
        for r in outcome.retried
    ] + [{"run_id": run_id, "outcome": "refused", "detail": why} for run_id, why in outcome.refused]
    return {
        "job": outcome.job,
        "hours": outcome.hours,
        "retried": len(outcome.retried),
        "refused": len(outcome.refused),
        "not_tried": outcome.left,
        "detail": outcome.detail,
        "runs": runs,
    }


@router.post(
    "/jobs/{job:path}/retry-failed",
    status_code=202,
    response_model=models.BulkRetried,
    responses={k: v for k, v in REFUSALS.items() if k in (401, 403)},
)
def retry_failed(
    request: Request,
    control: ControlDep,
    job: str,
    hours: Annotated[float, Query(gt=0, le=MAX_RETRY_HOURS, description="The window: the last N hours")] = 24,
) -> dict[str, Any]:
    """Retry every failed run of the job in the window that can be retried and was not already; each
    run's outcome (retried, with its new run, or refused, with why)."""
    return bulk_answer(control.retry_failed(job, hours, actor(request, "api")))


@router.post(
    "/queues/{name:path}/purge",
    status_code=200,
    response_model=Purged,
    responses={
        401: REFUSALS[401],
        403: REFUSALS[403],
        422: {"description": "No such broker configured, or no executor for the queue's system"},
        503: {"description": "The broker could not be reached"},
    },
)
def purge_queue(
    request: Request,
    control: ControlDep,
    name: str,
    broker: Annotated[
        str | None, Query(description="The broker's URL (as /api/v1/queues shows it); optional with one")
    ] = None,
) -> dict[str, Any]:
    """Delete every message waiting in a Celery queue; answers how many went."""
    try:
        purged = control.purge_queue(name, broker, actor(request, "api"))
    except ActionRefused as exc:
        raise HTTPException(exc.status, exc.message) from None
    return {"queue": name, "broker": broker, "purged": purged.count, "detail": purged.detail}


def install(app: FastAPI, store: Store, recorder: Recorder) -> ControlPlane:
    """Give the app its control plane (the local executor, and a Celery one when brokers are configured,
    recording through the app's recorder); create_app stops the commands it still runs, recorded as
    cancelled, when the app shuts down."""
    settings: Settings = getattr(app.state, "settings", None) or Settings()
    executors: list[Executor] = [LocalExecutor(recorder.record)]
    if settings.celery_brokers:
        from jobdeck.integrations.celery.executor import CeleryExecutor

        executors.append(CeleryExecutor(recorder.record, settings.celery_brokers))
    control = ControlPlane(store, executors)
    app.state.control = control
    audit.make_visible()
    return control
