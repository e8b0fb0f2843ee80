"""Migrations 0005 and 0006 keep a store written before them: runs get the join's fold state and
failed runs their fingerprints, bins move into their cells' sketches, failures are counted, and the
store goes on recording and verifying as if it had been new."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import MetaData, inspect, select

from jobdeck.analytics import sketch
from jobdeck.analytics.fingerprints import fingerprint
from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store, run_writes, verify
from jobdeck.store.engine import alembic_config
from jobdeck.store.schema import failure_rollups, rollups, runs
from tests.services import fresh_pg_database

CREATED = datetime(2026, 11, 3, 10, 0, 0, tzinfo=UTC)
STARTED = CREATED + timedelta(seconds=2)
FINISHED = STARTED + timedelta(seconds=7)


def _micros(at: datetime) -> int:
    return int((at - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1_000_000)


def _old_key(rank: int, at: datetime, kind: int) -> str:
    """A sort key as the recorder before 0005 wrote it: rank, micros + 2**62, kind, a content hash."""
    return f"{rank}{_micros(at) + 2**62:020d}{kind:02d}{'ab' * 8}"


def _time(store: Store, at: datetime) -> Any:
    return at.replace(tzinfo=None) if store.backend == "sqlite" else at


def _write_old_store(store: Store) -> None:
    """One finished run, its events and rollups, in the schema and format of revision 0004."""
    command.upgrade(alembic_config(store.engine), "0004")
    tables = MetaData()
    with store.write() as conn:
        tables.reflect(conn)
        t = tables.tables
        conn.execute(
            t["runs"].insert(),
            {
                "run_id": "m1",
                "job": "sync",
                "status": "succeeded",
                "queue": "q",
                "worker": "w",
                "labels": {"env": "prod"},
                "created_at": _time(store, CREATED),
                "started_at": _time(store, STARTED),
                "finished_at": _time(store, FINISHED),
                "heartbeat_at": _time(store, STARTED),
                "run_at": _time(store, STARTED),
                "duration_s": 7.0,
                "attempt": 1,
                "items_succeeded": 5,
                "fold_key": _old_key(3, FINISHED, 4),
                "fold_state": {"starts": [_micros(STARTED)], "enq": True},
            },
        )
        conn.execute(
            t["events"].insert(),
            [
                {
                    "run_id": "m1",
                    "key": _old_key(1, CREATED, 0),
                    "kind": "enqueued",
                    "at": _time(store, CREATED),
                    "data": {"job": "sync", "queue": "q", "labels": {"env": "prod"}},
                },
                {
                    "run_id": "m1",
                    "key": _old_key(1, STARTED, 1),
                    "kind": "started",
                    "at": _time(store, STARTED),
                    "data": {"worker": "w"},
                },
                {
                    "run_id": "m1",
                    "key": _old_key(3, FINISHED, 4),
                    "kind": "succeeded",
                    "at": _time(store, FINISHED),
                    "data": {"items_succeeded": 5},
                },
            ],
        )
        # A failed run of another job, never enqueued: 0006 gives it a fingerprint and counts it.
        conn.execute(
            t["runs"].insert(),
            {
                "run_id": "m2",
                "job": "report",
                "status": "failed",
                "error_type": "KeyError",
                "error_message": "order 12 not found",
                "created_at": _time(store, STARTED),
                "started_at": _time(store, STARTED),
                "finished_at": _time(store, STARTED + timedelta(seconds=3)),
                "heartbeat_at": _time(store, STARTED),
                "run_at": _time(store, STARTED),
                "duration_s": 3.0,
                "attempt": 1,
                "fold_key": _old_key(3, STARTED + timedelta(seconds=3), 5),
                "fold_state": {"starts": [_micros(STARTED)], "enq": False},
            },
        )
        at = int(STARTED.timestamp())
        for g in (60, 3600, 86400):
            bucket = at - at % g
            conn.execute(
                t["rollups"].insert(),
                {
                    "granularity": g,
                    "bucket": bucket,
                    "job": "report",
                    "runs": 1,
                    "failed": 1,
                    "dur_count": 1,
                    "dur_sum": 3.0,
                    "dur_min": 3.0,
                    "dur_max": 3.0,
                    "version": 5,
                },
            )
            conn.execute(
                t["rollup_bins"].insert(),
                {
                    "granularity": g,
                    "bucket": bucket,
                    "job": "report",
                    "metric": 0,
                    "bin": sketch.bin_of(3.0),
                    "n": 1,
                },
            )
            conn.execute(
                t["rollups"].insert(),
                {
                    "granularity": g,
                    "bucket": bucket,
                    "job": "sync",
                    "runs": 1,
                    "succeeded": 1,
                    "dur_count": 1,
                    "dur_sum": 7.0,
                    "dur_min": 7.0,
                    "dur_max": 7.0,
                    "wait_count": 1,
                    "wait_sum": 2.0,
                    "items_succeeded": 5,
                    "version": 3,
                },
            )
            conn.execute(
                t["rollup_bins"].insert(),
                [
                    {
                        "granularity": g,
                        "bucket": bucket,
                        "job": "sync",
                        "metric": 0,
                        "bin": sketch.bin_of(7.0),
                        "n": 1,
                    },
                    {
                        "granularity": g,
                        "bucket": bucket,
                        "job": "sync",
                        "metric": 1,
                        "bin": sketch.bin_of(2.0),
                        "n": 1,
                    },
                ],
            )


@pytest.fixture(params=["sqlite", "postgres"])
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store with no tables at all (its own database on PostgreSQL: the shared one stays migrated)."""
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'old.db'}")
        yield store
        store.close()
        return
    with fresh_pg_database("jobdeck_migration") as url:
        store = Store(url)
        yield store
        store.close()


def test_a_store_from_before_keeps_its_runs_and_rollups(empty_store: Store) -> None:
    store = empty_store
    _write_old_store(store)
    store.migrate()
    with store.read() as conn:
        names = set(inspect(conn).get_table_names())
        assert "events" not in names
        assert "rollup_bins" not in names
        row = dict(conn.execute(select(runs).where(runs.c.run_id == "m1")).one()._mapping)
        state = run_writes.state_of_row(row)
        assert (state.status.value, state.finished_at, state.started_at) == ("succeeded", FINISHED, STARTED)
        assert state.created_by_enqueue
        assert state.fields["worker"] == "w"
        failed = conn.execute(select(runs.c.fingerprint).where(runs.c.run_id == "m2")).scalar_one()
        assert failed == fingerprint("report", "KeyError", "order 12 not found")
        counted = conn.execute(select(failure_rollups.c.granularity, failure_rollups.c.n)).all()
        assert sorted(counted) == [(60, 1), (3600, 1), (86400, 1)]
        sketches = conn.execute(
            select(rollups.c.dur_hist, rollups.c.wait_hist).where(rollups.c.job == "sync")
        ).all()
        assert len(sketches) == 3
        for duration, wait in sketches:
            assert sketch.decode(duration) == {sketch.bin_of(7.0): 1}
            assert sketch.decode(wait) == {sketch.bin_of(2.0): 1}
        assert verify.differences(conn) == []
    recorder = Recorder(store)
    # A late heartbeat is older than the outcome: it changes nothing it reports.
    late = recorder.record([make_event("m1", "heartbeat", STARTED + timedelta(seconds=1), {"worker": "w2"})])
    assert late.runs_changed == 1  # its heartbeat time is newer, the worker is not
    # Cancelled outranks succeeded at the same instant: the migrated run moves between rollups.
    recorder.record([make_event("m1", "cancelled", FINISHED, {})])
    with store.read() as conn:
        row = dict(conn.execute(select(runs).where(runs.c.run_id == "m1")).one()._mapping)
        assert (row["status"], row["worker"], row["queue"]) == ("cancelled", "w", "q")
        assert verify.differences(conn) == []
