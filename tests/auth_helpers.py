"""Users, tokens and signed-in clients for the security tests."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from jobdeck.auth import passwords, secrets
from jobdeck.store import auth as rows
from jobdeck.store.store import Store

PASSWORD = "correct horse battery"  # noqa: S105


def add_user(store: Store, name: str, role: str) -> None:
    rows.add_user(store, name, passwords.hash_password(PASSWORD), role, datetime.now(UTC))


def add_token(store: Store, name: str, role: str) -> str:
    token = secrets.new_token()
    rows.add_token(store, name, token[:8], secrets.digest(token), role, datetime.now(UTC))
    return token


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign a client in; the session's CSRF token."""
    response = client.post("/login", data={"username": name, "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get("/runs")
    marker = '"X-CSRF-Token": "'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]
