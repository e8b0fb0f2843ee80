"""The control center: every running run against its job's usual duration, with the actions its
executor can take (stop, terminate, retry), and the action endpoints both it, the run page and the job
page (retry its failed runs) post to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from jobdeck.control import ActionRefused, ControlPlane
from jobdeck.store import reports
from jobdeck.store.control import pending_runs, running_runs
from jobdeck.web.api.control import MAX_RETRY_HOURS, ControlDep, actor, bulk_answer
from jobdeck.web.deps import StoreDep
from jobdeck.web.pages.rendering import render, run_url

router = APIRouter(include_in_schema=False)
USUAL_OVER = timedelta(days=7)
MAX_SHOWN = 500
RESULT = "fragments/action_result.html"


def progress(elapsed: float, p50: float | None, p95: float | None) -> dict[str, Any]:
    """How far a run is against its job's usual duration: a bar to p50, a warning past p95."""
    if not p50:
        return {"percent": None, "state": "unknown"}
    state = "late" if p95 is not None and elapsed > p95 else "over" if elapsed > p50 else "normal"
    return {"percent": min(100, round(100 * elapsed / p50)), "state": state}


def action_url(request: Request, action: str, run_id: str, follow: bool = False) -> str:
    """Where a page posts an action ("stop", "terminate" or "retry") on a run; `follow` opens the new
    run after."""
    path = request.url_for(f"{action}_fragment", run_id=quote(run_id, safe="")).path
    return f"{path}?follow=1" if follow else path


def with_actions(request: Request, context: dict[str, Any]) -> dict[str, Any]:
    """A page's context with the helper its action buttons link with."""
    return {**context, "action_url": partial(action_url, request)}


def control_context(store: StoreDep, control: ControlPlane) -> dict[str, Any]:
    now = datetime.now(UTC)
    with store.read() as conn:
        running, total = running_runs(conn, MAX_SHOWN)
        pending, pending_total = pending_runs(conn, MAX_SHOWN)
        usual = {s["job"]: s for s in reports.job_summaries(conn, now - USUAL_OVER, now)}
    rows = []
    for run in running:
        started = run["started_at"] or now
        elapsed = max((now - started).total_seconds(), 0.0)
        job = usual.get(run["job"], {})
        p50, p95 = job.get("p50_duration_s"), job.get("p95_duration_s")
        actions = control.actions_for(run)
        rows.append(
            {
                **run,
                "elapsed_s": elapsed,
                "p50_s": p50,
                "p95_s": p95,
                **progress(elapsed, p50, p95),
                "actions": actions,
            }
        )
    return {
        "runs": rows,
        "total": total,
        "late": sum(r["state"] == "late" for r in rows),
        "pending": pending_total,
        "pending_runs": pending,
        "now": now,
    }


@router.get("/control", response_class=HTMLResponse, name="control_page")
def control_page(request: Request, store: StoreDep, control: ControlDep) -> HTMLResponse:
    """Every running run, longest-running first."""
    return render(request, "control.html", with_actions(request, control_context(store, control)))


@router.get("/fragments/control", response_class=HTMLResponse, name="control_fragment")
def control_fragment(request: Request, store: StoreDep, control: ControlDep) -> HTMLResponse:
    """The running runs alone, for the periodic refresh."""
    context = with_actions(request, control_context(store, control))
    return render(request, "fragments/control_runs.html", context)


@router.post("/fragments/runs/{run_id:path}/stop", name="stop_fragment")
def stop_fragment(request: Request, control: ControlDep, run_id: str) -> HTMLResponse:
    """Stop a run; what happened, as a notice for the page."""
    context = with_actions(request, {"action": "stop", "run_id": run_id})
    try:
        stopped = control.stop(run_id, actor(request, "ui"))
    except ActionRefused as exc:
        return render(request, RESULT, {**context, "error": exc.message}, status_code=exc.status)
    return render(request, RESULT, {**context, "detail": stopped.detail}, status_code=202)


@router.post("/fragments/runs/{run_id:path}/retry", name="retry_fragment")
def retry_fragment(
    request: Request,
    control: ControlDep,
    run_id: str,
    follow: Annotated[bool, Query(description="Open the new run's page")] = False,
) -> HTMLResponse:
    """Retry a run; the new run, linked, as a notice for the page (or, with `follow`, its page)."""
    context = with_actions(request, {"action": "retry", "run_id": run_id, "follow": follow})
    try:
        retried = control.retry(run_id, actor(request, "ui"))
    except ActionRefused as exc:
        return render(request, RESULT, {**context, "error": exc.message}, status_code=exc.status)
    response = render(request, RESULT, {**context, "new_run_id": retried.new_run_id}, status_code=202)
    if follow:
        response.headers["HX-Redirect"] = run_url(request, retried.new_run_id)
    return response


@router.post("/fragments/runs/{run_id:path}/terminate", name="terminate_fragment")
def terminate_fragment(request: Request, control: ControlDep, run_id: str) -> HTMLResponse:
    """Terminate a run (SIGKILL now); what happened, as a notice for the page."""
    context = with_actions(request, {"action": "terminate", "run_id": run_id})
    try:
        stopped = control.terminate(run_id, actor(request, "ui"))
    except ActionRefused as exc:
        return render(request, RESULT, {**context, "error": exc.message}, status_code=exc.status)
    return render(request, RESULT, {**context, "detail": stopped.detail}, status_code=202)


@router.post("/fragments/jobs/{job:path}/retry-failed", name="retry_failed_fragment")
def retry_failed_fragment(
    request: Request,
    control: ControlDep,
    job: str,
    hours: Annotated[float, Query(gt=0, le=MAX_RETRY_HOURS)] = 24,
) -> HTMLResponse:
    """Retry the job's failed runs of the window; the counts and each run's outcome, as a notice."""
    bulk = bulk_answer(control.retry_failed(job, hours, actor(request, "ui")))
    return render(request, "fragments/bulk_retry_result.html", {"bulk": bulk}, status_code=202)
