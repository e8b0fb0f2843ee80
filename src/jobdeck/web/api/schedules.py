"""Schedules: create, read, change, delete, their next times, what is due, and run now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, BaseModel, ValidationError

from jobdeck.auth.principal import principal_of
from jobdeck.auth.roles import Need, allows
from jobdeck.config import Settings
from jobdeck.control import ControlPlane
from jobdeck.executors import Refused
from jobdeck.executors.local import LocalExecutor
from jobdeck.recorder import Recorder
from jobdeck.scheduler import book, prediction
from jobdeck.scheduler.launch import Launcher, runs_in
from jobdeck.scheduler.loop import Scheduler
from jobdeck.scheduler.safety import Sweeper
from jobdeck.scheduler.spec import ScheduleSpec
from jobdeck.scheduler.triggers import TriggerError
from jobdeck.store import Store, reports
from jobdeck.store import schedules as rows
from jobdeck.web.deps import StoreDep

router = APIRouter(prefix="/api/v1", tags=["schedules"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such schedule"}}
MAX_NEXT = 1000
USUAL_OVER = timedelta(days=7)  # the runs a job's expected duration comes from


class LastRun(BaseModel):
    run_id: str
    status: str
    at: AwareDatetime


class ScheduleOut(ScheduleSpec):
    """A stored schedule: what was given, with its id, next time and how often it has fired."""

    id: str
    next_run_at: AwareDatetime | None
    executions: int
    created_at: AwareDatetime
    updated_at: AwareDatetime
    last_run: LastRun | None = None


class ScheduleList(BaseModel):
    schedules: list[ScheduleOut]


class NextTimes(BaseModel):
    schedule_id: str
    next: list[AwareDatetime]


class Fired(BaseModel):
    schedule_id: str
    run_id: str
    firing_id: int
    scheduled_at: AwareDatetime


def get_scheduler(request: Request) -> Scheduler:
    scheduler: Scheduler = request.app.state.scheduler
    return scheduler


def out(row: dict[str, Any], last: dict[str, Any] | None = None) -> ScheduleOut:
    """A stored row as the API shows it."""
    last_run = None
    if last is not None:
        last_run = LastRun(run_id=last["run_id"], status=last["status"], at=last["run_at"])
    return ScheduleOut.model_validate(
        {
            **row["definition"],
            "id": row["id"],
            "next_run_at": row["next_run_at"],
            "executions": row["executions"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "last_run": last_run,
        }
    )


def invalid(field: str, message: str, value: Any = None) -> RequestValidationError:
    """A 422 naming the field, shaped like FastAPI's own."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", field), "msg": message, "input": value}]
    )


def checked(spec: ScheduleSpec) -> ScheduleSpec:
    try:
        book.check(spec)
    except TriggerError as exc:
        raise invalid(exc.field, exc.message, getattr(spec, exc.field, None)) from None
    return spec


def _one(store: Store, schedule_id: str) -> ScheduleOut:
    with store.read() as conn:
        row = rows.get(conn, schedule_id)
        if row is None:
            raise HTTPException(404, f"no schedule with id {schedule_id!r}")
        last = rows.last_runs(conn, [schedule_id]).get(schedule_id)
    return out(row, last)


def _changed(request: Request) -> None:
    scheduler: Scheduler | None = getattr(request.app.state, "scheduler", None)
    if scheduler is not None:
        scheduler.wake()


@router.post("/schedules", status_code=201, response_model=ScheduleOut)
def create_schedule(request: Request, store: StoreDep, spec: ScheduleSpec) -> ScheduleOut:
    """Store a schedule; answers it with its `id` and `next_run_at`. Bad input: 422 naming the field."""
    row = book.create(store, checked(spec))
    _changed(request)
    return out(row)


@router.get("/schedules", response_model=ScheduleList)
def list_schedules(store: StoreDep) -> ScheduleList:
    """Every schedule, by name, with its next time and last run."""
    with store.read() as conn:
        found = rows.list_all(conn)
        last = rows.last_runs(conn, [r["id"] for r in found])
    return ScheduleList(schedules=[out(r, last.get(r["id"])) for r in found])


@router.get("/schedules/due", response_model=ScheduleList)
def due_schedules(store: StoreDep) -> ScheduleList:
    """Active schedules due now or overdue, the most overdue first."""
    now = datetime.now(UTC)
    with store.read() as conn:
        found = [
            r for r in rows.list_all(conn) if not r["paused"] and r["next_run_at"] and r["next_run_at"] <= now
        ]
        last = rows.last_runs(conn, [r["id"] for r in found])
    found.sort(key=lambda r: r["next_run_at"])
    return ScheduleList(schedules=[out(r, last.get(r["id"])) for r in found])


@router.get("/schedules/{schedule_id}", responses=NOT_FOUND, response_model=ScheduleOut)
def get_schedule(store: StoreDep, schedule_id: str) -> ScheduleOut:
    """One schedule."""
    return _one(store, schedule_id)


@router.put("/schedules/{schedule_id}", responses=NOT_FOUND, response_model=ScheduleOut)
def replace_schedule(request: Request, store: StoreDep, schedule_id: str, spec: ScheduleSpec) -> ScheduleOut:
    """Replace a schedule's definition; it is timed again from now."""
    if book.replace(store, schedule_id, checked(spec)) is None:
        raise HTTPException(404, f"no schedule with id {schedule_id!r}")
    _changed(request)
    return _one(store, schedule_id)


# What an operator may change in a PATCH: whether the schedule is paused.
OPERATOR_FIELDS = frozenset({"paused"})


@router.patch("/schedules/{schedule_id}", responses=NOT_FOUND, response_model=ScheduleOut)
def change_schedule(
    request: Request, store: StoreDep, schedule_id: str, patch: Annotated[dict[str, Any], Body()]
) -> ScheduleOut:
    """Change some fields (e.g. {"paused": true} to pause, false to resume); the rest stay.

    An operator may pause and resume; changing what runs or when needs an admin (403 naming the
    fields), as creating and replacing a schedule does."""
    principal = principal_of(request)
    if principal is not None and not allows(principal.role, Need.ADMIN):
        beyond = sorted(set(patch) - OPERATOR_FIELDS)
        if beyond:
            named = ", ".join(f"'{field}'" for field in beyond)
            raise HTTPException(
                403,
                f"{principal.role.value} may only pause or resume a schedule; changing {named} needs admin",
            )
    old = book.get(store, schedule_id)
    if old is None:
        raise HTTPException(404, f"no schedule with id {schedule_id!r}")
    try:
        spec = ScheduleSpec.model_validate(book.merged(old["definition"], patch))
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None
    book.replace(store, schedule_id, checked(spec))
    _changed(request)
    return _one(store, schedule_id)


@router.delete("/schedules/{schedule_id}", status_code=204, responses=NOT_FOUND)
def delete_schedule(request: Request, store: StoreDep, schedule_id: str) -> Response:
    """Delete a schedule and its firing history (its runs stay)."""
    if not book.remove(store, schedule_id):
        raise HTTPException(404, f"no schedule with id {schedule_id!r}")
    _changed(request)
    return Response(status_code=204)


@router.get("/schedules/{schedule_id}/next", responses=NOT_FOUND, response_model=NextTimes)
def next_times(
    store: StoreDep, schedule_id: str, count: Annotated[int, Query(ge=1, le=MAX_NEXT)] = 10
) -> NextTimes:
    """The next `count` fire times (UTC, ISO 8601); none for a paused or finished schedule."""
    row = book.get(store, schedule_id)
    if row is None:
        raise HTTPException(404, f"no schedule with id {schedule_id!r}")
    spec = ScheduleSpec.model_validate(row["definition"])
    trigger = spec.trigger(row["created_at"])
    first = row["next_run_at"]
    times: list[datetime] = []
    if trigger is not None and first is not None:
        times = [first, *trigger.upcoming(first, count - 1, row["executions"] + 1)]
    return NextTimes(schedule_id=schedule_id, next=times)


@router.post(
    "/schedules/{schedule_id}/run",
    status_code=202,
    responses={**NOT_FOUND, 422: {"description": "Its target cannot be started here"}},
    response_model=Fired,
)
def run_now(request: Request, schedule_id: str) -> Fired:
    """Fire the schedule now, whatever its times, pause and overlap policy; answers the new run."""
    try:
        fired = get_scheduler(request).fire_now(schedule_id)
    except Refused as exc:
        raise HTTPException(422, f"schedule {schedule_id} cannot run: {exc}") from None
    if fired is None:
        raise HTTPException(404, f"no schedule with id {schedule_id!r}")
    return Fired(
        schedule_id=schedule_id, run_id=fired.run_id, firing_id=fired.firing_id, scheduled_at=fired.at
    )


def install(
    app: FastAPI, store: Store, settings: Settings, recorder: Recorder, control: ControlPlane
) -> Scheduler:
    """Give the app its scheduler and safety sweep (create_app runs the loop while the app serves
    when settings.scheduler is on; "run now" and cleanup work either way). Runs of command and Python
    targets start through the control plane's local executor, so they can be stopped from the pages."""
    sweeper = Sweeper(
        store,
        recorder,
        stale_after_s=settings.stale_after_s,
        stale_after_by_job=settings.stale_after_by_job,
    )
    from jobdeck.integrations.celery.executor import CeleryExecutor  # no Celery import: only its type

    local, celery = control.executors.get("local"), control.executors.get("celery")
    launcher = Launcher(
        recorder.record,
        local if isinstance(local, LocalExecutor) else None,
        celery=celery if isinstance(celery, CeleryExecutor) else None,
        run_of=runs_in(store),
    )
    scheduler = Scheduler(store, recorder, launcher, sweep=sweeper)
    app.state.scheduler, app.state.sweeper = scheduler, sweeper
    return scheduler


class PredictedFiring(BaseModel):
    schedule_id: str
    name: str
    job: str
    at: AwareDatetime
    p50_s: float
    p95_s: float
    estimated: bool


class PredictedSide(BaseModel):
    schedule_id: str
    name: str
    at: AwareDatetime


class PredictedOverlap(BaseModel):
    a: PredictedSide
    b: PredictedSide
    start: AwareDatetime
    end: AwareDatetime
    seconds: float


class StaggerMove(BaseModel):
    schedule_id: str
    name: str
    cron: str
    suggested_cron: str
    shift_minutes: int


class Predicted(BaseModel):
    since: AwareDatetime
    until: AwareDatetime
    firings: list[PredictedFiring]
    overlaps: list[PredictedOverlap]
    suggested_stagger: list[StaggerMove]
    overlaps_after_stagger: int


def plans_of(store: Store, now: datetime) -> list[prediction.Planned]:
    """Every active schedule with times, with its job's p50/p95 over the last week."""
    with store.read() as conn:
        found = [r for r in rows.list_all(conn) if not r["paused"] and r["next_run_at"] is not None]
        durations = prediction.durations_of(reports.job_summaries(conn, now - USUAL_OVER, now))
    plans = []
    for row in found:
        spec = ScheduleSpec.model_validate(row["definition"])
        trigger = spec.trigger(row["created_at"])
        if trigger is None:
            continue
        p50, p95 = durations.get(row["job"], (None, None))
        plans.append(
            prediction.Planned(
                row["id"],
                row["name"],
                row["job"],
                trigger,
                max(row["next_run_at"], now),
                row["executions"],
                p50,
                p95,
            )
        )
    return plans


@router.get("/overlaps/predicted", response_model=Predicted, tags=["overlaps"])
def predicted_overlaps(
    store: StoreDep, hours: Annotated[float, Query(gt=0, le=24 * 7, description="How far ahead")] = 24
) -> Predicted:
    """The firings of the next `hours` with expected durations (p50/p95), the overlaps they will make,
    and a suggested stagger: new minutes for cron schedules that remove those overlaps."""
    now = datetime.now(UTC)
    until = now + timedelta(hours=hours)
    plans = plans_of(store, now)
    names = {p.schedule_id: p for p in plans}
    ahead = [f for p in plans for f in prediction.firings(p, until)]
    pairs = prediction.overlaps(ahead)
    moves, after = prediction.stagger(plans, now, until)
    remaining = len(prediction.overlaps([f for p in after for f in prediction.firings(p, until)]))

    def side(f: prediction.Firing) -> PredictedSide:
        return PredictedSide(schedule_id=f.schedule_id, name=names[f.schedule_id].name, at=f.at)

    return Predicted(
        since=now,
        until=until,
        firings=[
            PredictedFiring(
                schedule_id=f.schedule_id,
                name=names[f.schedule_id].name,
                job=names[f.schedule_id].job,
                at=f.at,
                p50_s=f.p50_s,
                p95_s=f.p95_s,
                estimated=f.estimated,
            )
            for f in ahead
        ],
        overlaps=[
            PredictedOverlap(
                a=side(a),
                b=side(b),
                start=datetime.fromtimestamp(start, UTC),
                end=datetime.fromtimestamp(end, UTC),
                seconds=round(end - start, 3),
            )
            for a, b, start, end in pairs
        ],
        suggested_stagger=[
            StaggerMove(
                schedule_id=m.schedule_id,
                name=names[m.schedule_id].name,
                cron=m.cron,
                suggested_cron=m.suggested_cron,
                shift_minutes=m.shift_minutes,
            )
            for m in moves
        ],
        overlaps_after_stagger=remaining,
    )
