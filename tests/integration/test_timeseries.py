"""Time series and heatmaps from rollups agree with the raw runs, on both backends."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert

from jobdeck.analytics import sketch
from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store, rollups
from jobdeck.store.schema import rollups as rollup_cells
from jobdeck.store.timeseries import MAX_POINTS, grid_for

NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def record_history(recorder: Recorder) -> list[tuple[str, datetime, float, str]]:
    """Runs of two jobs every 7 minutes over the last 31 hours; returns (job, start, duration, status)."""
    rnd = random.Random(5)
    truth, batch = [], []
    for i in range(260):
        job = ("a", "b")[i % 2]
        start = NOW - timedelta(hours=31) + timedelta(minutes=7 * i, seconds=rnd.randint(0, 59))
        duration = round(rnd.lognormvariate(1.5, 0.6), 3)
        status = "failed" if i % 5 == 0 else "succeeded"
        rid = f"r{i}"
        batch += [
            make_event(rid, "enqueued", start - timedelta(seconds=i % 9), {"job": job}),
            make_event(rid, "started", start, {}),
            make_event(rid, status, start + timedelta(seconds=duration), {"items_succeeded": i % 4}),
        ]
        truth.append((job, start, duration, status))
    recorder.record(batch)
    return truth


def test_grid_keeps_series_short_and_aligned() -> None:
    for hours in (1, 6, 24, 24 * 7, 24 * 30, 24 * 365):
        grid = grid_for(1_700_000_123, 1_700_000_123 + hours * 3600)
        assert len(grid.times) <= MAX_POINTS + 1
        assert grid.lo % grid.step == 0
        assert grid.step % grid.granularity == 0
    assert grid_for(0, 3600).step == 60
    assert grid_for(0, 30 * 86400).step == 3600
    assert grid_for(0, 3600, step=900).step == 900


def test_run_and_failure_counts_per_step_match_the_runs(client: TestClient, recorder: Recorder) -> None:
    truth = record_history(recorder)
    for metric in ("runs", "failures", "items"):
        body = client.get(f"/api/v1/timeseries?metric={metric}&hours=48&step=3600").json()
        assert body["step_s"] == 3600
        got = {s["job"]: dict((t, v) for t, v in s["points"]) for s in body["series"]}
        expected: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        for i, (job, start, _, status) in enumerate(truth):
            t = int(start.timestamp()) // 3600 * 3600
            value = {"runs": 1, "failures": int(status == "failed"), "items": i % 4}[metric]
            expected[job][t] += value
        assert set(got) == {"a", "b"}
        for job, points in got.items():
            assert sum(points.values()) == sum(expected[job].values())
            for t, value in points.items():
                assert value == expected[job].get(t, 0), (metric, job, t)


def test_duration_quantiles_are_within_the_sketch_error(client: TestClient, recorder: Recorder) -> None:
    truth = record_history(recorder)
    body = client.get("/api/v1/timeseries?metric=duration_p95&job=a&hours=48&step=21600").json()
    assert [s["job"] for s in body["series"]] == ["a"]
    by_step: dict[int, list[float]] = defaultdict(list)
    for job, start, duration, _ in truth:
        if job == "a":
            by_step[int(start.timestamp()) // 21600 * 21600].append(duration)
    for t, value in body["series"][0]["points"]:
        durations = sorted(by_step.get(t, []))
        if not durations:
            assert value is None
            continue
        exact = durations[int(0.95 * (len(durations) - 1))]
        assert abs(value - exact) <= sketch.ALPHA * exact * 1.0001


def test_queue_wait_and_heatmap(client: TestClient, recorder: Recorder) -> None:
    truth = record_history(recorder)
    waits = client.get("/api/v1/timeseries?metric=queue_wait_p95&hours=48").json()
    values = [v for s in waits["series"] for _, v in s["points"] if v is not None]
    assert values
    assert max(values) <= 8 * (1 + sketch.ALPHA)
    heat = client.get("/api/v1/heatmap?hours=48&job=b").json()
    assert sum(n for _, _, n in heat["cells"]) == sum(1 for t in truth if t[0] == "b")
    for _, row, _ in heat["cells"]:
        low, high = heat["rows"][row]
        assert low < high
    # Wider columns on request: the same runs in fewer cells, each column a whole step.
    wide = client.get("/api/v1/heatmap?hours=48&job=b&step=3600").json()
    assert wide["step_s"] == 3600
    assert heat["step_s"] < 3600
    assert sum(n for _, _, n in wide["cells"]) == sum(n for _, _, n in heat["cells"])
    assert all(t % 3600 == 0 for t, _, _ in wide["cells"])
    assert client.get("/api/v1/heatmap?hours=48&step=5").status_code == 422
    assert client.get("/api/v1/timeseries?metric=nope").status_code == 422


def test_empty_store_gives_empty_series(client: TestClient) -> None:
    body = client.get("/api/v1/timeseries?hours=720").json()
    assert body == {"metric": "runs", "step_s": 3600, "series": []}
    assert client.get("/api/v1/heatmap?hours=1").json()["cells"] == []


def test_cached_ranges_follow_late_and_changed_runs(client: TestClient, recorder: Recorder) -> None:
    old = NOW - timedelta(hours=20)
    recorder.record([make_event("x", "started", old, {"job": "a"}), make_event("x", "succeeded", old, {})])
    url = "/api/v1/timeseries?metric=duration_p95&hours=48&step=3600"

    def point() -> float:
        (value,) = [v for s in client.get(url).json()["series"] for _, v in s["points"] if v is not None]
        return float(value)

    def summary(name: str) -> float:
        return float(client.get("/api/v1/jobs?hours=48&job=a").json()["jobs"][0][name])

    assert point() == 0.0
    assert summary("p95_duration_s") == 0.0
    # Late runs in the same, long-closed hour, then a finished run whose outcome changes.
    for rid in ("y", "z"):
        recorder.record([make_event(rid, "started", old, {"job": "a"})])
        recorder.record([make_event(rid, "succeeded", old + timedelta(seconds=100), {})])
    assert abs(point() - 100) <= 1.5
    assert abs(summary("p95_duration_s") - 100) <= 1.5
    assert summary("p50_duration_s") == 100.0  # nearest rank over [0, 100, 100]
    recorder.record([make_event("y", "cancelled", old + timedelta(seconds=100), {})])
    assert point() == 0.0
    # The summary's percentiles of so few runs are exact (nearest rank over [0, 100]): p95 is the
    # larger, and the changed run shows in p50.
    assert summary("p95_duration_s") == 100.0
    assert summary("p50_duration_s") == 0.0


def test_fingerprints_of_many_cells_stay_within_64_bits(store: Store) -> None:
    cells = [
        {"granularity": 3600, "bucket": 3600 * i, "job": "j", "version": 2**50 - 1} for i in range(40_000)
    ]
    with store.write() as conn:
        conn.execute(insert(rollup_cells), cells)
        count, total = rollups.range_version(conn, 3600, 0, 3600 * 40_000)
    assert count == 40_000
    assert total == 40_000 * ((2**50 - 1) % 2**40)
