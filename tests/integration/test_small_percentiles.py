"""Percentiles over few runs are exact (nearest rank over the raw durations), on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from tests.run_data import NOW


def test_two_runs_p95_is_their_max(client: TestClient, recorder: Recorder) -> None:
    at = NOW - timedelta(hours=1)
    recorder.record(
        [
            make_event("p-0", "started", at, {"job": "pair"}),
            make_event("p-0", "succeeded", at + timedelta(seconds=0.300), {}),
            make_event("p-1", "started", at + timedelta(minutes=1), {"job": "pair"}),
            make_event("p-1", "failed", at + timedelta(minutes=1, seconds=0.301), {}),
            make_event("p-2", "started", at + timedelta(minutes=2), {"job": "pair"}),  # still running
        ]
    )
    (pair,) = client.get("/api/v1/jobs", params={"hours": 24}).json()["jobs"]
    assert pair["p95_duration_s"] == pair["max_duration_s"] == 0.301
    assert pair["p50_duration_s"] == pair["min_duration_s"] == 0.300


def test_p95_of_many_short_windows_stays_between_min_and_max(client: TestClient, recorder: Recorder) -> None:
    batch = []
    now = datetime.now(UTC)  # not the suite's NOW: a long run would push the first runs out of the hour
    for i in range(40):
        at = now - timedelta(minutes=50 - i)
        batch.append(make_event(f"m-{i}", "started", at, {"job": "many"}))
        batch.append(make_event(f"m-{i}", "succeeded", at + timedelta(seconds=1 + i / 10), {}))
    recorder.record(batch)
    (many,) = client.get("/api/v1/jobs", params={"hours": 1}).json()["jobs"]
    durations = sorted(1 + i / 10 for i in range(40))
    assert many["p95_duration_s"] == durations[37]  # rank ceil(0.95 * 40) = 38
    assert many["p50_duration_s"] == durations[19]
