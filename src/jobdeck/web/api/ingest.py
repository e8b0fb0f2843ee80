"""POST /api/v1/events: the HTTP way in for events."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from jobdeck import gcpause
from jobdeck.alerts import expectations
from jobdeck.auth import sealed
from jobdeck.auth.masking import mask_events
from jobdeck.config import Settings
from jobdeck.events import WIRE_BATCH, WIRE_EVENT, Event, event_from_wire, without_nul
from jobdeck.executors.local import LocalExecutor
from jobdeck.recorder import MissingJob, Recorder
from jobdeck.store import alerts as store_alerts
from jobdeck.web.api.models import Accepted, events_request_body

router = APIRouter(prefix="/api/v1", tags=["ingest"])


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 once it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body is larger than the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"request body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def check_json(content_type: str | None) -> None:
    """415 unless the body is declared JSON: a web page can post text/plain or a form to any site
    without asking, but not JSON, so this keeps other sites from inventing runs."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise HTTPException(
            415, f"events are JSON: send Content-Type: application/json (got {media or 'none'!r})"
        )


def _describe(error: ValidationError, single: bool) -> HTTPException:
    """The 422 for the first problem of a batch, naming the event's index and field."""
    problems = error.errors(include_url=False)
    first = problems[0]
    if first["type"] == "json_invalid":
        return HTTPException(
            422, f"body is not valid JSON: {first.get('ctx', {}).get('error', first['msg'])}"
        )
    where = first["loc"] if single else first["loc"][1:]
    index = 0 if single else first["loc"][0]
    if not where:
        return HTTPException(422, f"event {index}: must be a JSON object")
    field = ".".join(str(part) for part in where)
    more = len(problems) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return HTTPException(422, f"event {index}: field '{field}': {first['msg']}{suffix}")


class Decoded(NamedTuple):
    """A batch's events, and the expectations its events declared (alerts.expectations) by job."""

    events: list[Event]
    expectations: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class TimeBounds:
    """The event times a server accepts: from `earliest`, up to `ahead` past its clock."""

    earliest: datetime
    ahead: timedelta

    @classmethod
    def of(cls, settings: Settings) -> TimeBounds:
        return cls(settings.earliest_event_at, timedelta(seconds=settings.max_event_ahead_s))


def _events(
    items: list[dict[str, Any]], max_events: int, now: datetime, bounds: TimeBounds | None
) -> Decoded:
    if len(items) > max_events:
        raise HTTPException(413, f"a batch holds at most {max_events} events; this one has {len(items)}")
    events, declared = [], {}
    for index, fields in enumerate(items):
        if not _EXPECTATION_FIELDS.isdisjoint(fields):
            declared.update(_declared(index, fields, now))
        try:
            events.append(event_from_wire(fields, now))
        except ValueError as exc:  # only an event time out of range gets this far
            raise HTTPException(422, f"event {index}: field 'at': {exc}") from None
    if bounds is not None:
        latest = now + bounds.ahead
        for index, event in enumerate(events):
            if not bounds.earliest <= event.at <= latest:
                raise HTTPException(
                    422,
                    f"event {index}: field 'at': {event.at.isoformat()} is outside the times this server "
                    f"accepts ({bounds.earliest.isoformat()} to {bounds.ahead} past its clock)",
                )
    return Decoded(events, declared)


_EXPECTATION_FIELDS = frozenset(expectations.FIELDS)


def _declared(index: int, fields: dict[str, Any], now: datetime) -> dict[str, dict[str, Any]]:
    """Take the expectation fields off an event: its job's declared expectation (422 when bad)."""
    values = {name: fields.pop(name) for name in expectations.FIELDS if name in fields}
    if not fields.get("job"):
        raise HTTPException(
            422, f"event {index}: field 'job': an event that declares a schedule names its job"
        )
    try:
        return {fields["job"]: expectations.declaration(values, fields["job"], "event", now)}
    except expectations.BadExpectation as exc:
        raise HTTPException(422, f"event {index}: field '{exc.field}': {exc}") from None


def decode_events(body: bytes, max_events: int, bounds: TimeBounds | None = None) -> Decoded:
    """Parse and validate a request body in one pass (422/413 on bad input); with `bounds`, event
    times outside them are refused too."""
    with gcpause.paused():
        return _decode_events(body, max_events, datetime.now(UTC), bounds)


def _decode_events(body: bytes, max_events: int, now: datetime, bounds: TimeBounds | None) -> Decoded:
    start = body.lstrip()[:1]
    if start not in (b"[", b"{"):
        try:
            json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise HTTPException(422, f"body is not valid JSON: {exc}") from None
        raise HTTPException(422, "body must be an event object or a JSON list of event objects")
    single = start == b"{"
    try:
        # Strict: numbers must be JSON numbers ("1" and true are not a priority), times ISO 8601
        # strings (1 is not a time), as docs/events.md lists.
        if single:
            items = [WIRE_EVENT.validate_json(body, strict=True)]
        else:
            items = WIRE_BATCH.validate_json(body, strict=True)
    except ValidationError as exc:
        raise _describe(exc, single) from None
    if b"\\u0000" in body:  # JSON can carry a NUL only escaped; the rare batch that does is walked
        items = without_nul(items)
    return _events(items, max_events, now, bounds)


def running_here(request: Request) -> frozenset[str]:
    """The run ids of the commands this server's own executor is running now (auth/sealed.py)."""
    control = getattr(request.app.state, "control", None)
    executor = control.executors.get("local") if control is not None else None
    if not isinstance(executor, LocalExecutor):
        return frozenset()
    return frozenset(process.run_id for process in executor.running())


@router.post(
    "/events",
    status_code=202,
    response_model=Accepted,
    responses={
        409: {"description": "An event would change a field the run's executor sealed"},
        415: {"description": "The body is not declared as JSON"},
    },
    summary="Record one event or a batch of events",
    openapi_extra=events_request_body(),
)
async def post_events(request: Request) -> dict[str, int]:
    """Record events; the batch is stored whole or, if any event is invalid, not at all."""
    # The recorder and settings straight from the app, not as dependencies: each costs FastAPI's
    # dependency machinery, and one event a request pays for it as much as for its write.
    recorder: Recorder = request.app.state.recorder
    settings: Settings = request.app.state.settings
    check_json(request.headers.get("content-type"))
    body = await read_body(request, settings.max_request_bytes)
    bounds = TimeBounds.of(settings)
    # Decoding and validating a large batch takes a while: off the event loop, like the write, in
    # one trip to a worker thread (each trip costs two thread wake-ups: one event a request pays
    # for them as much as for its write).
    accepted = await run_in_threadpool(
        record_body, recorder, body, settings.max_batch_events, bounds, running_here(request)
    )
    return {"accepted": accepted}


def record_body(
    recorder: Recorder, body: bytes, max_events: int, bounds: TimeBounds, running: frozenset[str]
) -> int:
    """Decode, check and record a request body (HTTPException for what the sender got wrong); the
    number of events accepted."""
    events, declared = decode_events(body, max_events, bounds)
    events = mask_events(events, recorder.mask_keys)  # as the recorder will; see auth/masking.py
    try:
        sealed.check_running(events, running)
        # Sealed fields are checked on the runs the recorder loads for its write: no read of
        # their own, and no other writer can change them between the check and the write.
        recorder.record(events, check=functools.partial(sealed.check_stored, events))
    except sealed.SealBroken as exc:
        raise HTTPException(409, str(exc)) from None
    except MissingJob as exc:
        index = next(i for i, e in enumerate(events) if e.run_id == exc.run_id)
        raise HTTPException(422, f"event {index}: field 'job': {exc}") from None
    if declared:
        _declare(recorder, declared)
    return len(events)


def _declare(recorder: Recorder, declared: dict[str, dict[str, Any]]) -> None:
    """Create or update the jobs' expectations (the latest declaration of each job wins)."""
    with recorder.store.write() as conn:
        for row in declared.values():
            store_alerts.set_expectation(conn, row)
