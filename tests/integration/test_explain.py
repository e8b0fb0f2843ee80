"""The main reads use indexes: no full scan of runs or rollups (EXPLAIN on both backends)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event

from jobdeck.events import make_event
from jobdeck.recorder import Recorder, record_events
from jobdeck.store import Store, failures, reports, rollups, timeline, timeseries
from jobdeck.store import runs as run_rows

NOW = datetime.now(UTC)
BIG_TABLES = ("runs", "rollups", "failure_rollups")


@contextmanager
def captured(store: Store) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)


def full_scans(conn: Connection, statement: str, parameters: Any) -> list[str]:
    """The plan lines that read a whole big table."""
    if conn.dialect.name == "sqlite":
        plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
        return [line for line in plan if any(line == f"SCAN {t}" for t in BIG_TABLES)]
    plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]
    return [line for line in plan if any(f"Seq Scan on {t} " in line + " " for t in BIG_TABLES)]


READS: dict[str, Callable[[Connection], object]] = {
    "list runs": lambda c: run_rows.list_runs(c, since=NOW - timedelta(days=30), until=NOW),
    "list a job's failures": lambda c: run_rows.list_runs(c, job="job1", status=["failed"]),
    "list by status": lambda c: run_rows.list_runs(c, status=["failed"], since=NOW - timedelta(days=1)),
    "next page": lambda c: run_rows.list_runs(c, cursor=run_rows.encode_cursor(NOW, 10**6)),
    "one run": lambda c: run_rows.get_run(c, "r17"),
    "live counts": lambda c: run_rows.live_counts(c),
    "latest per job": lambda c: run_rows.latest_by_job(c, ["job0", "job1", "job2", "never_ran"]),
    "job summaries": lambda c: reports.job_summaries(c, NOW - timedelta(days=30), NOW),
    "stats": lambda c: reports.stats(c, NOW - timedelta(days=30), NOW),
    "series": lambda c: timeseries.series(c, "duration_p95", 0, int(NOW.timestamp()), "job1"),
    "heatmap": lambda c: timeseries.heatmap(c, int(NOW.timestamp()) - 86400, int(NOW.timestamp())),
    "failure groups": lambda c: failures.failure_groups(c, NOW - timedelta(days=1), NOW),
    "one job's failure groups": lambda c: failures.failure_groups(c, NOW - timedelta(days=30), NOW, "job1"),
    "latest per job before a time": lambda c: run_rows.latest_by_job(
        c, ["job0", "job1"], NOW - timedelta(days=1)
    ),
    "durations of few-run jobs": lambda c: run_rows.durations_by_job(
        c, NOW - timedelta(days=30), NOW, ["job1"]
    ),
    "timeline counts": lambda c: timeline.runs_in_view(c, NOW - timedelta(days=30), NOW),
    "timeline buckets, a few jobs": lambda c: timeline.buckets(
        c, NOW - timedelta(days=30), NOW, 10800, ["job1"]
    ),
    "timeline buckets, many jobs": lambda c: timeline.buckets(
        c, NOW - timedelta(days=1), NOW, 300, [f"job{i}" for i in range(20)]
    ),
    "timeline bars of some jobs": lambda c: timeline.runs_overlapping(
        c, NOW - timedelta(days=1), NOW, jobs=["job0", "job2"]
    ),
    # The recorder's own reads: the stored runs of a batch and the rollup cells it touches.
    "recording": lambda c: record_events(
        c, [make_event("r3", "heartbeat", NOW, {}), make_event("new", "started", NOW, {"job": "job1"})]
    ),
}


@pytest.mark.parametrize("name", list(READS))
def test_main_reads_use_indexes(store: Store, name: str) -> None:
    batch = []
    for i in range(300):
        at = NOW - timedelta(minutes=7 * i)
        batch += [
            make_event(f"r{i}", "started", at, {"job": f"job{i % 3}"}),
            make_event(f"r{i}", "failed" if i % 5 == 0 else "succeeded", at + timedelta(seconds=i % 40), {}),
        ]
    Recorder(store).record(batch)
    rollups.range_cache.clear()
    with store.write() as conn:
        if conn.dialect.name == "postgresql":
            # A small table is cheaper to scan, so make scans unattractive: only a missing index remains.
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        with captured(store) as statements:
            READS[name](conn)
        assert statements
        for statement, parameters in statements:
            assert full_scans(conn, statement, parameters) == [], statement


def test_a_full_scan_is_noticed(store: Store) -> None:
    with store.write() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        query = f"SELECT * FROM runs WHERE error_message = {mark}"  # noqa: S608 - the dialect's placeholder
        assert full_scans(conn, query, ("x",)) != []
