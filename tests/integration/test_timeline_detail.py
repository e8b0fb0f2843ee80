"""/api/v1/timeline over more runs than it draws as bars: busy lanes come in buckets from the rollups,
quiet lanes keep their bars, nothing is cut, and a zoomed range gets its own bars (both backends)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from jobdeck.events import Event, make_event
from jobdeck.recorder import Recorder
from jobdeck.web.api import models
from tests.run_data import NOW

START = NOW - timedelta(hours=6)


def busy_and_quiet() -> list[Event]:
    """`busy`: 300 runs of 90 s a minute apart (every tenth failed); `quiet`: 3 runs an hour apart."""
    batch = []
    for i in range(300):
        at = START + timedelta(minutes=i)
        batch.append(make_event(f"busy-{i}", "started", at, {"job": "busy"}))
        outcome = "failed" if i % 10 == 0 else "succeeded"
        batch.append(make_event(f"busy-{i}", outcome, at + timedelta(seconds=90), {}))
    for i in range(3):
        at = START + timedelta(hours=i)
        batch.append(make_event(f"quiet-{i}", "started", at, {"job": "quiet"}))
        batch.append(make_event(f"quiet-{i}", "succeeded", at + timedelta(seconds=20), {}))
    return batch


def test_busy_lanes_come_in_buckets_and_quiet_lanes_keep_their_bars(
    client: TestClient, recorder: Recorder
) -> None:
    recorder.record(busy_and_quiet())
    answer = client.get("/api/v1/timeline", params={"hours": 24, "limit": 100, "columns": 100})
    models.Timeline.model_validate_json(answer.content)  # the documented shape, buckets and all
    body = answer.json()
    jobs = {j["job"]: j for j in body["jobs"]}
    assert jobs["busy"]["detail"] == "buckets"
    assert jobs["quiet"]["detail"] == "bars"
    assert body["detail"] == "mixed"
    assert body["step"] == 3600 * 1000
    assert not body["truncated"]
    busy = [j["job"] for j in body["jobs"]].index("busy")
    buckets = [b for b in body["buckets"] if b[0] == busy]
    # Every run of the window is counted, and every failure.
    assert sum(b[3] for b in buckets) == jobs["busy"]["runs"] == 300
    assert sum(b[5] for b in buckets) == 30
    # A bucket is shown with its worst status: failed where it holds a failure, else succeeded.
    assert {b[7] for b in buckets if b[5]} == {"failed"}
    assert {b[7] for b in buckets if not b[5]} <= {"succeeded"}
    assert all(b[2] - b[1] == 3600 * 1000 for b in buckets)
    # 90 s runs a minute apart: a full hour holds 90 run-minutes in 60, so overlaps are certain.
    assert any(b[9] for b in buckets)
    assert body["bucket_overlaps"]
    assert body["runs_in_view"] == 303
    assert {bar[5] for bar in body["runs"]} == {"quiet-0", "quiet-1", "quiet-2"}
    # Zoomed into ten minutes, the busy job's runs are few enough to come as bars, with exact overlaps.
    since = (START + timedelta(minutes=100)).isoformat()
    until = (START + timedelta(minutes=110)).isoformat()
    zoomed = client.get(
        "/api/v1/timeline", params={"since": since, "until": until, "limit": 100, "columns": 100}
    ).json()
    assert zoomed["detail"] == "bars"
    assert zoomed["buckets"] == []
    assert {bar[5] for bar in zoomed["runs"]} >= {f"busy-{i}" for i in range(100, 110)}
    assert zoomed["max_concurrency"] == 2


def test_all_bars_when_the_window_fits(client: TestClient, recorder: Recorder) -> None:
    recorder.record(busy_and_quiet())
    body = client.get("/api/v1/timeline", params={"hours": 24}).json()
    assert body["detail"] == "bars"
    assert body["buckets"] == []
    assert body["step"] is None
    assert len(body["runs"]) == 303
    assert not body["truncated"]
    assert client.get("/api/v1/timeline", params={"hours": 24, "columns": 10}).status_code == 422
