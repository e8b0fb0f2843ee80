"""The domain's plain types: statuses, event kinds and the fields a run carries. No I/O here."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """The canonical status of a run; every source's vocabulary maps onto these."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRYING = "retrying"
    CANCELLED = "cancelled"
    LOST = "lost"


class EventKind(StrEnum):
    """What can happen to a run."""

    ENQUEUED = "enqueued"
    STARTED = "started"
    HEARTBEAT = "heartbeat"
    PROGRESS = "progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRYING = "retrying"
    CANCELLED = "cancelled"
    LOST = "lost"


STATUS_OF_EVENT: dict[EventKind, Status] = {
    EventKind.ENQUEUED: Status.PENDING,
    EventKind.STARTED: Status.RUNNING,
    EventKind.HEARTBEAT: Status.RUNNING,
    EventKind.PROGRESS: Status.RUNNING,
    EventKind.SUCCEEDED: Status.SUCCEEDED,
    EventKind.FAILED: Status.FAILED,
    EventKind.RETRYING: Status.RETRYING,
    EventKind.CANCELLED: Status.CANCELLED,
    EventKind.LOST: Status.LOST,
}

# rank 3: a real outcome; rank 2: a sweeper's guess that any real outcome overrules; rank 1: the rest.
RANK_OF_EVENT: dict[EventKind, int] = {
    EventKind.SUCCEEDED: 3,
    EventKind.FAILED: 3,
    EventKind.CANCELLED: 3,
    EventKind.LOST: 2,
    EventKind.ENQUEUED: 1,
    EventKind.STARTED: 1,
    EventKind.HEARTBEAT: 1,
    EventKind.PROGRESS: 1,
    EventKind.RETRYING: 1,
}

TERMINAL_STATUSES = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.LOST})
LIVE_STATUSES = frozenset({Status.PENDING, Status.RUNNING, Status.RETRYING})

# Foreign vocabularies (Celery, seed tables, BullMQ, RQ) mapped onto ours.
STATUS_ALIASES: dict[str, Status] = {
    "completed": Status.SUCCEEDED,
    "complete": Status.SUCCEEDED,
    "success": Status.SUCCEEDED,
    "finished": Status.SUCCEEDED,
    "done": Status.SUCCEEDED,
    "failure": Status.FAILED,
    "error": Status.FAILED,
    "started": Status.RUNNING,
    "active": Status.RUNNING,
    "queued": Status.PENDING,
    "waiting": Status.PENDING,
    "received": Status.PENDING,
    "scheduled": Status.PENDING,
    "delayed": Status.PENDING,
    "retry": Status.RETRYING,
    "revoked": Status.CANCELLED,
    "canceled": Status.CANCELLED,
    "stopped": Status.CANCELLED,
}


def normalize_status(value: str) -> Status:
    """Map any source's status word onto the canonical Status; raise ValueError if unknown."""
    word = value.strip().lower()
    if word in Status._value2member_map_:
        return Status(word)
    try:
        return STATUS_ALIASES[word]
    except KeyError:
        raise ValueError(f"unknown status {value!r}") from None


# Run fields an event may carry, by how events combine them.
MAX_FIELDS = ("items_succeeded", "items_failed", "items_skipped", "cpu_s", "max_rss_mb")
LATEST_FIELDS = (
    "job",
    "queue",
    "priority",
    "source",
    "worker",
    "host",
    "pid",
    "eta",
    "max_retries",
    "parent_run_id",
    "schedule_id",
    "args",
    "kwargs",
    "result",
    "error_type",
    "error_message",
    "traceback",
)
MERGED_FIELDS = ("labels",)
CARRIED_FIELDS = (*LATEST_FIELDS, *MAX_FIELDS, *MERGED_FIELDS, "attempt")

# Runs whose duration counts in duration statistics: those that really ran to an outcome.
DURATION_STATUSES = frozenset({Status.SUCCEEDED, Status.FAILED})
