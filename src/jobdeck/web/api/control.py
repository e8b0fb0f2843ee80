"""Actions on runs: POST /api/v1/runs/{run_id}/stop and /retry, through the control plane."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request

from jobdeck.control import ActionRefused, ControlPlane, audit
from jobdeck.executors.local import LocalExecutor
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.web.api.models import Retried, Stopped

router = APIRouter(prefix="/api/v1", tags=["control"])

REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Sent by a page of another site"},
    404: {"description": "No such run"},
    409: {"description": "The run's state does not allow it (finished, or its process is gone)"},
    422: {"description": "No executor can act on this run (e.g. a Celery task, or a run on another host)"},
}


def get_control(request: Request) -> ControlPlane:
    control: ControlPlane = request.app.state.control
    return control


def same_origin(request: Request) -> None:
    """Refuse what a browser sends from a page of another site: until jobdeck has sign-in, this keeps a
    web page the user happens to visit from stopping or rerunning their jobs."""
    site = request.headers.get("sec-fetch-site")
    if site not in (None, "same-origin", "none"):
        message = f"actions are not taken from pages of other sites (Sec-Fetch-Site: {site})"
        action, run_id = request.url.path.rsplit("/", 1)[-1], request.path_params.get("run_id", "")
        audit.record(action, run_id, actor(request, "browser"), "refused-403", message)
        raise HTTPException(403, message)


def actor(request: Request, way: str) -> str:
    """Who asked, for the audit line: the client's address and the way in."""
    return f"{request.client.host if request.client else 'unknown'}/{way}"


ControlDep = Annotated[ControlPlane, Depends(get_control)]
Guard = [Depends(same_origin)]


@router.post(
    "/runs/{run_id:path}/stop",
    status_code=202,
    response_model=Stopped,
    dependencies=Guard,
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
    dependencies=Guard,
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
