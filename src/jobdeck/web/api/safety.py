"""Job safety: clean up stuck runs now, and the health of the scheduler and the sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel
from sqlalchemy.exc import SQLAlchemyError

from jobdeck.scheduler.loop import Scheduler
from jobdeck.scheduler.safety import Sweeper
from jobdeck.store import safety as safety_rows
from jobdeck.store import schedules as schedule_rows
from jobdeck.web.api.control import Guard, actor
from jobdeck.web.deps import StoreDep

router = APIRouter(prefix="/api/v1/safety", tags=["safety"])


class MarkedRun(BaseModel):
    run_id: str
    job: str
    reason: str


class Cleanup(BaseModel):
    marked: list[MarkedRun]
    count: int
    at: AwareDatetime


@router.post("/cleanup-stale", dependencies=Guard, response_model=Cleanup)
def cleanup_stale(request: Request) -> Cleanup:
    """Run the safety sweep now: stuck runs are marked lost (audited); answers what it marked."""
    sweeper: Sweeper = request.app.state.sweeper
    now = datetime.now(UTC)
    marked = sweeper.sweep(now, by=actor(request, "api"))
    return Cleanup(
        marked=[MarkedRun(run_id=m.run_id, job=m.job, reason=m.reason) for m in marked],
        count=len(marked),
        at=now,
    )


@router.get("/health", summary="Store, scheduler lag, stuck runs, executors, last sweep")
def safety_health(request: Request, store: StoreDep) -> JSONResponse:
    """200 when the store answers and nothing is stuck; 503 with the same body otherwise."""
    scheduler: Scheduler = request.app.state.scheduler
    sweeper: Sweeper = request.app.state.sweeper
    now = datetime.now(UTC)
    body: dict[str, Any] = {"at": now.isoformat()}
    try:
        with store.read() as conn:
            next_due = schedule_rows.next_due_at(conn)
            quiet = safety_rows.quiet_runs(conn, now - timedelta(seconds=sweeper.shortest_limit()), 1000)
        stuck = [r for r in quiet if sweeper.judge(r, now) is not None]
        body["store"] = {"ok": True, "backend": store.backend}
    except SQLAlchemyError as exc:
        body["store"] = {"ok": False, "backend": store.backend, "error": str(exc).splitlines()[0]}
        body["status"] = "unhealthy"
        return JSONResponse(body, status_code=503)
    overdue = (now - next_due).total_seconds() if next_due is not None else None
    body["scheduler"] = {
        "running": scheduler.running,
        "last_pass_at": _iso(scheduler.last_pass_at),
        "lag_s": scheduler.lag_s,
        "next_due_at": _iso(next_due),
        "overdue_s": max(0.0, overdue) if overdue is not None else None,
    }
    body["stuck_runs"] = {"count": len(stuck), "run_ids": [r["run_id"] for r in stuck[:50]]}
    local = scheduler.launcher.local
    body["executors"] = {"local": {"running": len(local.running())}, "celery": {"available": False}}
    body["last_sweep"] = {
        "at": _iso(sweeper.last_sweep_at),
        "marked": [m.run_id for m in sweeper.last_marked],
        "stale_after_s": sweeper.stale_after_s,
    }
    body["status"] = "degraded" if stuck else "healthy"
    return JSONResponse(body, status_code=200)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
