"""The overview `/`: controls, stat cards, job summary, timeline of overlaps and recent runs.

The filters live in the query string (hours or from/to, job, refresh, view) so a view can be shared;
`/fragments/overview` renders the refreshable body for htmx with the same parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import SQLAlchemyError

from jobdeck.store.search import job_names
from jobdeck.web.deps import MAX_WINDOW_HOURS, SettingsDep, StoreDep, Window
from jobdeck.web.pages import dashboard
from jobdeck.web.pages.rendering import render

router = APIRouter(include_in_schema=False)

RANGES = (
    (0.25, "Last 15 minutes"),
    (1, "Last 1 hour"),
    (6, "Last 6 hours"),
    (24, "Last 24 hours"),
    (168, "Last 7 days"),
    (720, "Last 30 days"),
)
REFRESH = (
    (0, "Off"),
    (10, "Every 10 seconds"),
    (30, "Every 30 seconds"),
    (60, "Every 1 minute"),
    (300, "Every 5 minutes"),
)
DEFAULT_HOURS, DEFAULT_REFRESH = 24, 30


@dataclass(frozen=True)
class ViewQuery:
    """The overview's filters, read leniently: a bad value falls back to the default with a notice."""

    window: Window
    hours: float | None
    job: str | None
    refresh: int
    view: str
    problems: list[str] = field(default_factory=list)

    @property
    def custom(self) -> bool:
        return self.hours is None

    def params(self) -> dict[str, Any]:
        """The query string that reproduces this view (defaults left out)."""
        out: dict[str, Any] = {}
        if self.custom:
            out["from"] = _iso(self.window.since)
            out["to"] = _iso(self.window.until)
        elif self.hours != DEFAULT_HOURS:
            out["hours"] = _number(self.hours)
        if self.job:
            out["job"] = self.job
        if self.refresh != DEFAULT_REFRESH:
            out["refresh"] = self.refresh
        if self.view == "simple":
            out["view"] = "simple"
        return out

    def api_params(self) -> dict[str, Any]:
        """The window and job as the JSON API takes them."""
        out: dict[str, Any] = (
            {"since": _iso(self.window.since), "until": _iso(self.window.until)}
            if self.custom
            else {"hours": _number(self.hours)}
        )
        if self.job:
            out["job"] = self.job
        return out


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: float | None) -> str:
    return "" if value is None else (f"{value:g}")


def _when(text: str) -> datetime:
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    # A datetime-local input sends no offset: the page shows UTC, so read it as UTC.
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def view_query(
    hours: Annotated[str | None, Query()] = None,
    since: Annotated[str | None, Query(alias="from")] = None,
    until: Annotated[str | None, Query(alias="to")] = None,
    job: Annotated[str | None, Query(max_length=200)] = None,
    refresh: Annotated[str | None, Query()] = None,
    view: Annotated[str | None, Query()] = None,
) -> ViewQuery:
    problems: list[str] = []
    window_hours: float | None = DEFAULT_HOURS
    window = Window.last(DEFAULT_HOURS)
    if since or until:
        try:
            start = _when(since) if since else None
            end = _when(until) if until else datetime.now(UTC)
            if start is None or start >= end:
                raise ValueError
            window, window_hours = Window(start, end), None
        except ValueError:
            problems.append("The custom range needs a 'from' before its 'to'; showing the last 24 hours.")
    elif hours:
        try:
            value = float(hours)
            if not 0 < value <= MAX_WINDOW_HOURS:
                raise ValueError
            window, window_hours = Window.last(value), value
        except ValueError:
            problems.append(f"'{hours}' is not a number of hours; showing the last 24 hours.")
    seconds = DEFAULT_REFRESH
    if refresh is not None:
        allowed = {str(s) for s, _ in REFRESH}
        if refresh in allowed:
            seconds = int(refresh)
        else:
            problems.append(f"Refresh '{refresh}' is not one of the choices; refreshing every 30 seconds.")
    return ViewQuery(
        window, window_hours, job or None, seconds, "simple" if view == "simple" else "advanced", problems
    )


ViewDep = Annotated[ViewQuery, Depends(view_query)]


def body_context(store: Any, query: ViewQuery, slow_job_seconds: float) -> dict[str, Any]:
    """Everything the refreshable body shows; an unreachable store becomes an in-page error."""
    try:
        with store.read() as conn:
            return {
                "cards": dashboard.cards(conn, query.window, query.job),
                "rows": dashboard.summary_rows(conn, query.window, query.job, slow_job_seconds),
                "recent": dashboard.recent_runs(conn, query.window, query.job),
                "jobs": job_names(conn),
                "error": None,
            }
    except SQLAlchemyError as exc:
        error = store.reachability.describe() or type(exc).__name__
        return {"cards": None, "rows": [], "recent": [], "jobs": [], "error": error}


def _context(request: Request, store: Any, query: ViewQuery, slow_job_seconds: float) -> dict[str, Any]:
    return {
        "q": query,
        "ranges": RANGES,
        "refresh_choices": REFRESH,
        "slow_job_seconds": slow_job_seconds,
        "updated_at": datetime.now(UTC),
        **body_context(store, query, slow_job_seconds),
    }


@router.get("/", response_class=HTMLResponse, name="overview_page")
def overview_page(request: Request, store: StoreDep, settings: SettingsDep, query: ViewDep) -> HTMLResponse:
    """The overview page, whole."""
    context = _context(request, store, query, settings.slow_job_seconds)
    return render(request, "overview.html", context, status_code=503 if context["error"] else 200)


@router.get("/fragments/overview", response_class=HTMLResponse, name="overview_fragment")
def overview_fragment(
    request: Request, store: StoreDep, settings: SettingsDep, query: ViewDep
) -> HTMLResponse:
    """The overview's refreshable body (cards, summary, recent runs) for htmx."""
    context = _context(request, store, query, settings.slow_job_seconds)
    return render(
        request, "fragments/overview_body.html", context, status_code=503 if context["error"] else 200
    )
