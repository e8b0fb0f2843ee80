"""The seed dashboard's endpoints and /api/v1/overlaps, /api/v1/timeline, over both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from jobdeck.events import Event, make_event
from jobdeck.recorder import Recorder
from tests.run_data import NOW, record_history

T = NOW - timedelta(hours=2)


def overlapping() -> list[Event]:
    """a [0, 100), b [50, 200), c [60, 70) seconds after T: three pairs, three at once at the peak."""
    spans = {"a": (0, 100, "succeeded"), "b": (50, 200, "failed"), "c": (60, 70, "succeeded")}
    batch = []
    for name, (start, end, outcome) in spans.items():
        batch.append(make_event(f"ov-{name}", "started", T + timedelta(seconds=start), {"job": "report"}))
        batch.append(make_event(f"ov-{name}", outcome, T + timedelta(seconds=end), {}))
    return batch


def test_seed_jobs_lists_runs_in_the_seed_vocabulary(client: TestClient, recorder: Recorder) -> None:
    record_history(recorder)
    body = client.post("/api/jobs", json={"hours": 24, "jobType": "all"}).json()
    assert body["count"] == 153
    assert len(body["jobs"]) == 153
    assert set(body["job_types"]) == {"clip_sync", "hot_score_refresh", "webhook_retry"}
    first = body["jobs"][0]
    assert set(first) >= {"id", "job_type", "status", "created_at", "started_at", "completed_at"}
    statuses = {job["status"] for job in body["jobs"]}
    assert statuses == {"completed", "failed", "running", "pending"}
    one = client.post("/api/jobs", json={"hours": 1, "jobType": "clip_sync"}).json()
    assert one["jobs"]
    assert {job["job_type"] for job in one["jobs"]} == {"clip_sync"}
    assert client.post("/api/jobs", json={}).status_code == 200
    assert client.post("/api/jobs", json={"hours": -1}).status_code == 422


def test_seed_stats_totals_per_job_type(client: TestClient, recorder: Recorder) -> None:
    record_history(recorder)
    body = client.post("/api/stats", json={"hours": 24}).json()
    by_type = {s["job_type"]: s for s in body["stats"]}
    assert sum(s["total"] for s in body["stats"]) == body["totals"]["total"] == 153
    assert body["totals"]["failed"] == 30
    assert body["totals"]["completed"] == 120
    assert body["totals"]["running"] == 2
    assert by_type["clip_sync"]["failed"] == 10
    assert by_type["clip_sync"]["avg_duration_seconds"] == 3.0


def test_overlaps_by_sweep(client: TestClient, recorder: Recorder) -> None:
    recorder.record(overlapping())
    body = client.get("/api/v1/overlaps", params={"hours": 24}).json()
    pairs = {(o["a"], o["b"]): o["seconds"] for o in body["overlaps"]}
    assert pairs == {("ov-a", "ov-b"): 50, ("ov-a", "ov-c"): 10, ("ov-b", "ov-c"): 10}
    assert body["overlaps"][0]["seconds"] == 50  # longest first
    start = datetime.fromisoformat(body["overlaps"][0]["start"])
    assert start == T + timedelta(seconds=50)
    assert body["max_concurrency"] == 3
    assert [n for _, n in body["concurrency"]] == [1, 2, 3, 2, 1, 0]
    seed = client.post("/api/overlaps", json={"hours": 24}).json()
    assert seed["count"] == 3
    assert seed["overlaps"][0]["overlap_seconds"] == 50
    assert seed["overlaps"][0]["job1"]["job_type"] == "report"
    assert client.get("/api/v1/overlaps", params={"hours": 1}).json()["overlaps"] == []


def test_timeline_lanes_and_running_runs(client: TestClient, recorder: Recorder) -> None:
    recorder.record(overlapping())
    record_history(recorder)
    body = client.get("/api/v1/timeline", params={"hours": 24}).json()
    jobs = {j["job"]: j for j in body["jobs"]}
    assert jobs["report"]["lanes"] == 3
    assert jobs["clip_sync"]["lanes"] == 1
    names = [j["job"] for j in body["jobs"]]
    report = names.index("report")
    assert [r for r in body["overlaps"] if r[0] == report] == [
        [
            report,
            int((T + timedelta(seconds=50)).timestamp() * 1000),
            int((T + timedelta(seconds=100)).timestamp() * 1000),
            3,
        ]
    ]
    running = [bar for bar in body["runs"] if bar[4] == "running"]
    assert {bar[5] for bar in running} == {"live-0", "live-1"}
    assert all(bar[3] >= bar[2] for bar in body["runs"])
    # A run that started before the window and is still running is drawn.
    old = make_event("old", "started", datetime.now(UTC) - timedelta(hours=30), {"job": "slow"})
    recorder.record([old])
    body = client.get("/api/v1/timeline", params={"hours": 1}).json()
    assert "old" in {bar[5] for bar in body["runs"]}
