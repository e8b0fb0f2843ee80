"""The read API answers truthfully about a known data set, on both backends."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobdeck.events import make_event
from jobdeck.recorder import Recorder

NOW = datetime.now(UTC).replace(microsecond=0)


def known_runs(recorder: Recorder, n: int = 120, seed: int = 7) -> list[dict[str, Any]]:
    """Record n runs of three jobs over the last 20 hours; return what each should be."""
    rnd = random.Random(seed)
    truth, batch = [], []
    for i in range(n):
        job = ("clip_sync", "hot_score_refresh", "webhook_retry")[i % 3]
        start = NOW - timedelta(hours=20) + timedelta(minutes=10 * i)
        duration = round(rnd.lognormvariate(2, 0.8), 3)
        status = "failed" if i % 7 == 0 else "succeeded"
        queue = "high" if i % 2 else "default"
        rid = f"run-{i:03d}"
        batch += [
            make_event(rid, "enqueued", start - timedelta(seconds=3), {"job": job, "queue": queue}),
            make_event(rid, "started", start, {"worker": f"w{i % 2}"}),
            make_event(
                rid,
                status,
                start + timedelta(seconds=duration),
                {"error_type": "ValueError", "error_message": f"bad {i}"} if status == "failed" else {},
            ),
        ]
        truth.append({"run_id": rid, "job": job, "status": status, "duration": duration, "queue": queue})
    for i in range(2):
        batch.append(make_event(f"live-{i}", "started", NOW - timedelta(minutes=1), {"job": "clip_sync"}))
    batch.append(make_event("waiting", "enqueued", NOW - timedelta(seconds=30), {"job": "webhook_retry"}))
    rnd.shuffle(batch)
    recorder.record(batch)
    return truth


def exact_quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.floor(q * (len(ordered) - 1))]


def test_jobs_and_stats_match_the_raw_runs(client: TestClient, recorder: Recorder) -> None:
    truth = known_runs(recorder)
    jobs = {j["job"]: j for j in client.get("/api/v1/jobs?hours=24").json()["jobs"]}
    assert set(jobs) == {"clip_sync", "hot_score_refresh", "webhook_retry"}
    for name, summary in jobs.items():
        mine = [t for t in truth if t["job"] == name]
        durations = [t["duration"] for t in mine]
        ok = sum(t["status"] == "succeeded" for t in mine)
        live = 2 if name == "clip_sync" else 0
        waiting = 1 if name == "webhook_retry" else 0
        assert summary["runs"] == len(mine) + live + waiting
        assert summary["succeeded"] == ok
        assert summary["failed"] == len(mine) - ok
        assert summary["running"] == live
        assert summary["success_rate"] == round(100 * ok / len(mine), 2)
        assert summary["avg_duration_s"] == pytest.approx(sum(durations) / len(durations))
        assert summary["min_duration_s"] == pytest.approx(min(durations))
        assert summary["max_duration_s"] == pytest.approx(max(durations))
        for q, key in ((0.5, "p50_duration_s"), (0.95, "p95_duration_s")):
            assert summary[key] == pytest.approx(exact_quantile(durations, q), rel=0.02)
        assert summary["last_status"] in ("running", "pending", "succeeded", "failed")

    stats = client.get("/api/v1/stats?hours=24").json()
    assert stats["total"] == len(truth) + 3
    assert stats["succeeded"] == sum(t["status"] == "succeeded" for t in truth)
    assert stats["failed"] == sum(t["status"] == "failed" for t in truth)
    assert (stats["running"], stats["pending"]) == (2, 1)
    assert stats["avg_duration_s"] == pytest.approx(sum(t["duration"] for t in truth) / len(truth))


def test_windows_count_runs_by_their_start(client: TestClient, recorder: Recorder) -> None:
    known_runs(recorder)
    # One run every 10 minutes from 20 h ago: the last hour holds runs 114..119 plus the 3 live ones.
    since = (NOW - timedelta(hours=1)).isoformat()
    stats = client.get("/api/v1/stats", params={"since": since}).json()
    assert stats["total"] == 6 + 3
    assert client.get("/api/v1/stats?hours=48").json()["total"] == 123


def test_runs_list_filters_and_paginates(client: TestClient, recorder: Recorder) -> None:
    truth = known_runs(recorder)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"job": "clip_sync", "status": "failed", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/runs", params=params).json()
        seen += [r["run_id"] for r in page["runs"]]
        assert all(r["job"] == "clip_sync" and r["status"] == "failed" for r in page["runs"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    expected = sorted(
        (t["run_id"] for t in truth if t["job"] == "clip_sync" and t["status"] == "failed"), reverse=True
    )
    assert seen == expected
    high = client.get("/api/v1/runs", params={"queue": "high", "limit": 1000}).json()["runs"]
    assert len(high) == sum(t["queue"] == "high" for t in truth)
    first = client.get("/api/v1/runs?limit=1").json()["runs"][0]
    for key in (
        "run_id",
        "job",
        "status",
        "queue",
        "worker",
        "created_at",
        "started_at",
        "finished_at",
        "duration_s",
        "attempt",
        "parent_run_id",
        "error_type",
        "error_message",
    ):
        assert key in first


def test_run_detail_and_404(client: TestClient, recorder: Recorder) -> None:
    known_runs(recorder)
    run = client.get("/api/v1/runs/run-007").json()
    assert (run["status"], run["error_type"], run["error_message"]) == ("failed", "ValueError", "bad 7")
    assert run["retried_by"] == []
    r = client.get("/api/v1/runs/nope")
    assert r.status_code == 404
    assert "nope" in r.json()["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "hours=0",
        "hours=-3",
        "hours=abc",
        "since=2026-01-01T00:00:00",
        "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
        "hours=3&since=2026-01-01T00:00:00Z",
        "cursor=!!notacursor",
        "limit=0",
        "status=exploded",
    ],
)
def test_bad_query_parameters_are_422(client: TestClient, query: str) -> None:
    r = client.get(f"/api/v1/runs?{query}")
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


def test_health_reports_the_store(client: TestClient, store: Any) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "healthy"
    assert body["store"] == {"backend": store.backend, "migrated": True}


def test_health_is_503_when_the_store_is_unreachable(tmp_path: Any) -> None:
    from jobdeck.config import Settings
    from jobdeck.store import Store
    from jobdeck.web.app import create_app

    url = "postgresql://postgres@127.0.0.1:1/none"
    with TestClient(create_app(Settings(database_url=url), Store(url))) as client:
        r = client.get("/api/health")
    assert r.status_code == 503
    assert r.json()["status"] == "unhealthy"


WINDOWED = [
    "/api/v1/runs",
    "/api/v1/jobs",
    "/api/v1/stats",
    "/api/v1/timeseries",
    "/api/v1/heatmap",
    "/api/v1/overlaps",
    "/api/v1/timeline",
    "/api/v1/export/runs",
    "/api/v1/export/failures",
    "/api/v1/export/jobs",
]


@pytest.mark.parametrize("path", WINDOWED)
@pytest.mark.parametrize(
    "query",
    [
        "until=0001-01-01T00:00:00Z",
        "since=0001-01-01T00:00:00%2B14:00",
        "until=9999-12-31T23:59:59-14:00",
        "since=1899-12-31T00:00:00Z&until=2026-01-01T00:00:00Z",
        "until=2500-01-02T00:00:00Z",
    ],
)
def test_times_at_the_ends_of_the_calendar_are_422_not_500(sqlite_store: Any, path: str, query: str) -> None:
    from jobdeck.config import Settings
    from jobdeck.web.app import create_app

    app = create_app(Settings(database_url=sqlite_store.url), sqlite_store)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get(f"{path}?{query}")
    assert r.status_code == 422, r.text
    assert "between 1900 and 2500" in r.json()["detail"]


@pytest.mark.parametrize("path", WINDOWED)
def test_the_earliest_time_an_event_may_have_is_a_valid_window_start(sqlite_store: Any, path: str) -> None:
    from jobdeck.config import Settings
    from jobdeck.web.app import create_app

    app = create_app(Settings(database_url=sqlite_store.url), sqlite_store)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get(f"{path}?since=1900-01-01T00:00:00Z")
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path", ["/api/v1/runs", "/api/v1/runs/r-1", "/api/v1/jobs", "/api/v1/stats"])
def test_reads_are_503_with_the_reason_when_the_store_is_unreachable(path: str) -> None:
    from jobdeck.config import Settings
    from jobdeck.store import Store
    from jobdeck.web.app import create_app

    url = "postgresql://postgres@127.0.0.1:1/none"
    app = create_app(Settings(database_url=url), Store(url))
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get(path)
    assert r.status_code == 503, r.text
    assert r.json()["detail"].startswith("the store is unavailable: ")
    assert r.headers["retry-after"]
