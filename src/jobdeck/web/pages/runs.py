"""The run lists: /runs by status tab, filtered by job, queue and text, 50 a page (keyset)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from jobdeck.store.search import RunFilter, count_runs, find_runs, job_names
from jobdeck.web.deps import StoreDep
from jobdeck.web.pages.rendering import render
from jobdeck.web.run_filters import RunQuery, RunQueryDep

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    statuses: tuple[str, ...]
    columns: tuple[str, ...]
    empty: str


TABS = (
    Tab("", "All", (), ("status", "queue", "run_at", "duration"), "No runs recorded yet."),
    Tab("running", "Running", ("running",), ("queue", "worker", "started", "elapsed"), "Nothing is running."),
    Tab(
        "pending",
        "Pending",
        ("pending",),
        ("queue", "priority", "enqueued", "eta"),
        "No runs are waiting in a queue.",
    ),
    Tab(
        "retrying",
        "Retrying",
        ("retrying",),
        ("queue", "attempt", "enqueued", "error"),
        "No runs wait to retry.",
    ),
    Tab(
        "succeeded",
        "Succeeded",
        ("succeeded",),
        ("queue", "finished", "duration", "items"),
        "No run has succeeded yet.",
    ),
    Tab("failed", "Failed", ("failed",), ("queue", "finished", "duration", "error"), "No failed runs."),
    Tab("cancelled", "Cancelled", ("cancelled",), ("queue", "finished", "error"), "No cancelled runs."),
    Tab("lost", "Lost", ("lost",), ("queue", "worker", "started", "heartbeat"), "No lost runs."),
)
COLUMNS = (
    "run_id",
    "job",
    "status",
    "queue",
    "priority",
    "worker",
    "created_at",
    "eta",
    "started_at",
    "finished_at",
    "duration_s",
    "attempt",
    "error_type",
    "error_message",
    "items_succeeded",
    "items_failed",
    "run_at",
)


def tab_of(where: RunFilter) -> Tab:
    return next((t for t in TABS if t.statuses == where.statuses), TABS[0])


def list_context(conn: Connection, query: RunQuery, cursor: str | None) -> dict[str, Any]:
    """One page of runs and the next cursor; or, for a search too short or a bad cursor, the reason."""
    try:
        where = query.to_filter()
        rows, next_cursor = find_runs(conn, where, limit=PAGE_SIZE, cursor=cursor, columns=COLUMNS)
        total, more = count_runs(conn, where) if rows or cursor else (0, False)
    except ValueError as exc:
        where = query.to_filter(with_text=False)
        return {
            "error": str(exc),
            "runs": [],
            "cursor": cursor,
            "tab": tab_of(where),
            "where": where,
            "params": _params(where),
        }
    return {
        "runs": rows,
        # An empty tab on a store that has runs needs no "instrument a job" advice.
        "store_empty": not rows and not cursor and not job_names(conn),
        "next_cursor": next_cursor,
        "total": total,
        "more_than": more,
        "cursor": cursor,
        "tab": tab_of(where),
        "where": where,
        "params": _params(where),
    }


def _params(where: RunFilter) -> dict[str, Any]:
    return {"status": list(where.statuses), "job": where.job, "queue": where.queue, "q": where.text}


CursorQuery = Annotated[str | None, Query(max_length=200, description="Where the previous page ended")]


@router.get("/runs", response_class=HTMLResponse, name="runs_page")
def runs_page(
    request: Request, store: StoreDep, query: RunQueryDep, cursor: CursorQuery = None
) -> HTMLResponse:
    """The run lists."""
    with store.read() as conn:
        context = list_context(conn, query, cursor)
        context["jobs"] = job_names(conn)
    context["tabs"] = TABS
    context["query"] = query
    return render(request, "runs.html", context, 422 if "error" in context else 200)


@router.get("/fragments/runs", response_class=HTMLResponse, name="runs_fragment")
def runs_fragment(
    request: Request, store: StoreDep, query: RunQueryDep, cursor: CursorQuery = None
) -> HTMLResponse:
    """The list body alone, for htmx refreshes."""
    with store.read() as conn:
        context = list_context(conn, query, cursor)
    return render(request, "fragments/runs_table.html", context, 422 if "error" in context else 200)
