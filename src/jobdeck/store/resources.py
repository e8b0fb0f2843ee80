"""CPU seconds and peak memory of a job's runs over a window: what the job page shows beside durations.

Runs record `cpu_s` and `max_rss_mb` (the SDK, `jobdeck run` and the local executor report them); the
rollups do not keep them, so this reads the job's runs through the (job, run_at) index. It is asked for
one job at a time, never for every job over a long window.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from jobdeck.store.schema import runs


def resource_use(conn: Connection, job: str, since: datetime, until: datetime) -> dict[str, Any]:
    """Average and maximum CPU seconds and peak memory (MB) of the job's runs that reported them."""
    query = select(
        func.count(runs.c.cpu_s),
        func.avg(runs.c.cpu_s),
        func.max(runs.c.cpu_s),
        func.count(runs.c.max_rss_mb),
        func.avg(runs.c.max_rss_mb),
        func.max(runs.c.max_rss_mb),
    ).where(runs.c.job == job, runs.c.run_at >= since, runs.c.run_at <= until)
    cpu_n, cpu_avg, cpu_max, mem_n, mem_avg, mem_max = conn.execute(query).one()
    return {
        "job": job,
        "cpu_runs": int(cpu_n or 0),
        "cpu_avg_s": float(cpu_avg) if cpu_avg is not None else None,
        "cpu_max_s": float(cpu_max) if cpu_max is not None else None,
        "memory_runs": int(mem_n or 0),
        "memory_avg_mb": float(mem_avg) if mem_avg is not None else None,
        "memory_max_mb": float(mem_max) if mem_max is not None else None,
    }
