"""`jobdeck users`, `jobdeck tokens` and the safe default of `jobdeck serve`, as a user runs them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from jobdeck.config import Settings
from jobdeck.store.store import Store
from jobdeck.web.app import create_app

JOBDECK = str(Path(sys.executable).with_name("jobdeck"))


def jobdeck(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [JOBDECK, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_users_and_tokens_from_the_command_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'jobdeck.db'}"
    added = jobdeck(
        "users", "add", "ada", "--role", "admin", "--password-stdin", "--db", db, stdin="s3cret-pass\n"
    )
    assert added.returncode == 0, added.stderr
    assert jobdeck(
        "users", "add", "ada", "--role", "admin", "--password-stdin", "--db", db, stdin="x" * 9
    ).returncode
    short = jobdeck("users", "add", "bob", "--password-stdin", "--db", db, stdin="short\n")
    assert short.returncode != 0
    assert "at least 8" in short.stderr
    bad_role = jobdeck("users", "add", "bob", "--role", "root", "--password-stdin", "--db", db, stdin="x" * 9)
    assert "unknown role" in bad_role.stderr
    assert jobdeck("users", "list", "--db", db).stdout.split()[:2] == ["ada", "admin"]

    created = jobdeck("tokens", "create", "--name", "ci", "--role", "ingest", "--db", db)
    assert created.returncode == 0, created.stderr
    token = created.stdout.split()[-1]
    assert token.startswith("jd_")
    assert token not in jobdeck("tokens", "list", "--db", db).stdout  # shown once, stored hashed

    store = Store(db)
    with TestClient(create_app(Settings(database_url=db, auth=True), store)) as client:
        event = {"run_id": "r1", "job": "j", "event": "started"}
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/v1/events", json=event, headers=bearer).status_code == 202
        assert (
            client.post(
                "/login", data={"username": "ada", "password": "s3cret-pass"}, follow_redirects=False
            ).status_code
            == 303
        )
        assert jobdeck("tokens", "revoke", "ci", "--db", db).returncode == 0
        assert client.post("/api/v1/events", json=event, headers=bearer).status_code == 401
        assert jobdeck("users", "remove", "ada", "--db", db).returncode == 0
        assert client.get("/api/v1/runs").status_code == 401  # the session ended with the user
    store.close()
    assert jobdeck("tokens", "revoke", "ci", "--db", db).returncode != 0


def test_serve_refuses_a_public_address_without_auth(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'jobdeck.db'}"
    refused = jobdeck("serve", "--host", "0.0.0.0", "--port", "1", "--db", db)  # noqa: S104
    assert refused.returncode != 0
    assert "--auth" in refused.stderr
    assert "--insecure-open" in refused.stderr
    by_variable = jobdeck("serve", "--port", "1", "--db", db, env={"JOBDECK_HOST": "10.1.2.3"})
    assert by_variable.returncode != 0
    assert "--auth" in by_variable.stderr
    # Insisting, or turning auth on, gets past the check (a port in use then stops it for its own reason).
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))  # noqa: S104
        taken.listen()
        port = str(taken.getsockname()[1])
        for flag in ("--insecure-open", "--auth"):
            other = jobdeck("serve", "--host", "0.0.0.0", "--port", port, flag, "--db", db)  # noqa: S104
            assert other.returncode != 0
            assert "refusing to serve" not in other.stderr
