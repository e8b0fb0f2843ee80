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
from jobdeck.web.api.control import actor
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


@router.post("/cleanup-stale", response_model=Cleanup)
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


class StoreState(BaseModel):
    ok: bool
    backend: str
    error: str | None = None


class SchedulerState(BaseModel):
    running: bool
    last_pass_at: AwareDatetime | None
    lag_s: float | None
    next_due_at: AwareDatetime | None
    overdue_s: float | None


class StuckRuns(BaseModel):
    count: int
    run_ids: list[str]


class LastSweep(BaseModel):
    at: AwareDatetime | None
    marked: list[str]
    stale_after_s: float


class SafetyHealth(BaseModel):
    status: str  # healthy, degraded (stuck runs) or unhealthy (no store)
    at: AwareDatetime
    store: StoreState
    scheduler: SchedulerState | None = None
    stuck_runs: StuckRuns | None = None
    executors: dict[str, dict[str, Any]] | None = None
    last_sweep: LastSweep | None = None


@router.get(
    "/health",
    response_model=SafetyHealth,
    responses={503: {"model": SafetyHealth, "description": "The store cannot be reached"}},
    summary="Store, scheduler lag, stuck runs, executors, last sweep",
)
def safety_health(request: Request, store: StoreDep) -> Any:
    """200 when the store answers (`degraded` with stuck runs); 503 when it cannot be reached."""
    scheduler: Scheduler = request.app.state.scheduler
    sweeper: Sweeper = request.app.state.sweeper
    now = datetime.now(UTC)
    try:
        with store.read() as conn:
            next_due = schedule_rows.next_due_at(conn)
            quiet = safety_rows.quiet_runs(conn, now - timedelta(seconds=sweeper.shortest_limit()), 1000)
    except SQLAlchemyError as exc:
        state = StoreState(ok=False, backend=store.backend, error=str(exc).splitlines()[0])
        return JSONResponse(
            SafetyHealth(status="unhealthy", at=now, store=state).model_dump(mode="json"), status_code=503
        )
    stuck = [r for r in quiet if sweeper.judge(r, now) is not None]
    overdue = (now - next_due).total_seconds() if next_due is not None else None
    return SafetyHealth(
        status="degraded" if stuck else "healthy",
        at=now,
        store=StoreState(ok=True, backend=store.backend),
        scheduler=SchedulerState(
            running=scheduler.running,
            last_pass_at=scheduler.last_pass_at,
            lag_s=scheduler.lag_s,
            next_due_at=next_due,
            overdue_s=max(0.0, overdue) if overdue is not None else None,
        ),
        stuck_runs=StuckRuns(count=len(stuck), run_ids=[r["run_id"] for r in stuck[:50]]),
        executors={
            "local": {"running": len(scheduler.launcher.local.running())},
            "celery": {"available": False},
        },
        last_sweep=LastSweep(
            at=sweeper.last_sweep_at,
            marked=[m.run_id for m in sweeper.last_marked],
            stale_after_s=sweeper.stale_after_s,
        ),
    )
