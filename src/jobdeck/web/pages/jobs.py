"""A job's page `/jobs/{job}`: its cards, duration trend, outcomes over time, heatmap, runs, last error."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import SQLAlchemyError

from jobdeck.domain import Status
from jobdeck.store import resources
from jobdeck.store import runs as run_rows
from jobdeck.store.search import RunFilter, count_runs
from jobdeck.web.deps import SettingsDep, StoreDep
from jobdeck.web.pages import dashboard
from jobdeck.web.pages.error_pages import error_page
from jobdeck.web.pages.overview import RANGES, REFRESH, ViewDep, ViewQuery
from jobdeck.web.pages.rendering import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
STATUSES = tuple(s.value for s in Status)
ERROR_COLUMNS = ("run_id", "status", "finished_at", "error_type", "error_message")


def _runs_context(
    store: Any, job: str, query: ViewQuery, status: str | None, cursor: str | None
) -> dict[str, Any]:
    statuses = [status] if status in STATUSES else None
    problems = [] if status in (None, "", *STATUSES) else [f"'{status}' is not a status; showing every run."]
    try:
        with store.read() as conn:
            found, next_cursor = run_rows.list_runs(
                conn,
                since=query.window.since,
                until=query.window.until,
                job=job,
                status=statuses,
                limit=PAGE_SIZE,
                cursor=cursor or None,
                columns=dashboard.RECENT_COLUMNS,
            )
            where = RunFilter(
                job=job, statuses=tuple(statuses or ()), since=query.window.since, until=query.window.until
            )
            total, more = count_runs(conn, where)
    except ValueError:
        found, next_cursor, total, more = [], None, 0, False
        problems.append("That page link is no longer valid; start again from the newest runs.")
    return {
        "runs": found,
        "next_cursor": next_cursor,
        "total": total,
        "more_than": more,
        "status": status if statuses else "",
        "statuses": STATUSES,
        "runs_problems": problems,
        "first_page": not cursor,
    }


def _page_context(
    store: Any, job: str, query: ViewQuery, slow_job_seconds: float, status: str | None, cursor: str | None
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "job": job,
        "q": query,
        "ranges": RANGES,
        "refresh_choices": REFRESH,
        "slow_job_seconds": slow_job_seconds,
    }
    try:
        with store.read() as conn:
            rows = dashboard.summary_rows(conn, query.window, job, slow_job_seconds)
            failed, _ = run_rows.list_runs(conn, job=job, status=["failed"], limit=1, columns=ERROR_COLUMNS)
            context |= {
                "cards": dashboard.cards(conn, query.window, job),
                "summary": rows[0] if rows else None,
                "last_error": failed[0] if failed else None,
                "resources": resources.resource_use(conn, job, query.window.since, query.window.until),
                "error": None,
            }
    except SQLAlchemyError as exc:
        context |= {
            "cards": None,
            "summary": None,
            "last_error": None,
            "resources": None,
            "error": store.reachability.describe() or type(exc).__name__,
        }
    return context | _runs_context(store, job, query, status, cursor)


@router.get("/jobs/{job_name:path}", response_class=HTMLResponse, name="job_page")
def job_page(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    query: ViewDep,
    job_name: str,
    status: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """One job over the chosen window; a job no run was ever recorded of is a 404 page."""
    with store.read() as conn:
        known = run_rows.job_exists(conn, job_name)
    if not known:
        message = f"No run of a job named “{job_name}” has been recorded."
        return error_page(request, 404, [message, "Jobs appear once a run of them is reported."])
    context = _page_context(store, job_name, query, settings.slow_job_seconds, status, cursor)
    return render(request, "job.html", context, status_code=503 if context["error"] else 200)


@router.get("/fragments/jobs/{job_name:path}/runs", response_class=HTMLResponse, name="job_runs_fragment")
def job_runs_fragment(
    request: Request,
    store: StoreDep,
    query: ViewDep,
    job_name: str,
    status: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """A page of the job's runs (50), for htmx."""
    context = {"job": job_name, "q": query, **_runs_context(store, job_name, query, status, cursor)}
    return render(request, "fragments/job_runs.html", context)
