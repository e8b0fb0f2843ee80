"""The JSON API's answers as pydantic models: what /docs and /openapi.json describe.

Every model forbids fields it does not name, so the tests that validate real answers against these
models notice a field added to an answer but not to its model. Run times are datetimes (written as
ISO 8601 with "Z"); the seed endpoints keep the seed's strings ("+00:00").
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from jobdeck.domain import Status
from jobdeck.events import EventIn


class Answer(BaseModel):
    """A JSON object the API answers with: exactly these fields."""

    model_config = ConfigDict(extra="forbid")


# --- runs --------------------------------------------------------------------------------------


class RunSummary(Answer):
    """A run as a list shows it (GET /api/v1/runs)."""

    run_id: str
    job: str
    status: Status
    queue: str | None
    priority: int | None
    worker: str | None
    created_at: datetime
    eta: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    attempt: int
    parent_run_id: str | None
    error_type: str | None
    error_message: str | None
    items_succeeded: int | None
    items_failed: int | None
    items_skipped: int | None


class RunPage(Answer):
    """One page of runs, newest first; `next_cursor` fetches the next page (null on the last)."""

    runs: list[RunSummary]
    next_cursor: str | None


class ExportedRun(RunSummary):
    """A run as GET /api/v1/export/runs writes it (one row of CSV, one object of JSON)."""

    run_at: datetime
    source: str | None
    host: str | None
    schedule_id: str | None
    max_retries: int | None
    args: JsonValue
    kwargs: JsonValue
    labels: dict[str, str] | None


class Run(Answer):
    """One run, whole (GET /api/v1/runs/{run_id}), with the ids of the runs that retried it.

    The fields are in the order of the table's columns, which is the order the answer writes them."""

    run_id: str
    job: str
    status: Status
    queue: str | None
    priority: int | None
    source: str | None
    worker: str | None
    host: str | None
    pid: int | None
    created_at: datetime
    eta: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    run_at: datetime
    duration_s: float | None
    attempt: int
    max_retries: int | None
    parent_run_id: str | None
    schedule_id: str | None
    args: JsonValue
    kwargs: JsonValue
    result: JsonValue
    error_type: str | None
    error_message: str | None
    traceback: str | None
    items_succeeded: int | None
    items_failed: int | None
    items_skipped: int | None
    cpu_s: float | None
    max_rss_mb: float | None
    labels: dict[str, str] | None
    fingerprint: str | None = Field(description="The kind of failure a failed run groups under")
    retried_by: list[str]


# --- summaries ---------------------------------------------------------------------------------


class Totals(Answer):
    """Runs counted by their start (or creation); running and pending are the live runs now."""

    total: int
    succeeded: int
    failed: int
    cancelled: int
    lost: int
    running: int
    pending: int
    success_rate: float | None = Field(description="Percent of finished runs that succeeded")
    success_per_min: float = Field(description="Succeeded runs per minute of the window")
    failures_per_min: float = Field(description="Failed and lost runs per minute of the window")
    avg_duration_s: float | None


class JobSummary(Answer):
    """One job over the window: counts, durations and its latest runs."""

    job: str
    runs: int
    succeeded: int
    failed: int
    cancelled: int
    lost: int
    running: int
    pending: int
    success_rate: float | None = Field(description="Percent of finished runs that succeeded")
    failure_rate: float | None = Field(description="Percent of finished runs that failed or were lost")
    success_per_min: float = Field(description="Succeeded runs per minute of the window")
    failures_per_min: float = Field(description="Failed and lost runs per minute of the window")
    avg_duration_s: float | None
    min_duration_s: float | None
    max_duration_s: float | None
    p50_duration_s: float | None
    p95_duration_s: float | None
    items_succeeded: int
    items_failed: int
    items_skipped: int
    last_run_at: datetime | None
    last_status: Status | None
    last_success_at: datetime | None


class JobList(Answer):
    jobs: list[JobSummary]


class ResourceUse(Answer):
    """CPU seconds and peak memory of one job's runs over the window (of the runs that reported them)."""

    job: str
    cpu_runs: int
    cpu_avg_s: float | None
    cpu_max_s: float | None
    memory_runs: int
    memory_avg_mb: float | None
    memory_max_mb: float | None


class FailureGroupRow(Answer):
    """A kind of failure as GET /api/v1/export/failures writes it."""

    fingerprint: str
    job: str
    error_type: str | None
    signature: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    sample_run_id: str
    sample_message: str | None
    jobs: list[str]
    sparkline: list[int]
    sample_traceback: str | None


# --- charts ------------------------------------------------------------------------------------


class Series(Answer):
    job: str = Field(description="The job (for queue_size: the queue)")
    system: str | None = Field(default=None, description="queue_size only: the queue's job system")
    broker: str | None = Field(default=None, description="queue_size only: the queue's broker")
    points: list[tuple[int, int | float | None]] = Field(description="[epoch seconds, value] per step")


Metric = Literal[
    "runs",
    "succeeded",
    "failures",
    "duration_p50",
    "duration_p95",
    "queue_wait_p95",
    "items",
    "items_succeeded",
    "items_failed",
    "items_skipped",
    "queue_size",
]
"""The time series a chart can ask for (queue_size: per queue, the largest size sampled in a step)."""


class Timeseries(Answer):
    """One metric per job, a point per step."""

    metric: Metric
    step_s: int
    series: list[Series]


class Heatmap(Answer):
    """Durations per time step: the rows' duration ranges and the non-empty cells."""

    job: str | None
    step_s: int
    rows: list[Annotated[list[float], Field(min_length=2, max_length=2)]] = Field(
        description="[low, high] seconds a row covers"
    )
    # Lists of two and three, not tuples: schemathesis reads their prefixItems here as invalid schemas.
    cells: list[Annotated[list[int], Field(min_length=3, max_length=3)]] = Field(
        description="[epoch seconds, row, runs]"
    )


class Overlap(Answer):
    a: str
    b: str
    start: str
    end: str
    seconds: float


class Overlaps(Answer):
    """Pairs of runs that ran at once, longest first, and how many ran at once over the window."""

    overlaps: list[Overlap]
    max_concurrency: int
    concurrency: list[tuple[str, int]] = Field(description="[time, runs running from then on]")
    truncated: bool = Field(description="More pairs overlapped than the limit lists")
    runs_truncated: bool = Field(description="The window held more runs than were read")


class TimelineJob(Answer):
    job: str
    lanes: int
    runs: int
    detail: Literal["bars", "buckets"] = Field(description="how the lane is drawn: single runs or buckets")


class Timeline(Answer):
    """Compact arrays for a canvas chart; times are epoch milliseconds."""

    since: int
    until: int
    now: int
    jobs: list[TimelineJob]
    runs: list[tuple[int, int, int, int, Status, str]] = Field(
        description="[job index, lane, start ms, end ms, status, run id]"
    )
    overlaps: list[tuple[int, int, int, int]] = Field(description="[job index, start ms, end ms, peak]")
    concurrency: list[tuple[int, int]] = Field(
        description="[ms, runs of the barred lanes running from then on]"
    )
    max_concurrency: int = Field(description="the peak of the lanes drawn as bars")
    truncated: bool
    detail: Literal["bars", "buckets", "mixed"] = Field(description="bars only, buckets only, or both")
    step: int | None = Field(description="bucket length in ms, when any lane is in buckets")
    buckets: list[tuple[int, int, int, int, int, int, int, Status, float, int]] = Field(
        description="[job index, start ms, end ms, runs, succeeded, failed or lost, running, worst status, "
        "average running at once, overlapped 0/1] of the lanes too busy for bars"
    )
    bucket_overlaps: list[tuple[int, int, int]] = Field(
        description="[job index, start ms, end ms]: adjacent buckets where runs of a job surely overlapped"
    )
    runs_in_view: int = Field(description="runs of the window counted for every lane (nothing left out)")
    busiest: float | None = Field(description="most runs at once on average in a bucket, over bucketed lanes")


# --- writes, actions, health ---------------------------------------------------------------------


class Accepted(Answer):
    """How many events were recorded (all of the request's)."""

    accepted: int


class Stopped(Answer):
    run_id: str
    detail: str


class Retried(Answer):
    run_id: str = Field(description="The new run's id")
    parent_run_id: str = Field(description="The run retried")


class Terminated(Answer):
    run_id: str
    detail: str


class BulkRetryOutcome(Answer):
    run_id: str = Field(description="A failed run of the job")
    outcome: Literal["retried", "refused"]
    new_run_id: str | None = Field(default=None, description="The new run, when retried")
    detail: str = Field(description="What happened to it, in a sentence")


class BulkRetried(Answer):
    job: str
    hours: float
    retried: int
    refused: int
    not_tried: int = Field(description="Failed runs beyond the most one bulk retry takes")
    detail: str
    runs: list[BulkRetryOutcome]


class Purged(Answer):
    queue: str
    broker: str | None
    purged: int = Field(description="How many messages were deleted")
    detail: str


class StoreState(Answer):
    backend: Literal["sqlite", "postgresql"]
    migrated: bool


class BrokerState(Answer):
    """A job system's broker (integrations/queues.py): reachable, and how fast; else since when and why."""

    system: str
    broker: str | None = Field(
        description="The broker's URL without credentials (null in /api/health for a caller not signed in)"
    )
    reachable: bool
    rtt_ms: float | None = Field(description="Round trip of one PING, in milliseconds")
    unreachable_since: datetime | None
    error: str | None


class Health(Answer):
    """Healthy (200), or degraded (503) while the store's schema is not the current one. An unreachable
    broker does not change the status (jobdeck still serves); it says so under `brokers`."""

    status: Literal["healthy", "degraded"]
    version: str
    store: StoreState
    celery: list[dict[str, Any]] | None = Field(
        default=None, description="Each Celery broker's event consumer (when brokers are set)"
    )
    brokers: list[BrokerState] | None = Field(
        default=None, description="Every queue source's broker (absent when there are none)"
    )


class StoreError(Answer):
    backend: Literal["sqlite", "postgresql"]
    reachable: bool
    error: str
    unreachable_since: datetime | None = Field(description="When this server first failed to reach it")
    detail: str | None = Field(description="'unreachable since … (… s ago): reason', as the pages say it")


class Unhealthy(Answer):
    """The store cannot be reached (503)."""

    status: Literal["unhealthy"]
    store: StoreError


class Changes(Answer):
    version: int = Field(description="Grows whenever runs change")


# --- the seed dashboard's endpoints --------------------------------------------------------------


class SeedJob(Answer):
    id: str
    job_type: str
    status: str = Field(description="A run status, with `completed` for succeeded")
    created_at: str | None
    started_at: str | None
    completed_at: str | None
    duration_seconds: float | None
    error_message: str | None


class SeedJobs(Answer):
    jobs: list[SeedJob]
    job_types: list[str]
    count: int
    truncated: bool


class SeedSide(Answer):
    id: str
    job_type: str
    status: str
    started_at: str | None
    completed_at: str | None


class SeedOverlap(Answer):
    job1: SeedSide
    job2: SeedSide
    overlap_start: str
    overlap_end: str
    overlap_seconds: float


class SeedOverlaps(Answer):
    overlaps: list[SeedOverlap]
    count: int
    max_concurrency: int
    truncated: bool


class SeedJobStats(Answer):
    job_type: str
    total: int
    completed: int
    failed: int
    running: int
    pending: int
    success_rate: float | None
    avg_duration_seconds: float | None
    last_run: str | None


class SeedTotals(Answer):
    total: int
    completed: int
    failed: int
    running: int
    success_rate: float | None
    avg_duration_seconds: float | None


class SeedStats(Answer):
    stats: list[SeedJobStats]
    totals: SeedTotals


# --- documentation helpers -----------------------------------------------------------------------


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """`schema` with every local `$ref` replaced by the definition it names."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inline(value, defs) for key, value in schema.items() if key != "$defs"}
    if isinstance(schema, list):
        return [_inline(item, defs) for item in schema]
    return schema


def events_request_body() -> dict[str, Any]:
    """The OpenAPI request body of POST /api/v1/events: one EventIn or a list of them.

    The route reads the body itself (one pass, no model per event), so FastAPI does not derive this;
    the schema is inlined because a route's `openapi_extra` cannot add to the document's components.
    """
    event = EventIn.model_json_schema()
    single = _inline(event, event.get("$defs", {}))
    batch = {"type": "array", "items": single, "title": "Batch"}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"anyOf": [single, batch]}}},
        }
    }


def json_rows(model: type[BaseModel], formats: str) -> dict[int | str, dict[str, Any]]:
    """The `responses` of an export: a JSON array or JSON Lines of `model`, or CSV text."""
    schema = model.model_json_schema(mode="serialization")
    row = _inline(schema, schema.get("$defs", {}))
    return {
        200: {
            "description": formats,
            "content": {
                "application/json": {"schema": {"type": "array", "items": row}},
                "application/x-ndjson": {"schema": {"type": "string", "description": "One object a line"}},
                "text/csv": {"schema": {"type": "string", "description": "A header row, then one row each"}},
            },
        }
    }


# --- audit -------------------------------------------------------------------------------------


class AuditEntry(Answer):
    """One action, login or refusal: who, from where, what, when and the result."""

    id: int
    at: datetime
    actor: str
    address: str
    action: str
    target: str
    result: str
    detail: str


class AuditLog(Answer):
    """GET /api/v1/audit: entries matching the filters, newest first."""

    entries: list[AuditEntry]
