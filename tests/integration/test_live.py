"""Live updates: the SSE stream announces recorded changes, from this process, another writer of the
store (SQLite change check) and another replica (PostgreSQL LISTEN/NOTIFY); shutdown ends streams."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from jobdeck.config import Settings
from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.web import live
from jobdeck.web.app import create_app


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, object]]]:
    name = ""
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield name, json.loads(line.removeprefix("data: "))


def started(run_id: str) -> list[object]:
    return [make_event(run_id, "started", datetime.now(UTC), {"job": "live_job"})]


def test_stream_announces_changes_from_the_recorder_and_other_writers(store: Store) -> None:
    app = create_app(Settings(database_url=store.url), store)
    with TestClient(app) as client, client.stream("GET", "/api/v1/stream") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.iter_lines())
        assert next(events)[0] == "hello"
        app.state.recorder.record(started("here"))
        name, data = next(events)
        assert name == "change"
        assert data["run_ids"] == ["here"]
        assert data["runs"] == 1
        # Another writer of the same store (the SDK's direct transport, another replica).
        Recorder(store).record(started("elsewhere"))
        name, _ = next(events)
        assert name == "change"
        version = client.get("/api/v1/changes").json()["version"]
        assert version > 0
    assert app.state.live.closed
    assert app.state.live.subscribers == 0


def test_replicas_hear_each_other(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two apps on one store: an event recorded by one reaches the other's viewers (on PostgreSQL by
    NOTIFY alone: the change check is slowed down past the test's length)."""
    if store.backend == "postgresql":
        monkeypatch.setattr(live, "POLL_S", 3600.0)
    one = create_app(Settings(database_url=store.url), store)
    two = create_app(Settings(database_url=store.url), store)
    with TestClient(one) as first, TestClient(two) as second:
        with second.stream("GET", "/api/v1/stream") as response:
            events = sse_events(response.iter_lines())
            assert next(events)[0] == "hello"
            first.post("/api/v1/events", json={"run_id": "r1", "event": "started", "job": "live_job"})
            name, _ = next(events)
            assert name == "change"
        assert first.get("/api/v1/changes").json() == second.get("/api/v1/changes").json()
