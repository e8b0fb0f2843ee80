"""Every change an operator or admin makes is on the audit trail with who, what and the result:
schedules, channels, alert rules and silences, through the API and the pages; actions on runs once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from jobdeck.config import Settings
from jobdeck.store import audit as audit_rows
from jobdeck.store.store import Store
from jobdeck.web.app import create_app
from tests.auth_helpers import add_token, add_user, sign_in

SCHEDULE = {
    "name": "nightly",
    "kind": "cron",
    "cron": "0 2 * * *",
    "target": {"type": "command", "command": ["true"]},
}


@pytest.fixture
def secured(store: Store) -> Iterator[TestClient]:
    add_user(store, "ada", "admin")
    with TestClient(create_app(Settings(database_url=store.url, auth=True), store)) as client:
        yield client


def changes(store: Store) -> list[tuple[str, str, str, str]]:
    """(actor, target, result, detail) of every change entry, oldest first."""
    entries = reversed(audit_rows.entries(store, action="change"))
    return [(e.actor, e.target, e.result, e.detail) for e in entries]


def test_schedule_channel_rule_and_silence_changes_are_audited(secured: TestClient, store: Store) -> None:
    token = add_token(store, "deployer", "admin")
    api = {"Authorization": f"Bearer {token}"}
    made = secured.post("/api/v1/schedules", json=SCHEDULE, headers=api)
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    assert secured.patch(f"/api/v1/schedules/{sid}", json={"paused": True}, headers=api).status_code == 200
    assert secured.patch(f"/api/v1/schedules/{sid}", json={"cron": "bad"}, headers=api).status_code == 422
    channel = {"type": "webhook", "name": "ops", "url": "http://127.0.0.1:9/hook"}
    assert secured.post("/api/v1/channels", json=channel, headers=api).status_code == 201
    rule = {"threshold": 0.2}
    assert secured.put("/api/v1/alerts/rules/BackgroundJobFailing", json=rule, headers=api).status_code == 200
    assert secured.delete(f"/api/v1/schedules/{sid}", headers=api).status_code == 204
    assert secured.delete("/api/v1/schedules/nope", headers=api).status_code == 404

    seen = changes(store)
    assert [(target, result) for _, target, result, _ in seen] == [
        ("POST /api/v1/schedules", "done"),
        (f"PATCH /api/v1/schedules/{sid}", "done"),
        (f"PATCH /api/v1/schedules/{sid}", "refused-422"),
        ("POST /api/v1/channels", "done"),
        ("PUT /api/v1/alerts/rules/BackgroundJobFailing", "done"),
        (f"DELETE /api/v1/schedules/{sid}", "done"),
        ("DELETE /api/v1/schedules/nope", "refused-404"),
    ]
    assert {actor.split("@")[0] for actor, *_ in seen} == {"token:deployer"}
    assert seen[1][3] == "PATCH /api/v1/schedules/{schedule_id}"  # the route, to filter by


def test_a_change_made_in_a_signed_in_page_names_the_user(secured: TestClient, store: Store) -> None:
    csrf = sign_in(secured, "ada")
    form = {"csrf_token": csrf, "scope": "all", "hours": "1", "reason": "maintenance"}
    response = secured.post("/alerts/silences", data=form, follow_redirects=False)
    assert response.status_code in (200, 303), response.text
    seen = changes(store)
    assert len(seen) == 1
    assert seen[0][0].startswith("ada@")
    assert seen[0][1] == "POST /alerts/silences"


def test_reads_ingest_and_actions_on_runs_are_not_written_twice(client: TestClient, store: Store) -> None:
    """An open server audits changes too (by address); a read or an event is not a change, and a stop
    is audited once, by the control plane."""
    event = {"run_id": "r1", "job": "j", "event": "started"}
    assert client.post("/api/v1/events", json=event).status_code == 202
    client.get("/api/v1/runs")
    client.post("/api/v1/runs/r1/stop")
    assert changes(store) == []
    assert len(audit_rows.entries(store, action="stop")) == 1
    assert client.post("/api/v1/schedules", json=SCHEDULE).status_code == 201
    assert changes(store)[0][0] == "testclient/http"
