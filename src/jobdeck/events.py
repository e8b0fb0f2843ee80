"""Validating events and folding them into a run. Pure functions: no I/O.

The fold is a join: every part of a run is the largest (or smallest, or the union) of what its
events say, so folding gives the same run whatever order the events arrive in and however often
(the order and duplication property tests hold it to that). What is compared:

- Every event has an order key (rank, at, kind) packed into one integer, where rank 3 is a real
  outcome, 2 is `lost` (a sweeper's guess that any real outcome overrules) and 1 is the rest. The
  run's status and `finished_at` come from the highest key.
- A carried field (queue, worker, error_message, …) takes its value from the highest-keyed event
  that reports it; the run keeps each field's key, so a late event with an older key cannot
  overwrite a newer value. Equal keys with different values (two events at the same microsecond)
  are settled by the values themselves, so the answer does not depend on which came first.
- Counters (items_*, cpu_s, max_rss_mb, attempt) take the largest value reported, not a sum.
- `created_at` is the earliest `enqueued` (or, with none, the earliest event); the starts are a set
  (Celery starts a retried task again under the same id, which raises `attempt`); `started_at` is
  the latest start not after the outcome.

No event log is needed: a stored run holds its fold state (the keys and starts) and folding an
event onto it is the same as folding every event it has seen again.
"""

from __future__ import annotations

import json
import math
from bisect import insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, NamedTuple, NotRequired

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    TypeAdapter,
    field_validator,
)
from typing_extensions import TypedDict

from jobdeck.domain import (
    LATEST_FIELDS,
    MAX_FIELDS,
    RANK_OF_EVENT,
    STATUS_OF_EVENT,
    EventKind,
    Status,
)

MAX_JSON_FIELD_CHARS = 65_536
# Event times jobdeck accepts: what a 64-bit order key holds with room to spare.
EARLIEST_TIME = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2500, 1, 1, tzinfo=UTC)

_OUT_OF_RANGE = f"event time must lie between the years {EARLIEST_TIME.year} and {LATEST_TIME.year}"
_EARLIEST_MICROS = int((EARLIEST_TIME - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000
_LATEST_MICROS = int((LATEST_TIME - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000
# A name or an id (run, job, queue, worker …): trimmed, then 1 to 200 characters and no control
# character (each can be a path or query parameter of the pages and the API, which refuse them).
# A NUL passes here only to be replaced by U+FFFD like everywhere else (`without_nul`).
_NO_CONTROL = r"^[^\x01-\x1f\x7f]*$"
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_NO_CONTROL)
]
Count = Annotated[int, Field(ge=0, le=2**53)]
_SIZE_ENCODER = json.JSONEncoder(default=str, allow_nan=False)
_NOT_FINITE = "NaN and Infinity are not JSON numbers"


def _bounded_json(value: JsonValue) -> JsonValue:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(_NOT_FINITE)
    # Numbers are short; a string can only be too long past a sixth of the limit (escapes).
    long_text = isinstance(value, str) and len(value) * 6 + 2 > MAX_JSON_FIELD_CHARS
    if long_text or isinstance(value, dict | list):
        try:
            size = len(_SIZE_ENCODER.encode(value))
        except ValueError:
            raise ValueError(_NOT_FINITE) from None
        if size > MAX_JSON_FIELD_CHARS:
            raise ValueError(f"must serialise to at most {MAX_JSON_FIELD_CHARS} characters of JSON")
    return value


def _in_range(value: datetime) -> datetime:
    if not EARLIEST_TIME <= value < LATEST_TIME:
        raise ValueError(f"must lie between the years {EARLIEST_TIME.year} and {LATEST_TIME.year}")
    return value


BoundedJson = Annotated[JsonValue, AfterValidator(_bounded_json)]
# A time a run carries (its ETA); an event's own time is checked as the event is made.
RunTime = Annotated[AwareDatetime, AfterValidator(_in_range)]


def without_nul(value: Any) -> Any:
    """`value` with every NUL character in its strings (keys too) replaced by U+FFFD: PostgreSQL
    stores none in text or JSON, so neither backend keeps them."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


class EventIn(BaseModel):
    """One event as a source sends it: the run it is about, what happened, when, and run fields.

    Every constraint lives in a field's annotation, so the wire schema below (the same fields as a
    TypedDict, which validates about three times faster) is derived from this one model. The range
    of `at` is checked as the event is made (`make_event`), on both ways in.
    """

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
    eta: RunTime | None = None
    attempt: int | None = Field(default=None, ge=1, le=10_000)
    max_retries: int | None = Field(default=None, ge=0, le=10_000)
    parent_run_id: ShortText | None = None
    schedule_id: ShortText | None = None
    args: BoundedJson = None
    kwargs: BoundedJson = None
    result: BoundedJson = None
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
    # What the job's code declares about its runs (alerts.expectations): not stored on the run.
    schedule: Annotated[str, Field(max_length=100)] | None = None
    timezone: Annotated[str, Field(max_length=64)] | None = None
    grace: Annotated[str, Field(max_length=32)] | float | None = None
    max_runtime: Annotated[str, Field(max_length=32)] | float | None = None

    @field_validator("at")
    @classmethod
    def _at_in_range(cls, value: datetime | None) -> datetime | None:
        return _in_range(value) if value is not None else None

    def to_event(self, now: datetime | None = None) -> Event:
        """Return the internal event, stamped with `now` when the source gave no time."""
        values = self.__dict__
        data = {name: values[name] for name in self.model_fields_set if name not in _NOT_DATA}
        return make_event(self.run_id, self.event, self.at or now or datetime.now(UTC), data)


_NOT_DATA = frozenset({"run_id", "event", "at", "schedule", "timezone", "grace", "max_runtime"})


def _wire_schema() -> Any:
    """EventIn's fields as a TypedDict (absent fields stay absent): what HTTP batches validate as."""
    fields: dict[str, Any] = {}
    for name, info in EventIn.model_fields.items():
        annotation = info.rebuild_annotation()
        fields[name] = annotation if info.is_required() else NotRequired[annotation]
    wire = TypedDict("EventWire", fields)  # type: ignore[misc]
    wire.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return wire


EventWire = _wire_schema()
WIRE_EVENT: TypeAdapter[dict[str, Any]] = TypeAdapter(EventWire)
WIRE_BATCH: TypeAdapter[list[dict[str, Any]]] = TypeAdapter(list[EventWire])  # type: ignore[valid-type]


def event_from_wire(fields: dict[str, Any], now: datetime) -> Event:
    """The event of one validated wire dict (which it takes apart)."""
    run_id = fields.pop("run_id")
    kind = fields.pop("event")
    at = fields.pop("at", None) or now
    if None in fields.values():
        fields = {name: value for name, value in fields.items() if value is not None}
    return trusted_event(run_id, kind, at, fields)


# --- order keys ----------------------------------------------------------------------------------
# (rank << 60) | ((micros + _OFFSET) << 4) | kind: integers compare as (rank, at, kind) tuples do.

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OFFSET = 2**54
_MICROS_MASK = 2**56 - 1
KIND_OF_INDEX: tuple[EventKind, ...] = tuple(EventKind)
_KIND_INDEX = {kind: i for i, kind in enumerate(EventKind)}
_KINDS: dict[str, EventKind] = {**{k.value: k for k in EventKind}, **{k: k for k in EventKind}}
_RANK_BITS = {kind: RANK_OF_EVENT[kind] << 60 for kind in EventKind}


def to_micros(at: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    """The aware UTC datetime of epoch microseconds."""
    return _EPOCH + timedelta(microseconds=micros)


def key_rank(key: int) -> int:
    return key >> 60


def key_kind(key: int) -> EventKind:
    return KIND_OF_INDEX[key & 15]


def key_at(key: int) -> datetime:
    return from_micros(((key >> 4) & _MICROS_MASK) - _OFFSET)


class Event(NamedTuple):
    """A validated event; `key` orders it among the events of its run. (A named tuple: a batch
    makes ten thousand of them, and a tuple is the cheapest immutable record to build.)"""

    run_id: str
    kind: EventKind
    at: datetime
    data: Mapping[str, Any]
    key: int

    @property
    def rank(self) -> int:
        return RANK_OF_EVENT[self.kind]


def make_event(run_id: str, kind: EventKind | str, at: datetime, data: Mapping[str, Any]) -> Event:
    """Build an event and its order key; `at` must be timezone-aware and within EARLIEST_TIME..LATEST_TIME."""
    if at.tzinfo is None:
        raise ValueError("event time must be timezone-aware")
    values = {name: value for name, value in data.items() if value is not None}
    eta = values.get("eta")
    if isinstance(eta, str):
        values["eta"] = datetime.fromisoformat(eta)
    return trusted_event(run_id, _KINDS.get(kind) or EventKind(kind), at, values)


def trusted_event(run_id: str, kind: EventKind, at: datetime, data: dict[str, Any]) -> Event:
    """An event of values already validated (no None among them, `kind` an EventKind, `at` aware):
    `make_event` without its checks, for sources that build many. Raises ValueError for a time
    out of range."""
    at, key = event_time(kind, at)
    return Event(run_id, kind, at, data, key)


def event_time(kind: EventKind, at: datetime) -> tuple[datetime, int]:
    """An event's time in UTC and its order key; ValueError when the time is out of range."""
    # Aware subtraction applies the offset without making a UTC datetime first (year 1 at +14:00
    # has none); the range is checked on the microseconds, and UTC made from them.
    delta = at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if not _EARLIEST_MICROS <= micros < _LATEST_MICROS:
        raise ValueError(_OUT_OF_RANGE)
    if at.tzinfo is not UTC:
        at = _EPOCH + delta
    return at, _RANK_BITS[kind] | ((micros + _OFFSET) << 4) | _KIND_INDEX[kind]


# --- the fold ------------------------------------------------------------------------------------

_LATEST = frozenset(LATEST_FIELDS)
_MAX = frozenset((*MAX_FIELDS, "attempt"))
_CANON = json.JSONEncoder(sort_keys=True, default=str)


def _wins_tie(value: Any, current: Any) -> bool:
    """Two values reported under the same key: the larger canonical JSON is kept, in any order."""
    if type(value) is type(current) and value == current:
        return False
    return bool(_CANON.encode(value) > _CANON.encode(current))


@dataclass(slots=True)
class RunState:
    """A run as folded so far: its carried fields and what the join compares them by."""

    run_id: str
    top_key: int = 0  # the highest event key seen: the status and the outcome's time
    created_at: datetime | None = None
    created_by_enqueue: bool = False
    heartbeat_at: datetime | None = None
    starts: list[datetime] = field(default_factory=list)  # sorted, distinct
    fields: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)  # per carried field, the key that set it
    label_keys: dict[str, int] = field(default_factory=dict)

    @property
    def job(self) -> str | None:
        value = self.fields.get("job")
        return str(value) if value is not None else None

    @property
    def status(self) -> Status:
        return STATUS_OF_EVENT[key_kind(self.top_key)] if self.top_key else Status.PENDING

    @property
    def finished_at(self) -> datetime | None:
        return key_at(self.top_key) if key_rank(self.top_key) >= 2 else None

    def timings(self) -> tuple[datetime | None, datetime | None]:
        """(started_at, finished_at): the start is the latest one not after the outcome (a retry
        under the same id starts again)."""
        finished = self.finished_at
        starts = self.starts
        if not starts:
            return None, finished
        if finished is None:
            return starts[-1], None
        for start in reversed(starts):
            if start <= finished:
                return start, finished
        return None, finished

    @property
    def started_at(self) -> datetime | None:
        return self.timings()[0]

    @property
    def duration_s(self) -> float | None:
        started, finished = self.timings()
        if started is None or finished is None:
            return None
        return (finished - started).total_seconds()

    @property
    def attempt(self) -> int:
        return max(int(self.fields.get("attempt") or 1), len(self.starts), 1)

    def copy(self) -> RunState:
        return RunState(
            run_id=self.run_id,
            top_key=self.top_key,
            created_at=self.created_at,
            created_by_enqueue=self.created_by_enqueue,
            heartbeat_at=self.heartbeat_at,
            starts=list(self.starts),
            fields=dict(self.fields),
            keys=dict(self.keys),
            label_keys=dict(self.label_keys),
        )


def apply_event(state: RunState, event: Event) -> bool:
    """Join one event into `state` in place; return whether the run changed."""
    key = event.key
    changed = False
    if key > state.top_key:
        state.top_key = key
        changed = True
    fields, keys = state.fields, state.keys
    for name, value in event.data.items():
        if name in _LATEST:
            held = keys.get(name)
            if held is not None and (key < held or (key == held and not _wins_tie(value, fields[name]))):
                continue
            fields[name] = value
            keys[name] = key
            changed = True
        elif name in _MAX:
            current = fields.get(name)
            if current is None or value > current:
                fields[name] = value
                changed = True
        elif name == "labels":
            changed = _join_labels(state, key, value) or changed
    at = event.at
    kind = event.kind
    enqueued = kind is EventKind.ENQUEUED
    created = state.created_at
    if (
        created is None
        or (enqueued and not state.created_by_enqueue)
        or (enqueued == state.created_by_enqueue and at < created)
    ):
        state.created_at = at
        state.created_by_enqueue = enqueued
        changed = True
    if kind is EventKind.STARTED:
        if at not in state.starts:
            insort(state.starts, at)
            changed = True
    elif kind is not EventKind.HEARTBEAT and kind is not EventKind.PROGRESS:
        return changed
    if state.heartbeat_at is None or at > state.heartbeat_at:
        state.heartbeat_at = at
        changed = True
    return changed


def _join_labels(state: RunState, key: int, labels: Mapping[str, str]) -> bool:
    current: dict[str, str] = state.fields.get("labels") or {}
    changed = False
    for name, value in labels.items():
        held = state.label_keys.get(name)
        if held is not None and (key < held or (key == held and not _wins_tie(value, current[name]))):
            continue
        if not changed:
            current = dict(current)
            changed = True
        current[name] = value
        state.label_keys[name] = key
    if changed:
        state.fields["labels"] = current
    return changed


def join(state: RunState, other: RunState) -> bool:
    """Join `other` into `state` in place (as if folding other's events onto state's); return
    whether `state` changed. Folding is a join, so join(fold(A), fold(B)) == fold(A + B)."""
    changed = False
    if other.top_key > state.top_key:
        state.top_key = other.top_key
        changed = True
    fields, keys = state.fields, state.keys
    for name, key in other.keys.items():
        value = other.fields[name]
        held = keys.get(name)
        if held is not None and (key < held or (key == held and not _wins_tie(value, fields[name]))):
            continue
        if held != key or fields.get(name) != value:
            changed = True
        fields[name] = value
        keys[name] = key
    for name in _MAX:
        value = other.fields.get(name)
        if value is not None:
            current = fields.get(name)
            if current is None or value > current:
                fields[name] = value
                changed = True
    labels = other.fields.get("labels") or {}
    for name, key in other.label_keys.items():
        changed = _join_labels(state, key, {name: labels[name]}) or changed
    created = other.created_at
    if created is not None and (
        state.created_at is None
        or (other.created_by_enqueue and not state.created_by_enqueue)
        or (other.created_by_enqueue == state.created_by_enqueue and created < state.created_at)
    ):
        state.created_at = created
        state.created_by_enqueue = other.created_by_enqueue
        changed = True
    for start in other.starts:
        if start not in state.starts:
            insort(state.starts, start)
            changed = True
    beat = other.heartbeat_at
    if beat is not None and (state.heartbeat_at is None or beat > state.heartbeat_at):
        state.heartbeat_at = beat
        changed = True
    return changed


def fold(run_id: str, events: Iterable[Event], state: RunState | None = None) -> RunState:
    """Fold events onto `state` (or a new run) and return the result; `state` is left as it was."""
    result = state.copy() if state is not None else RunState(run_id=run_id)
    for event in events:
        apply_event(result, event)
    return result
