"""Alert state, history, thresholds, silences and expectations; the reads the evaluator needs.

The evaluator reads one snapshot per evaluation: minute rollups of the last ten minutes, duration
sketches of the last day (hour cells, cached while unchanged), each job's latest runs (an index
seek per job), running runs and pending runs per queue. Nothing scans the runs table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Connection, String, bindparam, delete, func, insert, select, text, update

from jobdeck.store import bulk, rollups
from jobdeck.store import runs as run_rows
from jobdeck.store.schema import (
    alert_history,
    alert_silences,
    alert_states,
    alert_thresholds,
    counters,
    job_expectations,
    runs,
)
from jobdeck.store.schema import rollups as cells

EVALUATION_SLOT = "alert_evaluation"


# --- the evaluation slot ---------------------------------------------------------------------------


def claim_evaluation(conn: Connection, now_ms: int, every_ms: int) -> bool:
    """Take the evaluation due at `now_ms` for this replica; False when another one took it.

    The slot is a counter holding when the next evaluation is due; an UPDATE that moves it forward
    only if it is due succeeds for exactly one replica (rowcount), on SQLite and PostgreSQL alike.
    """
    mark = bulk.placeholder(conn)
    conn.exec_driver_sql(
        f"INSERT INTO counters (name, value) VALUES ({mark}, 0) ON CONFLICT (name) DO NOTHING",
        (EVALUATION_SLOT,),
    )
    # Due slightly early still counts, so replicas on the same period do not skip a turn.
    claimed = conn.execute(
        update(counters)
        .where(counters.c.name == EVALUATION_SLOT, counters.c.value <= now_ms + every_ms // 10)
        .values(value=now_ms + every_ms)
    )
    return claimed.rowcount == 1


# --- what the rules look at -------------------------------------------------------------------------


def window_totals(conn: Connection, since: int, until: int) -> dict[str, dict[str, Any]]:
    """Counters per job over [since, until) epoch seconds (minute cells at the edges)."""
    return rollups.totals_by_job(conn, since, until)


def duration_bins(conn: Connection, since: int, until: int) -> dict[str, dict[int, int]]:
    """Duration sketches per job over [since, until)."""
    return dict(rollups.bins_by_job(conn, since, until, rollups.DURATION))


_RECENT_COLUMNS = ("run_at", "status", "started_at", "finished_at", "duration_s")
# One statement for every job on PostgreSQL: a LATERAL backward seek on (job, run_at) per job, the
# range bounded by row comparisons as in runs.latest_by_job (so the planner does not walk
# ix_runs_run_at back instead).
_RECENT_PG = text(
    "SELECT j.job, r.run_at, r.status, r.started_at, r.finished_at, r.duration_s "
    "FROM unnest(:jobs) AS j(job) CROSS JOIN LATERAL (SELECT run_at, status, started_at, finished_at, "
    "duration_s FROM runs WHERE (runs.job, runs.run_at) <= (j.job, 'infinity'::timestamptz) "
    "AND runs.job >= j.job ORDER BY runs.job DESC, runs.run_at DESC LIMIT :limit) r"
).bindparams(bindparam("jobs", type_=ARRAY(String)))


def recent_runs(conn: Connection, jobs: Sequence[str], limit: int) -> dict[str, list[dict[str, Any]]]:
    """Each job's latest runs, newest first: a backward index seek on (job, run_at) per job."""
    result: dict[str, list[dict[str, Any]]] = {job: [] for job in jobs}
    if conn.dialect.name == "postgresql":
        for row in conn.execute(_RECENT_PG, {"jobs": list(jobs), "limit": limit}):
            result[row[0]].append(dict(zip(_RECENT_COLUMNS, row[1:], strict=True)))
        return result
    columns = [runs.c[name] for name in _RECENT_COLUMNS]
    for job in jobs:
        query = select(*columns).where(runs.c.job == job).order_by(runs.c.run_at.desc()).limit(limit)
        result[job] = [dict(row._mapping) for row in conn.execute(query)]
    return result


def running_runs(conn: Connection) -> list[dict[str, Any]]:
    """Runs running now (the partial index of live runs)."""
    query = select(runs.c.run_id, runs.c.job, runs.c.started_at).where(runs.c.status == "running")
    return [dict(row._mapping) for row in conn.execute(query)]


def last_success(conn: Connection, jobs: Sequence[str]) -> dict[str, datetime]:
    """When each job's latest successful run ended."""
    latest = run_rows.latest_by_job(conn, jobs)
    return {job: found["last_success_at"] for job, found in latest.items() if found["last_success_at"]}


def known_jobs(conn: Connection) -> list[str]:
    """Every job with a day cell (of all time: a job that stopped long ago still fails its staleness
    rules), or with a declared expectation; read from the (granularity, job, bucket) index."""
    query = select(cells.c.job).where(cells.c.granularity == 86400).distinct()
    names = {job for (job,) in conn.execute(query)}
    names.update(job for (job,) in conn.execute(select(job_expectations.c.job)))
    return sorted(names)


# --- thresholds ---------------------------------------------------------------------------------------


def thresholds(conn: Connection) -> dict[tuple[str, str], dict[str, Any]]:
    """Settings over the defaults by (rule, job); job "" is the rule's global setting."""
    return {
        (row.rule, row.job): {"threshold": row.threshold, "hold_s": row.hold_s, "enabled": row.enabled}
        for row in conn.execute(select(alert_thresholds))
    }


def set_threshold(
    conn: Connection, rule: str, job: str, threshold: float | None, hold_s: int | None, enabled: bool
) -> None:
    """Set (replace) a rule's setting globally (job "") or for one job."""
    conn.execute(
        delete(alert_thresholds).where(alert_thresholds.c.rule == rule, alert_thresholds.c.job == job)
    )
    conn.execute(
        insert(alert_thresholds).values(
            rule=rule, job=job, threshold=threshold, hold_s=hold_s, enabled=enabled
        )
    )


def clear_threshold(conn: Connection, rule: str, job: str) -> int:
    found = conn.execute(
        delete(alert_thresholds).where(alert_thresholds.c.rule == rule, alert_thresholds.c.job == job)
    )
    return int(found.rowcount)


# --- states and history ---------------------------------------------------------------------------------


def states(conn: Connection) -> dict[tuple[str, str], dict[str, Any]]:
    """Every stored state by (rule, subject); a pair without a row is ok."""
    return {(row.rule, row.subject): dict(row._mapping) for row in conn.execute(select(alert_states))}


def save_states(
    conn: Connection, changed: Iterable[Mapping[str, Any]], removed: Iterable[tuple[str, str]]
) -> None:
    """Write changed states (replacing their rows) and drop the pairs back to ok."""
    for rule, subject in removed:
        conn.execute(
            delete(alert_states).where(alert_states.c.rule == rule, alert_states.c.subject == subject)
        )
    for row in changed:
        conn.execute(
            delete(alert_states).where(
                alert_states.c.rule == row["rule"], alert_states.c.subject == row["subject"]
            )
        )
        conn.execute(insert(alert_states).values(**row))


def add_history(conn: Connection, entries: Sequence[Mapping[str, Any]]) -> None:
    if entries:
        conn.execute(insert(alert_history), list(entries))


def history(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """The latest changes of state, newest first."""
    query = select(alert_history).order_by(alert_history.c.at.desc(), alert_history.c.id.desc()).limit(limit)
    return [dict(row._mapping) for row in conn.execute(query)]


def firing_count(conn: Connection) -> int:
    query = select(func.count()).select_from(alert_states).where(alert_states.c.state == "firing")
    return int(conn.execute(query).scalar_one())


# --- silences -----------------------------------------------------------------------------------------


def silences(conn: Connection) -> list[dict[str, Any]]:
    query = select(alert_silences).order_by(alert_silences.c.id)
    return [dict(row._mapping) for row in conn.execute(query)]


def add_silence(conn: Connection, values: Mapping[str, Any]) -> int:
    result = conn.execute(insert(alert_silences).values(**values).returning(alert_silences.c.id))
    return int(result.scalar_one())


def remove_silence(conn: Connection, silence_id: int) -> bool:
    return bool(conn.execute(delete(alert_silences).where(alert_silences.c.id == silence_id)).rowcount)


def drop_expired_silences(conn: Connection, now: datetime) -> int:
    """Delete one-off silences that ended (recurring windows stay)."""
    query = delete(alert_silences).where(
        alert_silences.c.cron.is_(None), alert_silences.c.ends_at.is_not(None), alert_silences.c.ends_at < now
    )
    return int(conn.execute(query).rowcount)


# --- expectations -----------------------------------------------------------------------------------------


def expectations(conn: Connection) -> dict[str, dict[str, Any]]:
    return {row.job: dict(row._mapping) for row in conn.execute(select(job_expectations))}


def set_expectation(conn: Connection, values: Mapping[str, Any]) -> None:
    """Create or replace a job's expectation (the latest declaration wins)."""
    conn.execute(delete(job_expectations).where(job_expectations.c.job == values["job"]))
    conn.execute(insert(job_expectations).values(**values))
