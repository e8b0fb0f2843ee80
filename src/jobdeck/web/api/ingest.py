"""POST /api/v1/events: the HTTP way in for events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import TypeAdapter, ValidationError

from jobdeck.events import Event, EventIn
from jobdeck.recorder import MissingJob
from jobdeck.web.deps import RecorderDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["ingest"])
_event_adapter = TypeAdapter(EventIn)


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


def _describe(error: ValidationError, index: int) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "event"
    more = len(error.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"event {index}: field '{field}': {first['msg']}{suffix}"


def parse_events(payload: Any, max_events: int, now: datetime) -> list[Event]:
    """Validate one event object or a list of them; any invalid event rejects the whole batch (422)."""
    items = [payload] if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise HTTPException(422, "body must be an event object or a JSON list of event objects")
    if len(items) > max_events:
        raise HTTPException(413, f"a batch holds at most {max_events} events; this one has {len(items)}")
    parsed = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise HTTPException(422, f"event {index}: must be a JSON object")
        try:
            parsed.append(_event_adapter.validate_python(item).to_event(now))
        except ValidationError as exc:
            raise HTTPException(422, _describe(exc, index)) from None
    return parsed


def decode_events(body: bytes, max_events: int) -> list[Event]:
    """Parse a request body into validated events (422/413 on bad input)."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HTTPException(422, f"body is not valid JSON: {exc}") from None
    return parse_events(payload, max_events, datetime.now(UTC))


@router.post("/events", status_code=202, summary="Record one event or a batch of events")
async def post_events(request: Request, recorder: RecorderDep, settings: SettingsDep) -> dict[str, int]:
    """Record events; the batch is stored whole or, if any event is invalid, not at all."""
    body = await read_body(request, settings.max_request_bytes)
    # Decoding and validating a large batch takes a while: off the event loop, like the write.
    events = await run_in_threadpool(decode_events, body, settings.max_batch_events)
    try:
        await run_in_threadpool(recorder.record, events)
    except MissingJob as exc:
        index = next(i for i, e in enumerate(events) if e.run_id == exc.run_id)
        raise HTTPException(422, f"event {index}: field 'job': {exc}") from None
    return {"accepted": len(events)}
