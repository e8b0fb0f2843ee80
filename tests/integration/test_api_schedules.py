"""The schedules API on SQLite and PostgreSQL: the JSON shape, 422 naming the field with nothing
stored, next times, due, pause and resume by PATCH, run now, delete."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobdeck.store import Store
from jobdeck.store import schedules as rows

CRON = {
    "name": "nightly export",
    "job": "export",
    "kind": "cron",
    "cron": "30 2 * * *",
    "timezone": "Europe/Berlin",
    "target": {"type": "command", "command": ["true"]},
}


def ended(store: Store, schedule_id: str, within_s: float = 15) -> None:
    """Wait until every run of the schedule has ended, so that no command's end is still being
    recorded when the test's store closes."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with store.read() as conn:
            if not rows.live_runs(conn, schedule_id):
                return
        time.sleep(0.1)
    raise AssertionError(f"the runs of schedule {schedule_id} did not end")


def create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/schedules", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_create_answers_the_stored_schedule(client: TestClient) -> None:
    created = create(client, CRON)
    assert created["id"]
    assert created["name"] == "nightly export"
    assert created["job"] == "export"
    assert created["misfire"] == "once"
    assert created["overlap"] == "allow"
    assert created["paused"] is False
    assert created["target"] == {"type": "command", "command": ["true"], "cwd": None}
    next_run = datetime.fromisoformat(created["next_run_at"])
    assert next_run > datetime.now(UTC)
    assert next_run.minute == 30
    assert client.get(f"/api/v1/schedules/{created['id']}").json() == created
    listed = client.get("/api/v1/schedules").json()["schedules"]
    assert [s["id"] for s in listed] == [created["id"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"kind": "interval", "every_s": 0}, "every_s"),
        ({"kind": "interval", "every_s": -1}, "every_s"),
        ({"kind": "interval", "cron": None}, "every_s"),
        ({"start_at": "2026-02-01T00:00:00Z", "end_at": "2026-01-01T00:00:00Z"}, "end_at"),
        ({"target": {"type": "ftp", "url": "ftp://x"}}, "target"),
        ({"kind": "hourly"}, "kind"),
        ({"at": "2026-01-01T00:00:00", "kind": "once"}, "at"),
        ({"after": "export"}, "after"),
    ],
)
def test_invalid_input_is_422_naming_the_field_and_nothing_is_stored(
    client: TestClient, store: Store, change: dict[str, Any], field: str
) -> None:
    response = client.post("/api/v1/schedules", json={**CRON, **change})
    assert response.status_code == 422
    locations = [error["loc"] for error in response.json()["detail"]]
    assert any(loc[:2] == ["body", field] for loc in locations), locations
    with store.read() as conn:
        assert rows.list_all(conn) == []


def test_next_times_are_utc_iso(client: TestClient) -> None:
    created = create(client, {**CRON, "kind": "interval", "every_s": 90, "cron": None})
    body = client.get(f"/api/v1/schedules/{created['id']}/next", params={"count": 3}).json()
    times = [datetime.fromisoformat(t) for t in body["next"]]
    assert len(times) == 3
    assert all(t.utcoffset() == timedelta(0) for t in times)
    assert times[1] - times[0] == times[2] - times[1] == timedelta(seconds=90)
    assert body["next"][0] == created["next_run_at"]
    assert client.get(f"/api/v1/schedules/{created['id']}/next", params={"count": 0}).status_code == 422


def test_due_lists_overdue_schedules(client: TestClient) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    overdue = create(client, {**CRON, "name": "late", "kind": "once", "at": past})
    create(client, CRON)
    due = client.get("/api/v1/schedules/due").json()["schedules"]
    assert [s["id"] for s in due] == [overdue["id"]]


def test_put_patch_pause_resume_delete(client: TestClient, store: Store) -> None:
    created = create(client, CRON)
    url = f"/api/v1/schedules/{created['id']}"
    paused = client.patch(url, json={"paused": True}).json()
    assert paused["paused"] is True
    assert paused["next_run_at"] is None
    assert paused["cron"] == "30 2 * * *"
    resumed = client.patch(url, json={"paused": False}).json()
    assert resumed["next_run_at"] == created["next_run_at"]
    assert client.patch(url, json={"cron": "nope"}).status_code == 422
    assert client.get(url).json()["cron"] == "30 2 * * *"  # unchanged
    replaced = client.put(url, json={**CRON, "kind": "interval", "every_s": 60, "cron": None}).json()
    assert replaced["kind"] == "interval"
    assert replaced["id"] == created["id"]
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404
    assert client.put(url, json=CRON).status_code == 404


def test_run_now_starts_a_run_linked_to_the_schedule(client: TestClient, store: Store) -> None:
    created = create(client, {**CRON, "paused": True})
    response = client.post(f"/api/v1/schedules/{created['id']}/run")
    assert response.status_code == 202
    run_id = response.json()["run_id"]
    run = client.get(f"/api/v1/runs/{run_id}").json()
    assert run["schedule_id"] == created["id"]
    assert run["job"] == "export"
    ended(store, created["id"])
    assert client.post("/api/v1/schedules/nope/run").status_code == 404
    celery = create(client, {**CRON, "job": None, "target": {"type": "celery", "task": "app.sync"}})
    refused = client.post(f"/api/v1/schedules/{celery['id']}/run")
    assert refused.status_code == 422
    assert "Celery" in refused.json()["detail"]


def test_the_app_runs_the_loop_when_told(store: Store) -> None:
    from jobdeck.config import Settings
    from jobdeck.web.app import create_app

    quiet = create_app(Settings(database_url=store.url), store)
    assert "scheduler" not in quiet.state.services.names
    app = create_app(Settings(database_url=store.url, scheduler=True), store)
    assert app.state.services.names[-1] == "scheduler"  # started last, stopped first
    with TestClient(app) as client:
        created = create(client, {**CRON, "kind": "interval", "every_s": 1, "cron": None})
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with store.read() as conn:
                if rows.history(conn, created["id"]):
                    break
            time.sleep(0.2)
        assert client.patch(f"/api/v1/schedules/{created['id']}", json={"paused": True}).status_code == 200
        ended(store, created["id"])
        with store.read() as conn:
            fired = rows.history(conn, created["id"])
    assert fired
    assert fired[-1]["run_id"]
