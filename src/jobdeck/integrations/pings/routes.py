"""`GET|POST /ping/{job}` and `/ping/{job}/{start|fail|log|exit_code}`: pings recorded as runs.

A ping answers "OK" as text, like Healthchecks. An unknown job is never a 404: its first ping creates
it. `?rid=` pairs a start with its end (concurrent runs of one job); without it an end pairs with the
job's latest open start, and an end with no open start is a run of zero duration. `?schedule=`
(a cron expression or an interval in seconds, with `?tz=` and `?grace=`) declares the job's
expectation for the lateness alerts; a job that declares none has its interval learned from its
starts (alerts/intervals.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from jobdeck.alerts import expectations
from jobdeck.integrations.pings import signals
from jobdeck.integrations.pings.signals import BadPing, Ping
from jobdeck.recorder import Recorder
from jobdeck.store import alerts as store_alerts
from jobdeck.store.runs import get_run, list_runs
from jobdeck.web.deps import RecorderDep, SettingsDep

router = APIRouter(tags=["pings"])
OPEN_RUNS_LOOKED_AT = 50

RidQuery = Annotated[
    str | None, Query(description="Pairs a start with its end when runs of the job overlap", max_length=200)
]
ScheduleQuery = Annotated[
    str | None,
    Query(
        description="The job's expected schedule: a cron expression, or an interval in seconds",
        max_length=100,
    ),
]
TzQuery = Annotated[
    str | None, Query(description="The schedule's time zone, e.g. Europe/Berlin", max_length=64)
]
GraceQuery = Annotated[
    str | None,
    Query(description="How late a run may start before it counts as missed, e.g. 10m", max_length=32),
]
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {"example": "OK"}}, "description": "Recorded"},
    413: {"description": "The body is larger than the server takes (max_request_bytes)"},
}


async def _body(request: Request, limit: int) -> tuple[bytes, int]:
    """The first MAX_BODY_BYTES of the body and its whole size (413 beyond the server's limit)."""
    kept, total = bytearray(), 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise HTTPException(413, f"request body is larger than the limit of {limit} bytes")
        if len(kept) <= signals.MAX_BODY_BYTES:
            kept += chunk[: signals.MAX_BODY_BYTES + 1 - len(kept)]
    return bytes(kept), total


def _open_run(recorder: Recorder, ping: Ping) -> str | None:
    """The run this ping continues: its rid's run while that runs, else the job's latest open ping
    start (for an end or a log without rid); None when there is none."""
    with recorder.store.read() as conn:
        if ping.rid is not None:
            run = get_run(conn, signals.run_id_for(ping.job, ping.rid))
            return run["run_id"] if run is not None and run["status"] == "running" else None
        found, _ = list_runs(
            conn, job=ping.job, status=["running"], limit=OPEN_RUNS_LOOKED_AT, columns=("run_id", "source")
        )
    return next((run["run_id"] for run in found if run["source"] == signals.SOURCE), None)


def _record(
    recorder: Recorder, ping: Ping, output: str | None, remote: str | None, declared: dict[str, object] | None
) -> None:
    now = datetime.now(UTC)
    open_id = None if ping.kind is signals.PingKind.START else _open_run(recorder, ping)
    run_id = open_id if open_id is not None else signals.run_id_for(ping.job, ping.rid)
    recorder.record(signals.events_of(ping, run_id, open_id is not None, now, output, remote))
    if declared is not None:
        with recorder.store.write() as conn:
            store_alerts.set_expectation(conn, declared)


async def _ping(
    request: Request,
    recorder: Recorder,
    limit: int,
    job: str,
    action: str | None,
    rid: str | None,
    schedule: str | None,
    tz: str | None,
    grace: str | None,
) -> PlainTextResponse:
    try:
        ping = signals.parse(job, action, rid)
        fields = signals.schedule_fields(schedule, tz, grace)
        declared = expectations.declaration(fields, ping.job, signals.SOURCE) if fields else None
    except expectations.BadExpectation as exc:
        raise HTTPException(422, f"{exc.field}: {exc}") from None
    except BadPing as exc:
        raise HTTPException(422, str(exc)) from None
    output = None
    if request.method == "POST":
        body, total = await _body(request, limit)
        output = signals.output_of(body, total)
    remote = request.client.host if request.client is not None else None
    await run_in_threadpool(_record, recorder, ping, output, remote, declared)
    return PlainTextResponse("OK")


@router.get(
    "/ping/{job}", response_class=PlainTextResponse, responses=ANSWERS, summary="Ping: a run succeeded"
)
async def ping_get(
    request: Request,
    job: str,
    recorder: RecorderDep,
    settings: SettingsDep,
    rid: RidQuery = None,
    schedule: ScheduleQuery = None,
    tz: TzQuery = None,
    grace: GraceQuery = None,
) -> PlainTextResponse:
    """A run of `job` succeeded (it ends the job's open run, or is a run of zero duration)."""
    return await _ping(request, recorder, settings.max_request_bytes, job, None, rid, schedule, tz, grace)


@router.post(
    "/ping/{job}", response_class=PlainTextResponse, responses=ANSWERS, summary="Ping: a run succeeded"
)
async def ping_post(
    request: Request,
    job: str,
    recorder: RecorderDep,
    settings: SettingsDep,
    rid: RidQuery = None,
    schedule: ScheduleQuery = None,
    tz: TzQuery = None,
    grace: GraceQuery = None,
) -> PlainTextResponse:
    """A run of `job` succeeded; the body (up to 100 kB) is kept as its output."""
    return await _ping(request, recorder, settings.max_request_bytes, job, None, rid, schedule, tz, grace)


@router.get(
    "/ping/{job}/{action}",
    response_class=PlainTextResponse,
    responses=ANSWERS,
    summary="Ping: start, fail, log, exit code",
)
async def ping_action_get(
    request: Request,
    job: str,
    action: str,
    recorder: RecorderDep,
    settings: SettingsDep,
    rid: RidQuery = None,
    schedule: ScheduleQuery = None,
    tz: TzQuery = None,
    grace: GraceQuery = None,
) -> PlainTextResponse:
    """`start`, `fail`, `log`, or an exit code (0 succeeded, 1 to 255 failed) for a run of `job`."""
    return await _ping(request, recorder, settings.max_request_bytes, job, action, rid, schedule, tz, grace)


@router.post(
    "/ping/{job}/{action}",
    response_class=PlainTextResponse,
    responses=ANSWERS,
    summary="Ping: start, fail, log, exit code",
)
async def ping_action_post(
    request: Request,
    job: str,
    action: str,
    recorder: RecorderDep,
    settings: SettingsDep,
    rid: RidQuery = None,
    schedule: ScheduleQuery = None,
    tz: TzQuery = None,
    grace: GraceQuery = None,
) -> PlainTextResponse:
    """`start`, `fail`, `log`, or an exit code; the body (up to 100 kB) is kept as the run's output."""
    return await _ping(request, recorder, settings.max_request_bytes, job, action, rid, schedule, tz, grace)
