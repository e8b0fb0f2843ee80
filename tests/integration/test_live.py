"""Live updates: the SSE stream announces recorded changes, from this process, another writer of the
store (SQLite change check) and another replica (PostgreSQL LISTEN/NOTIFY); shutdown ends streams."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import fastapi.routing
import httpx2 as httpx
import pytest
import uvicorn
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


def test_an_idle_stream_gets_keep_alives_and_a_gone_browser_is_dropped_at_once(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a real server: comments keep an idle stream open, and a browser that goes away stops
    being a subscriber without waiting for the next one."""
    monkeypatch.setattr(fastapi.routing, "_PING_INTERVAL", 0.2)
    app = create_app(Settings(database_url=sqlite_store.url), sqlite_store)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn-live", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive(), "the server did not start"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        with httpx.stream("GET", f"http://127.0.0.1:{port}/api/v1/stream", timeout=5) as response:
            lines = response.iter_lines()
            assert next(lines) == "event: hello"
            assert next(line for line in lines if line.startswith(":")) == ": ping"
            assert app.state.live.subscribers == 1
        deadline = time.monotonic() + 2
        while app.state.live.subscribers and time.monotonic() < deadline:
            time.sleep(0.02)
        assert app.state.live.subscribers == 0
    finally:
        app.state.live.close()
        server.should_exit = True
        thread.join(timeout=15)


def test_a_failing_change_check_says_so_once_and_once_when_it_works_again(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(live, "POLL_S", 0.02)
    caplog.set_level(logging.WARNING, logger="jobdeck.web.live")
    app = create_app(Settings(database_url=sqlite_store.url), sqlite_store)

    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "jobdeck.web.live"]

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 5
        while len(lines()) < count and time.monotonic() < deadline:
            time.sleep(0.02)

    with TestClient(app) as client, client.stream("GET", "/api/v1/stream") as response:
        events = sse_events(response.iter_lines())  # kept open: a viewer, so the check runs
        assert next(events)[0] == "hello"
        with sqlite_store.write() as conn:  # the counter's table goes away for a while
            conn.exec_driver_sql("ALTER TABLE counters RENAME TO counters_away")
        wait_for(1)
        time.sleep(0.3)  # many more failed checks
        with sqlite_store.write() as conn:
            conn.exec_driver_sql("ALTER TABLE counters_away RENAME TO counters")
        wait_for(2)
    assert len(lines()) == 2, lines()
    assert lines()[0].startswith("change check failed (")
    assert lines()[1] == "change check works again"
    assert all(r.exc_info is None for r in caplog.records if r.name == "jobdeck.web.live")
