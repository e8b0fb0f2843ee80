"""Two writers recording events of the same runs at once end with the same runs as one writer."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jobdeck.events import fold, make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store, key_locks, run_writes, verify
from jobdeck.store.schema import runs
from tests.strategies import BASE


def test_concurrent_writers_agree_with_the_fold(store: Store) -> None:
    rnd = random.Random(3)
    per_run = {}
    for i in range(60):
        rid, job = f"r{i}", {"job": f"job{i % 4}"}
        per_run[rid] = [
            make_event(rid, "enqueued", BASE, job),
            make_event(rid, "started", BASE + timedelta(seconds=1), {**job, "worker": "w"}),
            make_event(rid, "progress", BASE + timedelta(seconds=2), {**job, "items_succeeded": i}),
            make_event(rid, rnd.choice(["succeeded", "failed"]), BASE + timedelta(seconds=3 + i), job),
        ]
    streams = []
    for _ in range(3):
        stream = [e for evs in per_run.values() for e in evs]
        rnd.shuffle(stream)
        streams.append(stream)
    errors: list[BaseException] = []

    def write(stream: list) -> None:  # type: ignore[type-arg]
        recorder = Recorder(store)  # no retries needed: creating the same run twice is locked out
        try:
            for start in range(0, len(stream), 25):
                recorder.record(stream[start : start + 25])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s,)) for s in streams]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(runs)).scalar() == 60
        for rid, evs in per_run.items():
            expected = run_writes.row_of(fold(rid, evs))
            row = conn.execute(select(runs).where(runs.c.run_id == rid)).one()._mapping
            assert {k: row[k] for k in expected} == expected
        assert verify.differences(conn) == []


@pytest.mark.postgres
def test_a_batch_of_fifty_thousand_runs_takes_a_bounded_number_of_locks(pg_url: str) -> None:
    """A lock per run id would overflow PostgreSQL's shared lock table ("out of shared memory")."""
    store = Store(pg_url)
    try:
        with store.write() as conn:
            key_locks.lock(conn, key_locks.RUNS, [f"run-{i}" for i in range(50_000)])
            held = conn.exec_driver_sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").scalar()
        assert held == key_locks.SLOTS
    finally:
        store.close()
