"""GET /api/v1/overlaps/predicted: the next firings with their jobs' usual durations, the overlaps
they will make, and a stagger that removes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from jobdeck.domain import EventKind
from jobdeck.events import make_event
from jobdeck.recorder import Recorder


def history(recorder: Recorder, job: str, seconds: float) -> None:
    """Five finished runs of `job`, each `seconds` long, in the last days."""
    now = datetime.now(UTC)
    for i in range(5):
        start = now - timedelta(days=1, hours=i)
        recorder.record(
            [
                make_event(f"{job}-{i}", EventKind.STARTED, start, {"job": job}),
                make_event(
                    f"{job}-{i}", EventKind.SUCCEEDED, start + timedelta(seconds=seconds), {"job": job}
                ),
            ]
        )


def hourly(client: TestClient, name: str, minute: int = 0) -> str:
    body = {
        "name": name,
        "kind": "cron",
        "cron": f"{minute} * * * *",
        "target": {"type": "command", "command": ["true"]},
    }
    response = client.post("/api/v1/schedules", json=body)
    assert response.status_code == 201
    schedule_id: str = response.json()["id"]
    return schedule_id


def test_predicted_overlaps_and_a_stagger_that_removes_them(client: TestClient, recorder: Recorder) -> None:
    history(recorder, "sync", 600)
    history(recorder, "report", 300)
    sync, report = hourly(client, "sync"), hourly(client, "report")
    hourly(client, "quiet", minute=40)  # its job has no history: a minute's run is assumed
    body = client.get("/api/v1/overlaps/predicted", params={"hours": 24}).json()
    assert 23 <= len([f for f in body["firings"] if f["schedule_id"] == sync]) <= 25
    sync_firing = next(f for f in body["firings"] if f["schedule_id"] == sync)
    assert 500 < sync_firing["p50_s"] < 700
    assert sync_firing["estimated"] is True
    quiet_firing = next(f for f in body["firings"] if f["name"] == "quiet")
    assert quiet_firing["estimated"] is False
    assert quiet_firing["p95_s"] == 60
    pairs = {frozenset((o["a"]["schedule_id"], o["b"]["schedule_id"])) for o in body["overlaps"]}
    assert pairs == {frozenset((sync, report))}
    assert len(body["overlaps"]) >= 23
    [move] = body["suggested_stagger"]
    assert move["schedule_id"] in (sync, report)
    assert move["cron"] == "0 * * * *"
    assert move["suggested_cron"] != "0 * * * *"
    assert move["shift_minutes"] != 0
    assert body["overlaps_after_stagger"] == 0
    assert client.get("/api/v1/overlaps/predicted", params={"hours": 0}).status_code == 422
