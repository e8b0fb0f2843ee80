"""Creating, changing and removing schedules: a spec checked whole, stored with its next time.

The API and the pages call these; the loop reads what they store. A change (an edit, pause or
resume) times the schedule again from now, so what was missed while paused is not fired.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from jobdeck.scheduler.spec import ScheduleSpec
from jobdeck.scheduler.triggers import TriggerError
from jobdeck.store import Store
from jobdeck.store import schedules as rows


def check(spec: ScheduleSpec) -> None:
    """Raise TriggerError naming the field when the schedule cannot work."""
    spec.check()
    if spec.after is not None and spec.after == spec.job_name:
        raise TriggerError("after", "a schedule cannot fire after its own job (it would never stop)")


def next_run_at(
    spec: ScheduleSpec, created_at: datetime, since: datetime, executions: int
) -> datetime | None:
    """When a schedule fires next, timed from `since` (None when paused, only following, or done)."""
    trigger = spec.trigger(created_at)
    if spec.paused or trigger is None:
        return None
    return trigger.first(since, executions)


def create(store: Store, spec: ScheduleSpec, now: datetime | None = None) -> dict[str, Any]:
    """Store a new schedule; returns its row."""
    return create_many(store, [spec], now)[0]


def create_many(store: Store, specs: list[ScheduleSpec], now: datetime | None = None) -> list[dict[str, Any]]:
    """Store new schedules in one transaction; returns their rows."""
    now = now or datetime.now(UTC)
    made = [_row(spec, now) for spec in specs]
    with store.write() as conn:
        rows.add_many(conn, made)
    return made


def _row(spec: ScheduleSpec, now: datetime) -> dict[str, Any]:
    check(spec)
    return {
        "id": str(uuid.uuid4()),
        "name": spec.name,
        "job": spec.job_name,
        "definition": spec.definition(),
        "paused": spec.paused,
        "next_run_at": next_run_at(spec, now, now, 0),
        "executions": 0,
        "after_job": spec.after,
        "after_cursor": now if spec.after else None,
        "created_at": now,
        "updated_at": now,
    }


def replace(
    store: Store, schedule_id: str, spec: ScheduleSpec, now: datetime | None = None
) -> dict[str, Any] | None:
    """Store a schedule's new spec, timed again from now; None when there is no such schedule."""
    check(spec)
    now = now or datetime.now(UTC)
    with store.write() as conn:
        old = rows.get(conn, schedule_id, lock=True)
        if old is None:
            return None
        values = {
            "name": spec.name,
            "job": spec.job_name,
            "definition": spec.definition(),
            "paused": spec.paused,
            "next_run_at": next_run_at(spec, old["created_at"], now, old["executions"]),
            "after_job": spec.after,
            "after_cursor": (old["after_cursor"] or now) if spec.after == old["after_job"] else now,
            "updated_at": now,
        }
        rows.change(conn, schedule_id, values)
        return {**old, **values}


def merged(old: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A stored definition with a PATCH's fields laid over it (a target is replaced whole)."""
    return {**old, **patch}


def remove(store: Store, schedule_id: str) -> bool:
    with store.write() as conn:
        return rows.remove(conn, schedule_id)


def get(store: Store, schedule_id: str) -> dict[str, Any] | None:
    with store.read() as conn:
        return rows.get(conn, schedule_id)
