"""The read API: runs, jobs and stats over a time window."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from jobdeck.domain import Status
from jobdeck.store import reports, resources
from jobdeck.store import runs as run_rows
from jobdeck.store.search import RunFilter, find_runs
from jobdeck.web.api.models import JobList, ResourceUse, Run, RunPage, Totals
from jobdeck.web.deps import StoreDep, WindowDep

router = APIRouter(prefix="/api/v1", tags=["runs"])


@router.get("/runs", response_model=RunPage, summary="List runs, newest first")
def list_runs(
    store: StoreDep,
    window: WindowDep,
    job: str | None = None,
    status: Annotated[list[Status] | None, Query()] = None,
    queue: str | None = None,
    q: Annotated[
        str | None,
        Query(description="Text in the run id (its start), error, args or kwargs (3 to 200 characters)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Runs in the window by start (or creation), with a cursor for the next page; `q` searches as
    the runs page does."""
    try:
        where = RunFilter(
            job=job,
            statuses=tuple(s.value for s in status or []),
            queue=queue,
            since=window.since,
            until=window.until,
            text=q.strip() if q and q.strip() else None,
        )
    except ValueError as exc:
        raise HTTPException(422, f"q: {exc}") from None
    try:
        with store.read() as conn:
            rows, next_cursor = find_runs(conn, where, limit=limit, cursor=cursor)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"runs": rows, "next_cursor": next_cursor}


@router.get("/runs/{run_id:path}", response_model=Run, summary="One run, whole")
def get_run(store: StoreDep, run_id: str) -> dict[str, Any]:
    """Every field of a run, with the runs that retried it."""
    with store.read() as conn:
        run = run_rows.get_run(conn, run_id)
    if run is None:
        raise HTTPException(404, f"no run with id {run_id!r}")
    return run


@router.get("/jobs", response_model=JobList, summary="Per-job summary over the window")
def list_jobs(store: StoreDep, window: WindowDep, job: str | None = None) -> dict[str, Any]:
    """Counts, success rate and duration statistics for every job seen in the window."""
    with store.read() as conn:
        return {"jobs": reports.job_summaries(conn, window.since, window.until, job)}


@router.get("/stats", response_model=Totals, summary="Totals over the window")
def get_stats(store: StoreDep, window: WindowDep, job: str | None = None) -> dict[str, Any]:
    """Runs counted by their start (or creation when not started); running and pending are live now."""
    with store.read() as conn:
        return reports.stats(conn, window.since, window.until, job)


@router.get(
    "/resources",
    response_model=ResourceUse,
    summary="CPU seconds and peak memory of one job's runs over the window",
)
def get_resources(
    store: StoreDep, window: WindowDep, job: Annotated[str, Query(min_length=1)]
) -> dict[str, Any]:
    """Average and maximum CPU seconds and peak memory (MB) over the runs that reported them."""
    with store.read() as conn:
        return resources.resource_use(conn, job, window.since, window.until)
