"""The control center: every running run against its job's usual duration, and what can be done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from jobdeck.store import reports
from jobdeck.store import runs as run_rows
from jobdeck.store.control import running_runs
from jobdeck.web.deps import StoreDep
from jobdeck.web.pages.rendering import render

router = APIRouter(include_in_schema=False)
USUAL_OVER = timedelta(days=7)
MAX_SHOWN = 500


def progress(elapsed: float, p50: float | None, p95: float | None) -> dict[str, Any]:
    """How far a run is against its job's usual duration: a bar to p50, a warning past p95."""
    if not p50:
        return {"percent": None, "state": "unknown"}
    state = "late" if p95 is not None and elapsed > p95 else "over" if elapsed > p50 else "normal"
    return {"percent": min(100, round(100 * elapsed / p50)), "state": state}


def control_context(store: StoreDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    with store.read() as conn:
        running, total = running_runs(conn, MAX_SHOWN)
        usual = {s["job"]: s for s in reports.job_summaries(conn, now - USUAL_OVER, now)}
        live = run_rows.live_counts(conn)
    rows = []
    for run in running:
        started = run["started_at"] or now
        elapsed = max((now - started).total_seconds(), 0.0)
        job = usual.get(run["job"], {})
        p50, p95 = job.get("p50_duration_s"), job.get("p95_duration_s")
        rows.append({**run, "elapsed_s": elapsed, "p50_s": p50, "p95_s": p95, **progress(elapsed, p50, p95)})
    return {
        "runs": rows,
        "total": total,
        "late": sum(r["state"] == "late" for r in rows),
        "pending": sum(c.get("pending", 0) for c in live.values()),
        "now": now,
    }


@router.get("/control", response_class=HTMLResponse, name="control_page")
def control_page(request: Request, store: StoreDep) -> HTMLResponse:
    """Every running run, longest-running first."""
    return render(request, "control.html", control_context(store))


@router.get("/fragments/control", response_class=HTMLResponse, name="control_fragment")
def control_fragment(request: Request, store: StoreDep) -> HTMLResponse:
    """The running runs alone, for the periodic refresh."""
    return render(request, "fragments/control_runs.html", control_context(store))
