"""What broke, how often, since when: /failures, failed runs grouped by fingerprint."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from jobdeck.store.failures import failure_groups
from jobdeck.store.search import job_names
from jobdeck.web.deps import StoreDep, Window, WindowDep
from jobdeck.web.pages.rendering import render

router = APIRouter(include_in_schema=False)
WINDOWS = ((1, "1 hour"), (24, "24 hours"), (24 * 7, "7 days"), (24 * 30, "30 days"))
JobQuery = Annotated[str | None, Query(max_length=200, description="Only failures of this job")]


def failures_context(conn: Connection, window: Window, job: str | None) -> dict[str, Any]:
    report = failure_groups(conn, window.since, window.until, job or None)
    hours = round(window.hours)
    return {
        "report": report,
        "job": job or "",
        "hours": hours,
        "window_label": dict(WINDOWS).get(hours, f"{window.hours:g} hours"),
        "params": {"hours": hours, "job": job or None},
    }


@router.get("/failures", response_class=HTMLResponse, name="failures_page")
def failures_page(request: Request, store: StoreDep, window: WindowDep, job: JobQuery = None) -> HTMLResponse:
    """Failure groups of a window."""
    with store.read() as conn:
        context = failures_context(conn, window, job)
        context["jobs"] = job_names(conn)
    context["windows"] = WINDOWS
    return render(request, "failures.html", context)


@router.get("/fragments/failures", response_class=HTMLResponse, name="failures_fragment")
def failures_fragment(
    request: Request, store: StoreDep, window: WindowDep, job: JobQuery = None
) -> HTMLResponse:
    """The groups alone, for htmx refreshes."""
    with store.read() as conn:
        context = failures_context(conn, window, job)
    return render(request, "fragments/failure_groups.html", context)
