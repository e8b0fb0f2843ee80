"""Reading history files (JSON lines or CSV) into events, with the line each came from.

A record is either an event (it has an `event` field: the fields of POST /api/v1/events) or a
whole run (it has a `status` field and the run's times), which becomes the events that make it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from jobdeck.domain import LATEST_FIELDS, MAX_FIELDS, EventKind, Status, normalize_status
from jobdeck.events import (
    WIRE_EVENT,
    Event,
    RunState,
    event_from_wire,
    event_time,
    trusted_event,
    without_nul,
)

_JSON_COLUMNS = frozenset({"args", "kwargs", "result", "labels"})
_RUN_ONLY = frozenset({"status", "created_at", "started_at", "finished_at", "duration_s"})
_KIND = {kind.value: kind for kind in EventKind}
_LATEST = frozenset(LATEST_FIELDS)
_MAX = frozenset((*MAX_FIELDS, "attempt"))
_OUTCOME = {
    Status.SUCCEEDED: "succeeded",
    Status.FAILED: "failed",
    Status.CANCELLED: "cancelled",
    Status.LOST: "lost",
}


class BadRecord(ValueError):
    """A record that cannot be imported, with the line it is on."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(line, message)  # both in args, so it pickles (from an import worker)
        self.line, self.message = line, message

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Record:
    """One record of the file: where it starts and its fields."""

    line: int
    fields: dict[str, Any]
    size: int  # bytes it took in the file, for progress


@dataclass(frozen=True, slots=True)
class Chunk:
    """Consecutive records of a file, not parsed yet: what one batch is made of. JSON lines come as
    (line, text); CSV rows, split by the csv module (a quoted cell may hold a newline), as (line,
    cells) with the header."""

    items: list[tuple[int, Any]]
    size: int  # bytes, for progress
    header: list[str] | None = None

    def records(self) -> Iterator[Record]:
        if self.header is None:
            for number, text in self.items:
                record = _json_record(number, text)
                if record is not None:
                    yield record
        else:
            for number, cells in self.items:
                yield _csv_record(self.header, number, cells)


def read_chunks(path: Path, stream: IO[str], records: int) -> Iterator[Chunk]:
    """The file in chunks of `records` records (JSON lines unless the name ends in .csv)."""
    if path.suffix.lower() != ".csv":
        items: list[tuple[int, Any]] = []
        size = 0
        for number, line in enumerate(stream, start=1):
            items.append((number, line))
            size += len(line)
            if len(items) >= records:
                yield Chunk(items, size)
                items, size = [], 0
        if items:
            yield Chunk(items, size)
        return
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None:
        return
    rows: list[tuple[int, Any]] = []
    size = 0
    ended = reader.line_num  # the line the previous row ended on
    for cells in reader:
        rows.append((ended + 1, cells))
        size += sum(map(len, cells)) + len(cells)
        ended = reader.line_num
        if len(rows) >= records:
            yield Chunk(rows, size, header)
            rows, size = [], 0
    if rows:
        yield Chunk(rows, size, header)


def _json_record(number: int, line: str) -> Record | None:
    if not line.strip():
        return None
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadRecord(number, f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadRecord(number, "each line must be a JSON object")
    if "\\u0000" in line:  # NUL characters are stored as U+FFFD, as over HTTP
        value = without_nul(value)
    return Record(number, value, len(line.encode()))


def _csv_record(header: list[str], line: int, cells: list[str]) -> Record:
    if len(cells) > len(header):
        raise BadRecord(line, "more cells than the header has columns")
    fields: dict[str, Any] = {}
    for name, text in zip(header, cells, strict=False):
        if text == "":
            continue
        if name in _JSON_COLUMNS:
            try:
                fields[name] = json.loads(text)
            except json.JSONDecodeError:
                raise BadRecord(line, f"column {name!r} must hold JSON") from None
        else:
            fields[name] = text
    if "\x00" in "".join(cells):
        fields = without_nul(fields)
    return Record(line, fields, sum(map(len, cells)) + len(cells))


def events_of(record: Record, now: datetime) -> list[Event]:
    """The events a record stands for; raise BadRecord when it is not valid."""
    if "event" in record.fields:
        return [_event(record.line, record.fields, now)]
    if "status" in record.fields:
        return _run_events(record)
    raise BadRecord(record.line, "a record needs an 'event' field (an event) or a 'status' field (a run)")


def _event(line: int, fields: dict[str, Any], now: datetime) -> Event:
    try:
        return event_from_wire(WIRE_EVENT.validate_python(fields), now)
    except ValidationError as exc:
        raise BadRecord(line, _problem(exc)) from None
    except ValueError as exc:  # an event time out of range
        raise BadRecord(line, f"field 'at': {exc}") from None


def _problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "record"
    return f"field '{where}': {first['msg']}"


def _time(line: int, fields: dict[str, Any], name: str) -> datetime | None:
    value = fields.get(name)
    if value is None:
        return None
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise BadRecord(line, f"field '{name}': not an ISO 8601 time: {value!r}") from None
    if at.tzinfo is None:
        raise BadRecord(line, f"field '{name}': needs a timezone offset, e.g. 2026-01-01T00:00:00Z")
    return at


def _run_steps(record: Record) -> tuple[list[tuple[str, datetime]], dict[str, Any]]:
    """A whole run's (event kind, time) steps — enqueued, started, outcome — and its other fields."""
    line, fields = record.line, record.fields
    try:
        status = normalize_status(str(fields["status"]))
    except ValueError as exc:
        raise BadRecord(line, f"field 'status': {exc}") from None
    created = _time(line, fields, "created_at")
    started = _time(line, fields, "started_at")
    finished = _time(line, fields, "finished_at")
    if finished is None and started is not None and fields.get("duration_s") not in (None, ""):
        try:
            finished = started + timedelta(seconds=float(fields["duration_s"]))
        except ValueError:
            raise BadRecord(line, "field 'duration_s': not a number") from None
    first = created or started or finished
    if first is None:
        raise BadRecord(line, "a run needs at least one of created_at, started_at, finished_at")
    data = {k: v for k, v in fields.items() if k not in _RUN_ONLY}
    steps: list[tuple[str, datetime]] = []
    if created is not None:
        steps.append(("enqueued", created))
    if started is not None:
        steps.append(("started", started))
    if status in _OUTCOME:
        steps.append((_OUTCOME[status], finished or started or first))
    elif status is Status.RUNNING and started is None:
        steps.append(("started", first))
    elif status is Status.RETRYING:
        steps.append(("retrying", finished or started or first))
    if not steps:
        steps.append(("enqueued", first))
    return steps, data


def _run_events(record: Record) -> list[Event]:
    """A whole run as its enqueued / started / outcome events."""
    steps, data = _run_steps(record)
    line = record.line
    # The first event carries the run's fields and is validated whole; the others name only the
    # run, which the first one has just validated, and a time parsed above. (A record's events
    # are recorded in one batch, so the run's job always comes with them.)
    (first_kind, first_at), *rest = steps
    head = _event(line, {**data, "event": first_kind, "at": first_at}, first_at)
    try:
        return [head, *(trusted_event(head.run_id, _KIND[kind], at, {}) for kind, at in rest)]
    except ValueError as exc:
        raise BadRecord(line, f"a run time: {exc}") from None


def run_of(record: Record) -> tuple[RunState, int]:
    """A whole run's record folded straight into a run, without making its events: what folding
    `events_of(record)` gives (a property test holds it to that), and how many events it stands
    for. An import of history spends most of its time per run; this saves a fifth of it."""
    steps, data = _run_steps(record)
    line = record.line
    (first_kind, first_at), *_ = steps
    try:
        head = WIRE_EVENT.validate_python({**data, "event": first_kind, "at": first_at})
    except ValidationError as exc:
        raise BadRecord(line, _problem(exc)) from None
    state = RunState(head.pop("run_id"))
    try:
        times = [(_KIND[kind], *event_time(_KIND[kind], at)) for kind, at in steps]
    except ValueError as exc:
        raise BadRecord(line, f"a run time: {exc}") from None
    key = times[0][2]
    fields, keys = state.fields, state.keys
    for name, value in head.items():
        if value is None or name in ("event", "at"):
            continue
        if name in _LATEST:
            fields[name] = value
            keys[name] = key
        elif name in _MAX:
            fields[name] = value
        elif name == "labels" and value:
            fields["labels"] = dict(value)
            state.label_keys = dict.fromkeys(value, key)
    state.top_key = max(step_key for _, _, step_key in times)
    enqueued = [at for kind, at, _ in times if kind is EventKind.ENQUEUED]
    state.created_at = min(enqueued) if enqueued else min(at for _, at, _ in times)
    state.created_by_enqueue = bool(enqueued)
    state.starts = sorted({at for kind, at, _ in times if kind is EventKind.STARTED})
    state.heartbeat_at = state.starts[-1] if state.starts else None
    return state, len(steps)
