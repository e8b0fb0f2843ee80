"""POST /api/v1/events: accepted batches, and bad input refused whole with nothing stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from jobdeck.store import Store
from jobdeck.store.schema import rollups, runs


def counts(store: Store) -> tuple[int, int]:
    with store.read() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar() for t in (runs, rollups)
        )


def test_one_event_object_is_accepted(client: TestClient, store: Store) -> None:
    r = client.post("/api/v1/events", json={"run_id": "a", "job": "sync", "event": "started"})
    assert r.status_code == 202
    assert r.json() == {"accepted": 1}
    run = client.get("/api/v1/runs/a").json()
    assert run["status"] == "running"
    assert run["started_at"] is not None


def test_a_batch_is_accepted_and_folded(client: TestClient) -> None:
    batch = [
        {"run_id": "a", "job": "sync", "event": "enqueued", "at": "2026-11-22T10:00:00Z", "queue": "hi"},
        {"run_id": "a", "event": "succeeded", "at": "2026-11-22T10:00:09+01:00", "result": {"ok": True}},
        {"run_id": "a", "event": "started", "at": "2026-11-22T09:59:59+01:00", "worker": "w1"},
    ]
    assert client.post("/api/v1/events", json=batch).json() == {"accepted": 3}
    run = client.get("/api/v1/runs/a").json()
    assert run["status"] == "succeeded"
    assert run["duration_s"] == 10.0
    assert run["queue"] == "hi"
    assert run["worker"] == "w1"
    assert run["result"] == {"ok": True}
    assert run["started_at"] == "2026-11-22T08:59:59Z"


GOOD = {"run_id": "ok", "job": "sync", "event": "started", "at": "2026-11-22T10:00:00Z"}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"job": "sync", "event": "started"}, "event 1: field 'run_id'"),
        ({"run_id": "x", "job": "sync", "event": "exploded"}, "event 1: field 'event'"),
        ({"run_id": "x", "job": "sync", "event": "started", "at": "2026-11-22T10:00:00"}, "field 'at'"),
        ({"run_id": "x", "job": "sync", "event": "started", "at": "yesterday"}, "field 'at'"),
        (
            {"run_id": "x", "job": "sync", "event": "started", "at": "1492-10-12T00:00:00Z"},
            "event 1: field 'at'",
        ),
        ({"run_id": "x", "job": "s" * 201, "event": "started"}, "field 'job'"),
        ({"run_id": "x", "job": "sync", "event": "failed", "traceback": "t" * 200_001}, "field 'traceback'"),
        ({"run_id": "x", "job": "sync", "event": "started", "colour": "red"}, "field 'colour'"),
        ({"run_id": "x", "job": "sync", "event": "progress", "items_failed": -1}, "field 'items_failed'"),
        ({"run_id": "x", "event": "started"}, "event 1: field 'job'"),
        ("not an object", "event 1: must be a JSON object"),
    ],
)
def test_an_invalid_event_rejects_the_whole_batch(
    client: TestClient, store: Store, bad: Any, message: str
) -> None:
    r = client.post("/api/v1/events", json=[GOOD, bad])
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"]
    assert counts(store) == (0, 0)


def test_malformed_json_is_422(client: TestClient, store: Store) -> None:
    r = client.post("/api/v1/events", content=b"[{", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert "not valid JSON" in r.json()["detail"]
    r = client.post("/api/v1/events", json=42)
    assert r.status_code == 422
    assert counts(store) == (0, 0)


def test_oversized_request_is_413(store: Store) -> None:
    from jobdeck.config import Settings
    from jobdeck.web.app import create_app

    small = Settings(database_url=store.url, max_request_bytes=2048, max_batch_events=3)
    with TestClient(create_app(small, store)) as client:
        big = json.dumps([GOOD | {"error_message": "x" * 3000}]).encode()
        r = client.post("/api/v1/events", content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert "2048 bytes" in r.json()["detail"]
        r = client.post("/api/v1/events", json=[GOOD] * 4)
        assert r.status_code == 413
        assert "at most 3 events" in r.json()["detail"]
    assert counts(store) == (0, 0)


def test_bad_input_never_touches_stored_runs(client: TestClient, store: Store) -> None:
    client.post("/api/v1/events", json=GOOD)
    before = client.get("/api/v1/runs/ok").json()
    r = client.post("/api/v1/events", json=[{"run_id": "ok", "event": "failed"}, {"run_id": "y"}])
    assert r.status_code == 422
    assert client.get("/api/v1/runs/ok").json() == before


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_json_numbers_only(client: TestClient, store: Store, number: str) -> None:
    for field in ("args", "result"):
        body = f'[{{"run_id": "n", "job": "sync", "event": "started", "{field}": [1, {{"x": {number}}}]}}]'
        r = client.post("/api/v1/events", content=body.encode(), headers={"content-type": "application/json"})
        assert r.status_code == 422, r.text
        assert f"event 0: field '{field}'" in r.json()["detail"]
        assert "NaN" in r.json()["detail"]
    assert counts(store) == (0, 0)


def test_nul_characters_are_replaced_alike_on_both_backends(client: TestClient) -> None:
    event = {
        "run_id": "nul\u0000id",
        "job": "j\u0000b",
        "event": "failed",
        "error_message": "a\u0000b",
        "args": [{"k\u0000": "v\u0000"}],
        "labels": {"env": "p\u0000"},
    }
    assert client.post("/api/v1/events", json=event).status_code == 202
    run = client.get("/api/v1/runs/nul\ufffdid").json()
    assert (run["job"], run["error_message"]) == ("j\ufffdb", "a\ufffdb")
    assert run["args"] == [{"k\ufffd": "v\ufffd"}]
    assert run["labels"] == {"env": "p\ufffd"}


def test_event_times_far_from_now_are_refused_naming_at(store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    from jobdeck.config import Settings
    from jobdeck.web.app import create_app

    now = datetime.now(UTC)
    with TestClient(create_app(Settings(database_url=store.url), store)) as client:
        for at in ("1999-12-31T23:59:59Z", (now + timedelta(days=2)).isoformat()):
            answer = client.post("/api/v1/events", json={**GOOD, "at": at})
            assert answer.status_code == 422, at
            assert "event 0: field 'at'" in answer.json()["detail"], at
        assert (
            client.post(
                "/api/v1/events", json={**GOOD, "at": (now + timedelta(hours=1)).isoformat()}
            ).status_code
            == 202
        )
    later = Settings(database_url=store.url, earliest_event_at="1990-01-01T00:00:00Z", max_event_ahead_s=0)
    with TestClient(create_app(later, store)) as client:
        assert client.post("/api/v1/events", json={**GOOD, "at": "1999-12-31T23:59:59Z"}).status_code == 202
        answer = client.post("/api/v1/events", json={**GOOD, "at": (now + timedelta(minutes=5)).isoformat()})
        assert answer.status_code == 422


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("priority", "1"),
        ("priority", True),
        ("priority", 1.5),
        ("at", 1),
        ("at", "2026-11-22"),
        ("job", " "),
        ("job", ""),
        ("job", "tab\there"),
        ("run_id", "  "),
        ("pid", "3"),
        ("items_succeeded", "2"),
        ("attempt", False),
        ("cpu_s", "1.5"),
        ("eta", 1764000000),
    ],
)
def test_loose_values_are_refused_naming_the_field(
    client: TestClient, store: Store, field: str, value: Any
) -> None:
    r = client.post("/api/v1/events", json=[GOOD, {**GOOD, "run_id": "loose", field: value}])
    assert r.status_code == 422, r.text
    assert f"event 1: field '{field}'" in r.json()["detail"]
    assert counts(store) == (0, 0)


def test_names_are_trimmed(client: TestClient) -> None:
    event = {**GOOD, "run_id": "  trimmed-1 ", "job": "\u00a0etl daily  ", "queue": " q "}
    assert client.post("/api/v1/events", json=event).status_code == 202
    run = client.get("/api/v1/runs/trimmed-1").json()
    assert (run["run_id"], run["job"], run["queue"]) == ("trimmed-1", "etl daily", "q")
