"""A row of a foreign jobs table as the events of its run (pure): enqueued at `created_at`, started
at `started_at`, and its status's event at `completed_at` (or the latest time it has)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jobdeck.domain import EventKind, Status
from jobdeck.events import Event, make_event
from jobdeck.integrations.table.mapping import TableMapping

SOURCE = "table"
MAX_MESSAGE_CHARS = 10_000
_KIND = {
    Status.SUCCEEDED: EventKind.SUCCEEDED,
    Status.FAILED: EventKind.FAILED,
    Status.CANCELLED: EventKind.CANCELLED,
    Status.LOST: EventKind.LOST,
    Status.RETRYING: EventKind.RETRYING,
}


class BadRow(ValueError):
    """A row that cannot be a run (no job, an unknown status word, a time that is not one)."""


def as_time(value: Any) -> datetime | None:
    """A time as the table holds it (a datetime, ISO text, or epoch seconds) as an aware datetime;
    a time without a zone is taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    elif isinstance(value, str):
        try:
            found = datetime.fromisoformat(value.strip())
        except ValueError:
            raise BadRow(f"{value!r} is not a time") from None
    else:
        raise BadRow(f"{value!r} is not a time")
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found


def run_id_of(table: str, row_id: Any) -> str:
    """`table:<table>:<id>`, e.g. table:background_jobs:42."""
    return f"table:{table}:{row_id}"[:200]


def events_of(row: dict[str, Any], table: str, mapping: TableMapping, now: datetime) -> list[Event]:
    """The events a row says of its run (they fold into the same run however often they are read)."""
    status = mapping.status_of(row.get("status"))
    if status is None:
        raise BadRow(f"unknown status word {row.get('status')!r}")
    job = str(row.get("job_type") or "").strip()
    if not job:
        raise BadRow("its job_type is empty")
    run_id = run_id_of(table, row["id"])
    created = as_time(row.get("created_at"))
    started = as_time(row.get("started_at"))
    completed = as_time(row.get("completed_at"))
    base = {"job": job[:200], "source": SOURCE}
    events = [make_event(run_id, EventKind.ENQUEUED, created or started or completed or now, base)]
    if started is not None:
        events.append(make_event(run_id, EventKind.STARTED, started, base))
    if status is Status.RUNNING and started is None:
        events.append(make_event(run_id, EventKind.STARTED, created or now, base))
    kind = _KIND.get(status)
    if kind is not None:
        fields = dict(base)
        message = row.get("error_message")
        if status is Status.FAILED:
            fields["error_type"] = "Failed"
            if message:
                fields["error_message"] = str(message)[:MAX_MESSAGE_CHARS]
        events.append(make_event(run_id, kind, completed or started or created or now, fields))
    return events


def is_open(row: dict[str, Any], mapping: TableMapping) -> bool:
    """Whether the row's run may still change (pending, running, retrying)."""
    status = mapping.status_of(row.get("status"))
    return status in (Status.PENDING, Status.RUNNING, Status.RETRYING)


def latest_time(row: dict[str, Any]) -> Any:
    """The largest of the row's times as the table holds them (for the watermark), or None."""
    values: list[Any] = [row.get(name) for name in ("created_at", "started_at", "completed_at")]
    values = [v for v in values if v is not None and v != ""]
    try:
        return max(values) if values else None
    except TypeError:  # mixed kinds: compare as times
        return max(values, key=lambda v: as_time(v) or datetime.min.replace(tzinfo=UTC))
