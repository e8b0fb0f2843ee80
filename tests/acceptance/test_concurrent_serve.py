"""Two `jobdeck serve` processes on one PostgreSQL database, several writers sending events of the
same runs to both in different orders: no errors, and the store holds the fold of everything sent.
The load is bench/concurrent_writers.py's, smaller."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import select

from jobdeck.events import fold
from jobdeck.store import Store, run_writes, verify
from jobdeck.store.schema import runs
from jobdeck.web.api.ingest import decode_events
from tests.services import fresh_pg_database

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
import concurrent_writers as load


@pytest.mark.postgres
def test_two_servers_and_four_writers_store_the_fold_of_everything_sent(tmp_path: Path) -> None:
    per_run = load.workload(300, seed=7)
    plans = load.streams(per_run, writers=4, seed=7)
    with fresh_pg_database("jobdeck_load") as db, ExitStack() as stack:
        load.migrate(db, tmp_path)
        bases = [stack.enter_context(load.server(db, tmp_path)) for _ in range(2)]
        outcome = load.drive(bases, plans, batch=20)
        assert outcome.errors == []
        assert outcome.batches == 4 * 300 * 4 // 20
        store = Store(db)
        try:
            with store.read() as conn:
                stored = {row.run_id: row._mapping for row in conn.execute(select(runs))}
                assert sorted(stored) == sorted(per_run)
                for run_id, wire in per_run.items():
                    events = decode_events(json.dumps(wire).encode(), len(wire)).events
                    expected = run_writes.row_of(fold(run_id, events))
                    assert {k: stored[run_id][k] for k in expected} == expected
                assert verify.differences(conn) == []
        finally:
            store.close()
