"""The demo's recording side: batches, the live loop's single step under a fixed clock, where to start."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobdeck.config import Settings
from jobdeck.demo import live_loop
from jobdeck.demo.workload import Stream
from jobdeck.events import Event
from jobdeck.recorder import Recorded, Recorder
from jobdeck.store import Store
from jobdeck.web.app import create_app

START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


class FakeRecorder:
    """Keeps the batches it is given, as Recorder.record would store them."""

    def __init__(self, fail: int = 0) -> None:
        self.batches: list[list[Event]] = []
        self.fail = fail

    def record(self, batch: Sequence[Event]) -> Recorded:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("database is locked")
        self.batches.append(list(batch))
        return Recorded(len(batch), len({e.run_id for e in batch}), ())


def _loop(recorder: Any, stream: Stream, clock: live_loop.Clock = live_loop.utc_now) -> live_loop.LiveLoop:
    return live_loop.LiveLoop(recorder, stream, tick_s=0.05, clock=clock)


def test_record_in_batches_keeps_the_order_and_the_size() -> None:
    events = Stream(START, seed=1).advance(START + timedelta(hours=2))
    recorder, sizes = FakeRecorder(), []
    live_loop.record_in_batches(recorder, events, batch_size=100, on_batch=sizes.append)  # type: ignore[arg-type]
    assert sum(sizes) == len(events)
    assert max(sizes) == 100
    recorded = [e for batch in recorder.batches for e in batch]
    assert [e.key for e in recorded] == [e.to_event().key for e in events]


def test_each_step_records_what_came_due_since_the_last() -> None:
    now = [START + timedelta(minutes=10)]
    recorder = FakeRecorder()
    loop = _loop(recorder, Stream(START, seed=2), clock=lambda: now[0])
    first = loop.run_once()
    assert first > 0
    assert len(recorder.batches) == 1
    assert loop.run_once() == 0, "nothing new at the same moment"
    now[0] += timedelta(minutes=1)
    assert loop.run_once() > 0, "webhook_retry alone runs every minute"
    assert all(START <= e.at < now[0] for batch in recorder.batches for e in batch)


def test_a_failed_step_keeps_its_events_for_the_next() -> None:
    recorder = FakeRecorder(fail=1)
    loop = _loop(recorder, Stream(START, seed=2))
    with pytest.raises(RuntimeError):
        loop.run_once(START + timedelta(minutes=5))
    assert loop.run_once(START + timedelta(minutes=6)) > 0
    recorded = {e.key for e in recorder.batches[0]}
    expected = Stream(START, seed=2).advance(START + timedelta(minutes=6))
    assert recorded == {e.to_event().key for e in expected}


def test_where_the_stream_starts(sqlite_store: Store) -> None:
    now = START + timedelta(days=3)
    assert live_loop.starting_point(sqlite_store, now, days=7) == live_loop.StartingPoint(
        now - timedelta(days=7), "backfill"
    )
    assert live_loop.starting_point(sqlite_store, now, days=7, backfill=False) == live_loop.StartingPoint(
        now, "live"
    )
    events = Stream(START, seed=3).advance(START + timedelta(hours=10))
    live_loop.record_in_batches(Recorder(sqlite_store), events)
    point = live_loop.starting_point(sqlite_store, now, days=7)
    assert point.reason == "resume"
    assert START + timedelta(hours=5) < point.start < START + timedelta(hours=10)


def test_resuming_with_the_same_seed_adds_no_duplicates(sqlite_store: Store) -> None:
    recorder = Recorder(sqlite_store)
    live_loop.record_in_batches(recorder, Stream(START, seed=4).advance(START + timedelta(hours=6)))
    # A restart re-plans a few hours already recorded: the recorder knows those events.
    again = Stream(START + timedelta(hours=2), seed=4).advance(START + timedelta(hours=6))
    assert live_loop.record_in_batches(recorder, again) == 0


def test_the_loop_runs_with_the_app_and_stops_with_it(sqlite_store: Store) -> None:
    app = create_app(Settings(database_url=sqlite_store.url), sqlite_store)
    now = datetime.now(UTC)
    loop = _loop(app.state.recorder, Stream(now - timedelta(minutes=30), seed=5))
    app.state.services.add(loop)
    with TestClient(app) as client:
        for _ in range(100):
            if client.get("/api/v1/runs", params={"hours": 1}).json()["runs"]:
                break
            loop._stop.wait(0.05)
        assert client.get("/api/v1/runs", params={"hours": 1}).json()["runs"]
    assert not loop._thread.is_alive()
