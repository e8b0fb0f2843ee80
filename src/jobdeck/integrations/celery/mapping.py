"""Celery's events as jobdeck's: one pure function per event, no I/O.

run_id is the task's uuid, job its name, source "celery"; retries are attempts of one run (Celery
re-sends a retried task under the same id). args/kwargs are the reprs Celery reports (strings), on
the `enqueued` events only: instrumented mode reports JSON on its later `started` event, which the
fold keeps (the latest event that reports a field sets it).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jobdeck.domain import EventKind
from jobdeck.events import Event, make_event

SOURCE = "celery"
# Task events jobdeck records, and what each becomes.
KIND_OF_TASK_EVENT: dict[str, EventKind] = {
    "task-sent": EventKind.ENQUEUED,
    "task-received": EventKind.ENQUEUED,
    "task-started": EventKind.STARTED,
    "task-succeeded": EventKind.SUCCEEDED,
    "task-failed": EventKind.FAILED,
    "task-retried": EventKind.RETRYING,
    "task-revoked": EventKind.CANCELLED,
    "task-rejected": EventKind.FAILED,
}
WORKER_EVENTS = frozenset({"worker-online", "worker-heartbeat", "worker-offline"})
MAX_TEXT = 60_000  # args/kwargs/result reprs are cut to this (the store keeps JSON up to 64 kB)
_EXCEPTION = re.compile(r"^\s*([A-Za-z_][\w.]*)\((.*)\)\s*$", re.DOTALL)


class Malformed(ValueError):
    """An event jobdeck cannot read: not a mapping, no type, no uuid, a bad time."""


def event_type(body: object) -> str:
    if not isinstance(body, Mapping):
        raise Malformed(f"an event is a mapping, not {type(body).__name__}")
    kind = body.get("type")
    if not isinstance(kind, str) or not kind:
        raise Malformed("an event without a type")
    return kind


def timestamp(body: Mapping[str, Any]) -> datetime:
    """The event's time (Celery sends seconds since the epoch)."""
    value = body.get("timestamp")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed(f"{body.get('type')}: timestamp {value!r} is not a number")
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise Malformed(f"{body.get('type')}: timestamp {value!r}: {exc}") from None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def _short(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    return text[:200] if text else None


def split_exception(text: str) -> tuple[str, str]:
    """`ValueError('boom')` → ("ValueError", "boom"); anything else is all message."""
    match = _EXCEPTION.match(text)
    if match is None:
        return "Exception", text
    name, inner = match.groups()
    try:
        value: Any = ast.literal_eval(f"({inner},)") if inner.strip() else ()
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return name, inner
    message = str(value[0]) if len(value) == 1 else ", ".join(map(str, value))
    return name, message


# What a task-revoked event says happened, as a run's message.
REVOKED_MESSAGE = {
    "terminated": "terminated by its worker",
    "expired": "expired before it ran",
    "revoked": "revoked before it ran",
}


def workflow_labels(run_id: str, parent: Any, root: Any, group: Any) -> dict[str, str]:
    """Labels naming a task's parent, root and group (those that are not the task itself)."""
    labels = {}
    for name, value in (("celery.parent_id", parent), ("celery.root_id", root), ("celery.group_id", group)):
        short = _short(value)
        if short and short != run_id.strip():
            labels[name] = short
    return labels


def task_event(
    body: Mapping[str, Any], job: str | None, instrumented: bool = False, broker: str | None = None
) -> Event:
    """The jobdeck event of one Celery task event; `job` is the task's name when the event does
    not carry it (only sent/received do). From an `instrumented` worker a start is a heartbeat:
    instrumented mode reports the start itself (one start per attempt). Raises Malformed."""
    kind_name = str(body.get("type"))
    kind = KIND_OF_TASK_EVENT[kind_name]
    if instrumented and kind is EventKind.STARTED:
        kind = EventKind.HEARTBEAT
    run_id = body.get("uuid")
    if not isinstance(run_id, str) or not run_id.strip():
        raise Malformed(f"{kind_name}: no task uuid")
    at = timestamp(body)
    data: dict[str, Any] = {"source": SOURCE, "job": _short(body.get("name")) or job}
    hostname = _short(body.get("hostname"))
    if hostname:
        data["worker"] = hostname
        data["host"] = hostname.split("@", 1)[-1]
    retries = body.get("retries")
    if isinstance(retries, int) and not isinstance(retries, bool) and 0 <= retries < 10_000:
        data["attempt"] = retries + 1
    if kind is EventKind.ENQUEUED:
        data["args"] = _text(body.get("args"))
        data["kwargs"] = _text(body.get("kwargs"))
        data["queue"] = _short(body.get("queue") or body.get("routing_key"))
        # A workflow's links (chain, group, chord) as labels the run page links: not `parent_run_id`,
        # which is jobdeck's "this run retries that one". A retry is published from inside the task,
        # so Celery names the task its own parent: not kept.
        links = workflow_labels(run_id, body.get("parent_id"), body.get("root_id"), body.get("group"))
        if links:
            data["labels"] = links
        eta = body.get("eta")
        if isinstance(eta, str) and eta:
            try:
                parsed = datetime.fromisoformat(eta)
                data["eta"] = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            except ValueError:
                pass
        priority = body.get("priority")
        if isinstance(priority, int) and not isinstance(priority, bool):
            data["priority"] = priority
    elif kind in (EventKind.STARTED, EventKind.HEARTBEAT):
        pid = body.get("pid")
        if isinstance(pid, int) and not isinstance(pid, bool) and pid >= 0:
            data["pid"] = pid
    elif kind is EventKind.SUCCEEDED:
        data["result"] = _text(body.get("result"))
    elif kind_name == "task-rejected":
        data["error_type"] = "Rejected"
        data["error_message"] = "the worker rejected the task's message"
        if body.get("requeue"):
            kind = EventKind.ENQUEUED
            data.pop("error_type")
            data.pop("error_message")
    elif kind is EventKind.CANCELLED:
        how = "expired" if body.get("expired") else "terminated" if body.get("terminated") else "revoked"
        data["labels"] = {"celery_revoked": how}
        signal = str(body.get("signum") or "")[:500]
        if signal:
            data["labels"]["celery_signal"] = signal
        # Its own words for the page (jobdeck's executor, when it stopped the task, says the same).
        data["error_message"] = REVOKED_MESSAGE.get(how, how) + (f" (signal {signal})" if signal else "")
    if broker and kind in (EventKind.ENQUEUED, EventKind.STARTED):
        # Which broker the task came through: the executor acts on it there (several brokers).
        data["labels"] = {**data.get("labels", {}), "celery.broker": broker}
    if kind in (EventKind.FAILED, EventKind.RETRYING) and "exception" in body:
        error_type, message = split_exception(str(body.get("exception") or ""))
        data["error_type"] = error_type[:500]
        data["error_message"] = message[:10_000]
        traceback = body.get("traceback")
        if traceback:
            data["traceback"] = str(traceback)[-200_000:]
    if data["job"] is None:
        data.pop("job")
    try:
        return make_event(run_id.strip()[:200], kind, at, data)
    except ValueError as exc:
        raise Malformed(f"{kind_name}: {exc}") from None
