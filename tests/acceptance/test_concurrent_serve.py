"""Two `jobdeck serve` processes on one PostgreSQL database, several writers sending events of the
same runs to both in different orders: no errors, and the store holds the fold of everything sent.
The load is bench/concurrent_writers.py's, smaller."""

from __future__ import annotations

import json
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from jobdeck.cli.run import wire
from jobdeck.events import Event, fold
from jobdeck.store import Store, run_writes, verify
from jobdeck.store.schema import runs
from jobdeck.web.api.ingest import decode_events
from tests.services import fresh_pg_database
from tests.strategies import run_events

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


# --- the same promise as a property: any runs, any split into batches, any order, replays ---------


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """One PostgreSQL database and two `jobdeck serve` processes on it, for every example (each
    example's runs have ids of their own)."""
    cwd = tmp_path_factory.mktemp("two-servers")
    with fresh_pg_database("jobdeck_prop") as db, ExitStack() as stack:
        load.migrate(db, cwd)
        yield db, [stack.enter_context(load.server(db, cwd)) for _ in range(2)]


def _post_at_once(bases: list[str], plans: list[list[list[dict[str, Any]]]]) -> list[str]:
    """Post plan i's batches to server i from a thread of its own, both starting together; the
    answers that were not 202."""
    gate = threading.Barrier(len(plans))
    problems: list[str] = []

    def send(base: str, batches: list[list[dict[str, Any]]]) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            gate.wait()
            for batch in batches:
                answer = client.post("/api/v1/events", json=batch)
                if answer.status_code != 202:
                    problems.append(f"{answer.status_code} {answer.text[:300]}")

    threads = [threading.Thread(target=send, args=pair) for pair in zip(bases, plans, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return problems


@pytest.mark.postgres
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_batches_arriving_at_once_on_two_servers_end_in_the_fold_of_everything(
    two_servers: tuple[str, list[str]], data: st.DataObject
) -> None:
    db, bases = two_servers
    prefix = uuid.uuid4().hex[:12]
    per_run: dict[str, list[Event]] = {}
    for number in range(data.draw(st.integers(1, 6), label="runs")):
        run_id = f"{prefix}-{number}"
        job = data.draw(st.sampled_from(["sync", "report"]), label="job")
        # Every event names its job: a run's events may reach either server first.
        events = data.draw(run_events(run_id, job), label=run_id)
        per_run[run_id] = [e._replace(data={**e.data, "job": job}) for e in events]
    everything = [event for events in per_run.values() for event in events]
    # Each event goes to one server or both (a replay), in an order of its own on each.
    n = len(everything)
    sent_to = data.draw(st.lists(st.sampled_from([0, 1, 2]), min_size=n, max_size=n), label="servers")
    plans = []
    for server in (0, 1):
        mine = [wire(e) for e, where in zip(everything, sent_to, strict=True) if where in (server, 2)]
        mine = data.draw(st.permutations(mine), label=f"order on server {server}")
        size = data.draw(st.integers(1, 8), label=f"batch size on server {server}")
        plans.append([mine[i : i + size] for i in range(0, len(mine), size)])
    assert _post_at_once(bases, plans) == []
    store = Store(db)
    try:
        with store.read() as conn:
            stored = {
                row.run_id: row._mapping
                for row in conn.execute(select(runs).where(runs.c.run_id.like(f"{prefix}-%")))
            }
            assert sorted(stored) == sorted(per_run)
            for run_id, events in per_run.items():
                expected = run_writes.row_of(fold(run_id, events))
                assert {k: stored[run_id][k] for k in expected} == expected
            assert verify.differences(conn) == []
    finally:
        store.close()
