"""Schedules and their firings: the queries of the scheduler loop, the API and the pages.

A due schedule is claimed with a row lock that other schedulers skip (PostgreSQL's FOR UPDATE SKIP
LOCKED; on SQLite the write transaction itself is the lock), and each firing is inserted under the
unique (schedule_id, scheduled_at), so a time fires once however many schedulers run.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, Text, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from jobdeck.domain import LIVE_STATUSES, Status
from jobdeck.store.schema import firings, runs, schedules

_LIVE = [s.value for s in LIVE_STATUSES]


def _locked(conn: Connection, query: Select[Any]) -> Select[Any]:
    """Lock the rows read, skipping those another scheduler holds (PostgreSQL only)."""
    return query.with_for_update(skip_locked=True) if conn.dialect.name == "postgresql" else query


@dataclass(frozen=True)
class Work:
    """Which of the loop's steps have something to do."""

    due: bool
    following: bool
    queued: bool
    stale_pending: bool


def work(conn: Connection, now: datetime, lease_ended: datetime) -> Work:
    """What the loop has to do at `now`, in one round trip (each part an index lookup)."""

    def exists(query: Select[Any]) -> Any:
        return query.limit(1).exists()

    query = select(
        exists(select(schedules.c.id).where(schedules.c.next_run_at <= now, schedules.c.paused.is_(False))),
        exists(
            select(schedules.c.id).where(schedules.c.after_job.is_not(None), schedules.c.paused.is_(False))
        ),
        exists(select(firings.c.id).where(firings.c.state == "queued")),
        exists(select(firings.c.id).where(firings.c.state == "pending", firings.c.fired_at < lease_ended)),
    )
    row = conn.execute(query).one()
    return Work(*(bool(v) for v in row))


# --- schedules ------------------------------------------------------------------------------------


def add_many(conn: Connection, made: Sequence[Mapping[str, Any]]) -> None:
    if made:
        conn.execute(insert(schedules), list(made))


def get(conn: Connection, schedule_id: str, lock: bool = False) -> dict[str, Any] | None:
    """One schedule; `lock` holds it (waiting for another scheduler) until the transaction ends."""
    query = select(schedules).where(schedules.c.id == schedule_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def list_all(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(schedules).order_by(schedules.c.name, schedules.c.id)).mappings()
    return [dict(r) for r in rows]


def change(conn: Connection, schedule_id: str, values: Mapping[str, Any]) -> bool:
    """Update a schedule's columns; False when there is no such schedule."""
    result = conn.execute(update(schedules).where(schedules.c.id == schedule_id).values(**values))
    return result.rowcount > 0


def remove(conn: Connection, schedule_id: str) -> bool:
    """Delete a schedule and its firings; False when there is no such schedule."""
    conn.execute(delete(firings).where(firings.c.schedule_id == schedule_id))
    return conn.execute(delete(schedules).where(schedules.c.id == schedule_id)).rowcount > 0


def due(conn: Connection, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Active schedules due at `now`, oldest first, locked for this transaction."""
    query = (
        select(schedules)
        .where(schedules.c.next_run_at <= now, schedules.c.paused.is_(False))
        .order_by(schedules.c.next_run_at)
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(_locked(conn, query)).mappings()]


def next_due_at(conn: Connection) -> datetime | None:
    """When the next active schedule is due."""
    query = select(func.min(schedules.c.next_run_at)).where(schedules.c.paused.is_(False))
    value: datetime | None = conn.execute(query).scalar()
    return value


def following(conn: Connection, limit: int = 1000) -> list[dict[str, Any]]:
    """Active schedules that fire after another job's success, locked for this transaction."""
    query = (
        select(schedules)
        .where(schedules.c.after_job.is_not(None), schedules.c.paused.is_(False))
        .order_by(schedules.c.id)
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(_locked(conn, query)).mappings()]


def successes_after(conn: Connection, job: str, since: datetime, limit: int) -> list[tuple[str, datetime]]:
    """(run_id, finished_at) of `job`'s runs that succeeded after `since`, oldest first."""
    query = (
        select(runs.c.run_id, runs.c.finished_at)
        .where(runs.c.job == job, runs.c.status == Status.SUCCEEDED.value, runs.c.finished_at > since)
        .order_by(runs.c.finished_at)
        .limit(limit)
    )
    return [(r.run_id, r.finished_at) for r in conn.execute(query)]


# --- firings --------------------------------------------------------------------------------------


@functools.cache
def _add_firing_statement(dialect_name: str) -> Any:
    """The insert of a firing, built once per dialect (building it per firing costs more than
    running it)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (
        dialect.insert(firings)
        .values(
            schedule_id=bindparam("f_schedule_id"),
            scheduled_at=bindparam("f_scheduled_at", type_=firings.c.scheduled_at.type),
            fired_at=bindparam("f_fired_at", type_=firings.c.fired_at.type),
            state=bindparam("f_state"),
            run_id=bindparam("f_run_id"),
            detail=bindparam("f_detail"),
        )
        .on_conflict_do_nothing(index_elements=["schedule_id", "scheduled_at"])
        .returning(firings.c.id)
    )


def add_firing(
    conn: Connection,
    schedule_id: str,
    scheduled_at: datetime,
    fired_at: datetime,
    state: str,
    run_id: str | None = None,
    detail: str | None = None,
) -> int | None:
    """Insert a firing; its id, or None when this schedule already fired at that time."""
    params = {
        "f_schedule_id": schedule_id,
        "f_scheduled_at": scheduled_at,
        "f_fired_at": fired_at,
        "f_state": state,
        "f_run_id": run_id,
        "f_detail": detail,
    }
    firing_id: int | None = conn.execute(_add_firing_statement(conn.dialect.name), params).scalar()
    return firing_id


_ADVANCE = (
    update(schedules)
    .where(schedules.c.id == bindparam("s_id"))
    .values(
        next_run_at=bindparam("s_next_run_at", type_=schedules.c.next_run_at.type),
        executions=bindparam("s_executions"),
    )
)


def advance(conn: Connection, steps: Sequence[tuple[str, datetime | None, int]]) -> None:
    """Set many schedules' next time and count of firings at once: (id, next_run_at, executions)."""
    if steps:
        params = [{"s_id": i, "s_next_run_at": at, "s_executions": n} for i, at, n in steps]
        conn.execute(_ADVANCE, params)


_MARK = (
    update(firings)
    .where(firings.c.id == bindparam("m_id"), firings.c.state == bindparam("m_from"))
    .values(
        state=bindparam("m_to"), detail=func.coalesce(bindparam("m_detail", type_=Text()), firings.c.detail)
    )
)


def mark_firings(conn: Connection, marks: Sequence[tuple[int, str, str, str | None]]) -> None:
    """Move many firings from one state to another: (id, from, to, detail or None to keep it)."""
    if marks:
        params = [{"m_id": i, "m_from": a, "m_to": b, "m_detail": d} for i, a, b, d in marks]
        conn.execute(_MARK, params)


def move_firing(conn: Connection, firing_id: int, from_state: str, to_state: str, **values: Any) -> bool:
    """Move a firing from one state to another unless another scheduler moved it first."""
    statement = (
        update(firings)
        .where(firings.c.id == firing_id, firings.c.state == from_state)
        .values(state=to_state, **values)
    )
    return conn.execute(statement).rowcount > 0


def in_state(
    conn: Connection, state: str, before: datetime | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Firings in `state` (fired before `before`), oldest first, locked for this transaction."""
    query = select(firings).where(firings.c.state == state)
    if before is not None:
        query = query.where(firings.c.fired_at < before)
    query = query.order_by(firings.c.scheduled_at, firings.c.id).limit(limit)
    return [dict(r) for r in conn.execute(_locked(conn, query)).mappings()]


def waiting(conn: Connection, schedule_id: str, states: Sequence[str] = ("pending", "queued")) -> bool:
    """True when the schedule has a firing in `states` (by default: not started yet)."""
    query = select(firings.c.id).where(
        firings.c.schedule_id == schedule_id, firings.c.state.in_(list(states))
    )
    return conn.execute(query.limit(1)).first() is not None


def history(conn: Connection, schedule_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """A schedule's newest firings with their runs' status."""
    query = (
        select(firings, runs.c.status.label("run_status"), runs.c.duration_s)
        .select_from(firings.outerjoin(runs, runs.c.run_id == firings.c.run_id))
        .where(firings.c.schedule_id == schedule_id)
        .order_by(firings.c.scheduled_at.desc(), firings.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def firing_counts(conn: Connection, schedule_id: str) -> dict[str, int]:
    query = (
        select(firings.c.state, func.count())
        .where(firings.c.schedule_id == schedule_id)
        .group_by(firings.c.state)
    )
    return {state: n for state, n in conn.execute(query).tuples()}


# --- the runs of schedules ------------------------------------------------------------------------


def live_runs(conn: Connection, schedule_id: str) -> list[str]:
    """The run ids of a schedule's runs still pending or running."""
    query = select(runs.c.run_id).where(runs.c.schedule_id == schedule_id, runs.c.status.in_(_LIVE))
    return list(conn.execute(query).scalars())


def last_runs(conn: Connection, schedule_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The newest run of each schedule: run_id, status, run_at, finished_at."""
    found: dict[str, dict[str, Any]] = {}
    for schedule_id in schedule_ids:
        query = (
            select(runs.c.run_id, runs.c.status, runs.c.run_at, runs.c.finished_at, runs.c.duration_s)
            .where(runs.c.schedule_id == schedule_id)
            .order_by(runs.c.run_at.desc())
            .limit(1)
        )
        row = conn.execute(query).mappings().first()
        if row is not None:
            found[schedule_id] = dict(row)
    return found


def fired_times(conn: Connection, schedule_id: str, states: Sequence[str]) -> list[datetime]:
    """The scheduled times of a schedule's firings in `states`, oldest first (tests and benches)."""
    query = (
        select(firings.c.scheduled_at)
        .where(and_(firings.c.schedule_id == schedule_id, firings.c.state.in_(list(states))))
        .order_by(firings.c.scheduled_at)
    )
    return list(conn.execute(query).scalars())


def change_firing_time(conn: Connection, firing_id: int, fired_at: datetime) -> None:
    """Renew a pending firing's lease (a scheduler takes over starting it)."""
    conn.execute(update(firings).where(firings.c.id == firing_id).values(fired_at=fired_at))
