"""Actions on runs: POST /api/v1/runs/{run_id}/stop and /retry, through the control plane."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request

from jobdeck.auth.principal import address_of, principal_of
from jobdeck.control import ActionRefused, ControlPlane, audit
from jobdeck.executors.local import LocalExecutor
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.web.api.models import Retried, Stopped

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


def install(app: FastAPI, store: Store, recorder: Recorder) -> ControlPlane:
    """Give the app its control plane (the local executor, recording through the app's recorder);
    create_app stops the commands it still runs, recorded as cancelled, when the app shuts down."""
    control = ControlPlane(store, [LocalExecutor(recorder.record)])
    app.state.control = control
    audit.make_visible()
    return control
