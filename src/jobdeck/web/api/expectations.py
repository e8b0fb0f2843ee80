"""Expectations declared on their own, without a run: `POST /api/v1/expectations` (what a Celery app's
beat schedule declares through the SDK, see integrations/celery/beat.py) and `GET /api/v1/expectations`
(every job's declared expectation, as the lateness alerts read it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from jobdeck.alerts import expectations
from jobdeck.store import alerts as store_alerts
from jobdeck.web.deps import StoreDep

router = APIRouter(prefix="/api/v1", tags=["alerts"])

Duration = Annotated[str, Field(max_length=32)] | Annotated[float, Field(ge=0)] | None


class Declared(BaseModel):
    """One job's expectation, as a `@track(...)` or an event would declare it."""

    model_config = ConfigDict(extra="forbid")

    job: Annotated[str, Field(min_length=1, max_length=200)]
    schedule: Annotated[str, Field(max_length=100)] | None = Field(
        default=None, description='A cron expression, a nickname (@daily) or "every <duration>"'
    )
    timezone: Annotated[str, Field(max_length=64)] | None = None
    grace: Duration = None
    max_runtime: Duration = None


class Declarations(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expectations: list[Declared] = Field(max_length=1000)
    source: Annotated[str, Field(min_length=1, max_length=32)] = Field(
        default="api", description='Who declares them (the Celery integration says "celery-beat")'
    )


class DeclaredJobs(BaseModel):
    declared: list[str]


class Expectation(BaseModel):
    job: str
    schedule: str | None
    timezone: str | None
    interval_s: float | None
    grace_s: float
    max_runtime_s: float | None
    resolve_after: int | None = None
    source: str | None
    updated_at: datetime


class Expectations(BaseModel):
    expectations: list[Expectation]


def rows_of(body: Declarations, now: datetime) -> list[dict[str, Any]]:
    """Each declaration as the row it makes; a 422 naming the field of the first bad one."""
    rows = []
    for index, declared in enumerate(body.expectations):
        fields = declared.model_dump(exclude={"job"}, exclude_none=True)
        try:
            rows.append(expectations.declaration(fields, declared.job, body.source, now))
        except expectations.BadExpectation as exc:
            loc = ("body", "expectations", index, exc.field)
            raise RequestValidationError(
                [{"type": "value_error", "loc": loc, "msg": str(exc), "input": fields.get(exc.field)}]
            ) from None
    return rows


@router.post(
    "/expectations",
    response_model=DeclaredJobs,
    summary="Declare jobs' expectations (schedule, timezone, grace, max runtime) without a run",
)
async def declare(body: Declarations, store: StoreDep) -> dict[str, list[str]]:
    """Create or replace each job's expectation (the latest declaration wins); nothing is stored when
    one is bad."""
    rows = rows_of(body, datetime.now(UTC))

    def write() -> None:
        with store.write() as conn:
            for row in rows:
                store_alerts.set_expectation(conn, row)

    await run_in_threadpool(write)
    return {"declared": [row["job"] for row in rows]}


@router.get("/expectations", response_model=Expectations, summary="Every job's declared expectation")
def listed(store: StoreDep) -> dict[str, list[dict[str, Any]]]:
    with store.read() as conn:
        found = store_alerts.expectations(conn)
    return {"expectations": [found[job] for job in sorted(found)]}
