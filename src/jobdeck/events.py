"""Validating events and folding them into a run. Pure functions: no I/O.

The fold is order-tolerant and idempotent. Every event gets a total sort key
(rank, at, kind, content hash); a run is the left fold of its distinct events in
key order. So the same set of events gives the same run whatever order they
arrive in and however often: the recorder only has to fold new events on top of
a stored run when they all sort after it, and refold from the event log when not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, field_validator

from jobdeck.domain import (
    LATEST_FIELDS,
    MAX_FIELDS,
    RANK_OF_EVENT,
    STATUS_OF_EVENT,
    EventKind,
    Status,
)

MAX_JSON_FIELD_CHARS = 65_536
_KIND_ORDER = {kind: i for i, kind in enumerate(EventKind)}

ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Count = Annotated[int, Field(ge=0, le=2**53)]


class EventIn(BaseModel):
    """One event as a source sends it: the run it is about, what happened, when, and run fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: ShortText
    event: EventKind
    job: ShortText | None = None
    at: AwareDatetime | None = None
    queue: ShortText | None = None
    priority: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1)
    source: ShortText | None = None
    worker: ShortText | None = None
    host: ShortText | None = None
    pid: int | None = Field(default=None, ge=0, le=2**31 - 1)
    eta: AwareDatetime | None = None
    attempt: int | None = Field(default=None, ge=1, le=10_000)
    max_retries: int | None = Field(default=None, ge=0, le=10_000)
    parent_run_id: ShortText | None = None
    schedule_id: ShortText | None = None
    args: JsonValue = None
    kwargs: JsonValue = None
    result: JsonValue = None
    error_type: Annotated[str, Field(max_length=500)] | None = None
    error_message: Annotated[str, Field(max_length=10_000)] | None = None
    traceback: Annotated[str, Field(max_length=200_000)] | None = None
    items_succeeded: Count | None = None
    items_failed: Count | None = None
    items_skipped: Count | None = None
    cpu_s: float | None = Field(default=None, ge=0, le=1e9)
    max_rss_mb: float | None = Field(default=None, ge=0, le=1e9)
    labels: dict[Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=500)]] | None = Field(
        default=None, max_length=50
    )

    @field_validator("args", "kwargs", "result")
    @classmethod
    def _bounded_json(cls, value: JsonValue) -> JsonValue:
        if value is not None and len(json.dumps(value, default=str)) > MAX_JSON_FIELD_CHARS:
            raise ValueError(f"must serialise to at most {MAX_JSON_FIELD_CHARS} characters of JSON")
        return value

    def to_event(self, now: datetime | None = None) -> Event:
        """Return the internal event, stamped with `now` when the source gave no time."""
        data = self.model_dump(exclude_none=True, exclude={"run_id", "event", "at"}, mode="json")
        at = self.at or now or datetime.now(UTC)
        return make_event(self.run_id, self.event, at, data)


@dataclass(frozen=True, slots=True)
class Event:
    """A validated event; `key` orders it among the events of its run."""

    run_id: str
    kind: EventKind
    at: datetime
    data: Mapping[str, Any]
    key: str

    @property
    def rank(self) -> int:
        return RANK_OF_EVENT[self.kind]


def to_micros(at: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    delta = at - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# One encoder for every key: json.dumps with options builds a new encoder per call.
_KEY_ENCODER = json.JSONEncoder(sort_keys=True, default=str)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KINDS: dict[str, EventKind] = {**{k.value: k for k in EventKind}, **{k: k for k in EventKind}}


def make_event(run_id: str, kind: EventKind | str, at: datetime, data: Mapping[str, Any]) -> Event:
    """Build an event and its sort key; `at` must be timezone-aware."""
    if at.tzinfo is None:
        raise ValueError("event time must be timezone-aware")
    kind = _KINDS.get(kind) or EventKind(kind)
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    delta = at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    body = _KEY_ENCODER.encode([run_id, kind.value, micros, data])
    digest = hashlib.blake2b(body.encode(), digest_size=8).hexdigest()
    key = f"{RANK_OF_EVENT[kind]}{micros + 2**62:020d}{_KIND_ORDER[kind]:02d}{digest}"
    return Event(run_id=run_id, kind=kind, at=at, data=dict(data), key=key)


@dataclass
class RunState:
    """A run as folded so far. `fields` holds the carried run fields (queue, worker, error_*, …)."""

    run_id: str
    status: Status = Status.PENDING
    created_at: datetime | None = None
    created_by_enqueue: bool = False
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    starts: list[datetime] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    last_key: str = ""

    @property
    def job(self) -> str | None:
        value = self.fields.get("job")
        return str(value) if value is not None else None

    @property
    def started_at(self) -> datetime | None:
        """The latest start not after the outcome (a retry under the same id starts again)."""
        eligible = [s for s in self.starts if self.finished_at is None or s <= self.finished_at]
        return max(eligible) if eligible else None

    @property
    def duration_s(self) -> float | None:
        started = self.started_at
        if started is None or self.finished_at is None:
            return None
        return (self.finished_at - started).total_seconds()

    @property
    def attempt(self) -> int:
        return max(int(self.fields.get("attempt") or 1), len(self.starts), 1)

    def copy(self) -> RunState:
        return RunState(
            run_id=self.run_id,
            status=self.status,
            created_at=self.created_at,
            created_by_enqueue=self.created_by_enqueue,
            finished_at=self.finished_at,
            heartbeat_at=self.heartbeat_at,
            starts=list(self.starts),
            fields=dict(self.fields),
            last_key=self.last_key,
        )


def apply_event(state: RunState, event: Event) -> None:
    """Fold one event into `state` in place. Callers apply events in key order."""
    data = event.data
    for name in LATEST_FIELDS:
        value = data.get(name)
        if value is not None:
            state.fields[name] = value
    for name in MAX_FIELDS:
        value = data.get(name)
        if value is not None:
            current = state.fields.get(name)
            state.fields[name] = value if current is None else max(current, value)
    attempt = data.get("attempt")
    if attempt is not None:
        state.fields["attempt"] = max(int(state.fields.get("attempt") or 1), int(attempt))
    labels = data.get("labels")
    if labels:
        state.fields["labels"] = {**(state.fields.get("labels") or {}), **labels}

    enqueued = event.kind is EventKind.ENQUEUED
    if (
        state.created_at is None
        or (enqueued and not state.created_by_enqueue)
        or (enqueued == state.created_by_enqueue and event.at < state.created_at)
    ):
        state.created_at = event.at
        state.created_by_enqueue = enqueued
    if event.kind is EventKind.STARTED and event.at not in state.starts:
        state.starts.append(event.at)
        state.starts.sort()
    if event.kind in (EventKind.STARTED, EventKind.HEARTBEAT, EventKind.PROGRESS) and (
        state.heartbeat_at is None or event.at > state.heartbeat_at
    ):
        state.heartbeat_at = event.at
    if event.rank >= 2:
        state.finished_at = event.at
    state.status = STATUS_OF_EVENT[event.kind]
    state.last_key = event.key


def fold(run_id: str, events: Iterable[Event], state: RunState | None = None) -> RunState:
    """Fold distinct events onto `state` (or a new run) in key order and return the result."""
    result = state.copy() if state is not None else RunState(run_id=run_id)
    seen: set[str] = set()
    for event in sorted(events, key=lambda e: e.key):
        if event.key in seen:
            continue
        seen.add(event.key)
        apply_event(result, event)
    return result


def dedupe(events: Iterable[Event]) -> list[Event]:
    """Drop repeated events (same key), keeping the first of each."""
    unique: dict[tuple[str, str], Event] = {}
    for event in events:
        unique.setdefault((event.run_id, event.key), event)
    return list(unique.values())
