"""The Schedules page: every schedule with its next run (and a countdown), its last run, pause and
resume, run now, delete; a schedule's firing history; the create/edit form; the predicted timeline.

Actions and the form go through the JSON API (static/js/schedules.js), so the page and outside
callers share one set of checks; the list refreshes as a fragment.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cronsim import CronSim
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from jobdeck.scheduler.spec import ScheduleSpec
from jobdeck.scheduler.triggers import cron_fields
from jobdeck.store import schedules as rows
from jobdeck.web.deps import StoreDep
from jobdeck.web.pages import formatting
from jobdeck.web.pages.rendering import render

router = APIRouter(include_in_schema=False)
HISTORY = 100


def describe(spec: ScheduleSpec) -> str:
    """When a schedule fires, in words."""
    if spec.kind == "cron" and spec.cron:
        words = CronSim(cron_fields(spec.cron), datetime(2000, 1, 1)).explain()
        return words if spec.timezone == "UTC" else f"{words} ({spec.timezone})"
    if spec.kind == "interval" and spec.every_s:
        return f"Every {formatting.duration(spec.every_s)}"
    if spec.kind == "once" and spec.at:
        return f"Once, at {formatting.when(spec.at)}"
    return f"After each success of {spec.after}"


def target_text(spec: ScheduleSpec) -> str:
    target = spec.target
    if target.type == "command":
        return " ".join(target.command)
    if target.type == "python":
        return target.callable
    if target.type == "http":
        return f"{target.method} {target.url}"
    return f"Celery task {target.task}"


def schedule_rows(store: StoreDep) -> list[dict[str, Any]]:
    with store.read() as conn:
        found = rows.list_all(conn)
        last = rows.last_runs(conn, [r["id"] for r in found])
    shown = []
    for row in found:
        spec = ScheduleSpec.model_validate(row["definition"])
        shown.append(
            {
                **row,
                "spec": spec,
                "when": describe(spec),
                "target": target_text(spec),
                "last": last.get(row["id"]),
            }
        )
    return shown


@router.get("/schedules", response_class=HTMLResponse, name="schedules_page")
def schedules_page(request: Request, store: StoreDep) -> HTMLResponse:
    """Every schedule, and the firings of the next 24 hours with their predicted overlaps."""
    return render(request, "schedules.html", {"schedules": schedule_rows(store), "now": datetime.now(UTC)})


@router.get("/fragments/schedules", response_class=HTMLResponse, name="schedules_fragment")
def schedules_fragment(request: Request, store: StoreDep) -> HTMLResponse:
    """The schedule list alone, for the periodic refresh."""
    context = {"schedules": schedule_rows(store), "now": datetime.now(UTC)}
    return render(request, "fragments/schedule_list.html", context)


@router.get("/schedules/new", response_class=HTMLResponse, name="schedule_new")
def schedule_new(request: Request) -> HTMLResponse:
    """The form for a new schedule."""
    return render(request, "schedule_form.html", {"schedule": None, "spec": None})


@router.get("/schedules/{schedule_id}/edit", response_class=HTMLResponse, name="schedule_edit")
def schedule_edit(request: Request, store: StoreDep, schedule_id: str) -> HTMLResponse:
    """The form, filled in with a schedule to change."""
    with store.read() as conn:
        row = rows.get(conn, schedule_id)
    if row is None:
        raise HTTPException(404, f"no schedule with id {schedule_id!r}")
    spec = ScheduleSpec.model_validate(row["definition"])
    return render(request, "schedule_form.html", {"schedule": row, "spec": spec})


@router.get("/schedules/{schedule_id}", response_class=HTMLResponse, name="schedule_detail")
def schedule_detail(request: Request, store: StoreDep, schedule_id: str) -> HTMLResponse:
    """One schedule: what it runs, when, and its firings (each with its run)."""
    with store.read() as conn:
        row = rows.get(conn, schedule_id)
        if row is None:
            raise HTTPException(404, f"no schedule with id {schedule_id!r}")
        history = rows.history(conn, schedule_id, HISTORY)
        counts = rows.firing_counts(conn, schedule_id)
        last = rows.last_runs(conn, [schedule_id]).get(schedule_id)
    spec = ScheduleSpec.model_validate(row["definition"])
    context = {
        "s": {**row, "spec": spec, "when": describe(spec), "target": target_text(spec), "last": last},
        "history": history,
        "counts": counts,
        "now": datetime.now(UTC),
    }
    return render(request, "schedule_detail.html", context)
