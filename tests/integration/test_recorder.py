"""The recorder on SQLite and PostgreSQL: idempotent, order-tolerant, rollups exact."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from jobdeck.events import fold, make_event
from jobdeck.recorder import MissingJob, Recorder
from jobdeck.store import Store, run_writes, verify
from jobdeck.store.schema import metadata, rollups, runs
from tests.strategies import BASE, run_events


def stored(store: Store, run_id: str) -> dict[str, Any]:
    with store.read() as conn:
        row = conn.execute(select(runs).where(runs.c.run_id == run_id)).one()
    data = dict(row._mapping)
    data.pop("id")
    return data


def empty(store: Store) -> None:
    with store.write() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    evs=run_events(),
    rnd=st.randoms(use_true_random=False),
    dups=st.integers(0, 3),
    batches=st.integers(1, 4),
)
def test_any_permutation_duplication_and_batching_stores_the_same_run(
    store: Store, evs: list, rnd: Any, dups: int, batches: int
) -> None:
    empty(store)
    recorder = Recorder(store)
    stream = evs + [rnd.choice(evs) for _ in range(dups)]
    rnd.shuffle(stream)
    # The job is named by the first event of the stream (a source always sends it first).
    first = next(e for e in evs if "job" in e.data)
    stream.remove(first)
    stream.insert(0, first)
    size = max(1, len(stream) // batches)
    for start in range(0, len(stream), size):
        recorder.record(stream[start : start + size])
    expected = run_writes.row_of(fold("run-1", evs))
    row = stored(store, "run-1")
    for name, value in expected.items():
        assert row[name] == value, name
    with store.read() as conn:
        assert verify.differences(conn) == []


def test_replaying_a_batch_changes_nothing(recorder: Recorder, store: Store) -> None:
    batch = [
        make_event("a", "enqueued", BASE, {"job": "sync", "queue": "q"}),
        make_event("a", "started", BASE + timedelta(seconds=2), {"worker": "w"}),
        make_event("a", "succeeded", BASE + timedelta(seconds=7), {"items_succeeded": 3}),
    ]
    first = recorder.record(batch)
    before = stored(store, "a")
    again = recorder.record(batch)
    assert (first.applied_events, again.applied_events, again.runs_changed) == (3, 0, 0)
    assert stored(store, "a") == before
    with store.read() as conn:
        assert conn.execute(select(rollups.c.runs).where(rollups.c.granularity == 60)).scalar() == 1


def test_a_run_that_fails_after_running_moves_between_rollup_counts(recorder: Recorder, store: Store) -> None:
    recorder.record([make_event("a", "started", BASE, {"job": "sync"})])
    recorder.record([make_event("a", "failed", BASE + timedelta(seconds=9), {"error_type": "IOError"})])
    with store.read() as conn:
        row = conn.execute(select(rollups).where(rollups.c.granularity == 3600)).one()
        assert (row.runs, row.running, row.failed, row.dur_count, row.dur_max) == (1, 0, 1, 1, 9.0)
        assert verify.differences(conn) == []


def test_late_started_moves_the_run_to_its_start_bucket(recorder: Recorder, store: Store) -> None:
    recorder.record([make_event("a", "enqueued", BASE - timedelta(hours=2), {"job": "sync"})])
    recorder.record([make_event("a", "succeeded", BASE + timedelta(seconds=30), {})])
    recorder.record([make_event("a", "started", BASE, {})])
    row = stored(store, "a")
    assert (row["started_at"], row["duration_s"]) == (BASE, 30.0)
    with store.read() as conn:
        assert verify.differences(conn) == []


def test_an_outcome_changing_recomputes_min_and_max(recorder: Recorder, store: Store) -> None:
    for i, seconds in enumerate((5, 50)):
        recorder.record(
            [
                make_event(f"r{i}", "started", BASE, {"job": "sync"}),
                make_event(f"r{i}", "succeeded", BASE + timedelta(seconds=seconds), {}),
            ]
        )
    # Cancelled outranks succeeded at the same instant; its duration no longer counts.
    recorder.record([make_event("r1", "cancelled", BASE + timedelta(seconds=50), {})])
    with store.read() as conn:
        assert verify.differences(conn) == []
        assert conn.execute(select(rollups.c.dur_max).where(rollups.c.granularity == 60)).scalar() == 5.0


def test_unknown_run_without_job_is_refused_and_nothing_is_stored(recorder: Recorder, store: Store) -> None:
    batch = [
        make_event("ok", "started", BASE, {"job": "sync"}),
        make_event("orphan", "started", BASE, {}),
    ]
    with pytest.raises(MissingJob):
        recorder.record(batch)
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(runs)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(rollups)).scalar() == 0
