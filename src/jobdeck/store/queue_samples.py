"""Queue sizes over time: the sampler's writes (one row per queue and minute) and the reads of the
`queue_size` time series and the Queues page's sparklines."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, case, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from jobdeck.integrations.queues import QueueState
from jobdeck.store.schema import queue_samples
from jobdeck.store.timeseries import grid_for

MINUTE = 60
# States that no longer wait or run: not part of a queue's size.
FINISHED_STATES = frozenset({"completed", "failed", "finished", "canceled", "cancelled"})


def size_of(counts: dict[str, int]) -> int:
    """What still waits or runs in a queue: every count but finished states'."""
    return sum(n for state, n in counts.items() if state not in FINISHED_STATES)


@dataclass(frozen=True, slots=True)
class QueueKey:
    system: str
    broker: str
    queue: str


def write(conn: Connection, at_s: float, states: Iterable[QueueState]) -> int:
    """Store one sample of each queue in its minute's row (the last sample and the minute's largest)."""
    bucket = int(at_s) - int(at_s) % MINUTE
    rows = [
        {
            "bucket": bucket,
            "system": s.system,
            "broker": s.broker[:400],
            "queue": s.name[:200],
            "size": size_of(s.counts),
            "size_max": size_of(s.counts),
            "counts": dict(s.counts),
        }
        for s in states
    ]
    if not rows:
        return 0
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(queue_samples)
    excluded = statement.excluded
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["bucket", "system", "broker", "queue"],
            set_={
                "size": excluded.size,
                "counts": excluded.counts,
                "size_max": case(
                    (queue_samples.c.size_max > excluded.size_max, queue_samples.c.size_max),
                    else_=excluded.size_max,
                ),
            },
        ),
        rows,
    )
    return len(rows)


def delete_before(conn: Connection, before_s: float) -> int:
    """Drop samples of minutes before `before_s` (retention)."""
    result = conn.execute(delete(queue_samples).where(queue_samples.c.bucket < int(before_s)))
    return int(result.rowcount or 0)


def series(
    conn: Connection, since: int, until: int, queue: str | None = None, step: int | None = None
) -> tuple[int, list[tuple[QueueKey, list[tuple[int, float | None]]]]]:
    """(step, [(queue, [(t, largest size in the step or None), …]), …]) over [since, until)."""
    grid = grid_for(since, until, max(step or 0, MINUTE))
    t = (queue_samples.c.bucket - queue_samples.c.bucket % grid.step).label("t")
    query = select(
        queue_samples.c.system,
        queue_samples.c.broker,
        queue_samples.c.queue,
        t,
        func.max(queue_samples.c.size_max),
    ).where(queue_samples.c.bucket >= grid.lo, queue_samples.c.bucket < grid.hi)
    if queue is not None:
        query = query.where(queue_samples.c.queue == queue)
    query = query.group_by(queue_samples.c.system, queue_samples.c.broker, queue_samples.c.queue, t)
    found: dict[QueueKey, dict[int, float]] = defaultdict(dict)
    for system, broker, name, at, value in conn.execute(query):
        found[QueueKey(system, broker, name)][int(at)] = float(value)
    ordered = sorted(found.items(), key=lambda item: (item[0].queue, item[0].system, item[0].broker))
    return grid.step, [(key, [(t, points.get(t)) for t in grid.times]) for key, points in ordered]
