"""GET /api/v1/alerts, thresholds set globally and per job, silences; bad input is a 422 naming the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobdeck.alerts.evaluator import Evaluator
from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)


def stale(recorder: Recorder, job: str, hours: float) -> None:
    at = NOW - timedelta(hours=hours)
    recorder.record(
        [make_event(f"{job}-1", "started", at, {"job": job}), make_event(f"{job}-1", "succeeded", at, {})]
    )


def test_alerts_lists_firing_history_and_silences(
    client: TestClient, store: Store, recorder: Recorder
) -> None:
    stale(recorder, "sync", 30)
    silence = client.post("/api/v1/alerts/silences", json={"job": "sync", "comment": "migrating"})
    assert silence.status_code == 201
    assert silence.json()["active"] is True
    Evaluator(store, every_s=1).run_once(NOW)
    body = client.get("/api/v1/alerts").json()
    assert body["firing_count"] == len(body["firing"]) == 2  # NotRunning (2 h) and CriticallyStale (24 h)
    stale_alert = next(a for a in body["firing"] if a["rule"] == "BackgroundJobCriticallyStale")
    assert stale_alert["subject"] == "sync"
    assert stale_alert["severity"] == "critical"
    assert stale_alert["silenced"]
    assert {h["state"] for h in body["history"]} == {"firing"}
    assert body["silences"][0]["comment"] == "migrating"
    assert client.delete(f"/api/v1/alerts/silences/{silence.json()['id']}").status_code == 204
    assert client.get("/api/v1/alerts").json()["silences"] == []


def test_thresholds_per_job_and_globally(client: TestClient, store: Store, recorder: Recorder) -> None:
    stale(recorder, "a", 3)
    stale(recorder, "b", 3)
    set_b = client.put(
        "/api/v1/alerts/rules/BackgroundJobNotRunning", json={"job": "b", "threshold": 4 * 3600}
    )
    assert set_b.status_code == 200
    assert set_b.json()["settings"] == [{"job": "b", "threshold": 14400.0, "hold_s": None, "enabled": True}]
    off = client.put("/api/v1/alerts/rules/BackgroundJobCriticallyStale", json={"enabled": False})
    assert off.status_code == 200
    Evaluator(store, every_s=1).run_once(NOW)
    firing = {(a["rule"], a["subject"]) for a in client.get("/api/v1/alerts").json()["firing"]}
    assert firing == {("BackgroundJobNotRunning", "a")}
    assert (
        client.delete("/api/v1/alerts/rules/BackgroundJobNotRunning", params={"job": "b"}).status_code == 204
    )
    rules = {r["name"]: r for r in client.get("/api/v1/alerts/rules").json()["rules"]}
    assert rules["BackgroundJobNotRunning"]["settings"] == []
    assert rules["BackgroundJobFailing"]["threshold"] == 0.05
    assert len(rules) == 14


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/alerts/rules/NoSuchRule", {"threshold": 1}, "rule"),
        ("/api/v1/alerts/rules/BackgroundJobFailing", {"threshold": 1.5}, "threshold"),
        ("/api/v1/alerts/rules/BackgroundJobHighDuration", {"threshold": -1}, "threshold"),
        ("/api/v1/alerts/rules/BackgroundJobHighDuration", {"threshold": "slow"}, "threshold"),
        ("/api/v1/alerts/rules/BackgroundJobHighDuration", {"hold_s": -5}, "hold_s"),
    ],
)
def test_bad_thresholds_are_refused(client: TestClient, path: str, body: dict[str, Any], field: str) -> None:
    refused = client.put(path, json=body)
    assert refused.status_code == 422
    assert field in json.dumps(refused.json()["detail"])
    assert all(r["settings"] == [] for r in client.get("/api/v1/alerts/rules").json()["rules"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rule": "NoSuchRule"}, "rule"),
        ({"cron": "0 3 * * *"}, "duration_s"),
        ({"cron": "not cron", "duration_s": 60}, "cron"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"starts_at": "2026-01-02T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"}, "ends_at"),
        ({"starts_at": "2026-01-02T00:00:00"}, "starts_at"),
    ],
)
def test_bad_silences_are_refused(client: TestClient, body: dict[str, Any], field: str) -> None:
    refused = client.post("/api/v1/alerts/silences", json=body)
    assert refused.status_code == 422
    assert field in json.dumps(refused.json()["detail"])


def test_a_recurring_maintenance_window(client: TestClient) -> None:
    # Every day from this minute, for an hour: active now; one two hours on is not. (The clock is read
    # here, not at import: a suite that crosses an hour would otherwise test a window gone by.)
    now = datetime.now(UTC)
    hour = now.hour
    now_window = {"cron": f"{now.minute} {hour} * * *", "duration_s": 3600, "timezone": "UTC"}
    later = {"cron": f"0 {(hour + 2) % 24} * * *", "duration_s": 3600, "timezone": "UTC"}
    assert client.post("/api/v1/alerts/silences", json=now_window).json()["active"] is True
    assert client.post("/api/v1/alerts/silences", json=later).json()["active"] is False
