"""The rule table, role by role and route by route, generated from the app's routes.

Every route must be classified in auth/rules.py (a new route without a rule fails here), and every
role is tried against every route: a role the rule does not grant is refused (401 with no
credentials, 403 otherwise); a role it grants gets past the guard (whatever the route answers then).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from jobdeck.auth.roles import Need, Role, allows
from jobdeck.auth.rules import has_rule, need_of
from jobdeck.config import Settings
from jobdeck.store.store import Store
from jobdeck.web.app import create_app
from tests.auth_helpers import add_token

# Streams that stay open: only their refusals are checked.
STREAMS = {"/api/v1/stream"}
ROLES: tuple[Role | None, ...] = (None, *Role)


def app_routes() -> list[tuple[str, str]]:
    app = create_app(Settings(auth=True, database_url="sqlite:///unused.db"))
    found = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.route, Mount):
            continue
        found += [(m, str(context.route.path)) for m in sorted(context.route.methods or ()) if m != "HEAD"]
    return found


ROUTES = app_routes()


def test_the_app_has_routes_to_check() -> None:
    assert len(ROUTES) > 30
    assert ("POST", "/api/v1/events") in ROUTES


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_route_has_a_rule(method: str, path: str) -> None:
    assert has_rule(method, path), f"{method} {path} has no rule in jobdeck/auth/rules.py: classify it"


def test_the_default_for_an_unclassified_route_is_safe() -> None:
    assert need_of("GET", "/api/v1/something-new") is Need.VIEWER
    assert need_of("POST", "/api/v1/something-new") is Need.ADMIN
    assert need_of("DELETE", "/api/v1/runs") is Need.ADMIN


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[Role, str]]]:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('rules') / 'jobdeck.db'}")
    store.migrate()
    tokens = {role: add_token(store, f"t-{role.value}", role.value) for role in Role}
    with TestClient(create_app(Settings(database_url=store.url, auth=True), store)) as client:
        yield client, tokens
    store.close()


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_each_role_against_the_route(
    secured: tuple[TestClient, dict[Role, str]], method: str, path: str
) -> None:
    client, tokens = secured
    need = need_of(method, path)
    for role in ROLES:
        headers = {"Authorization": f"Bearer {tokens[role]}"} if role is not None else {}
        granted = need is Need.OPEN or (role is not None and allows(role, need))
        if granted and path in STREAMS:
            continue
        body = {"json": {}} if method == "POST" and path.startswith("/api/") else {}
        response = client.request(method, concrete(path), headers=headers, follow_redirects=False, **body)
        who = role.value if role else "no credentials"
        if granted:
            assert response.status_code not in (401, 403), f"{who}: {method} {path} → {response.status_code}"
        elif role is None:
            expected = (
                {303}
                if method == "GET"
                and not path.startswith(("/api/", "/openapi", "/fragments/", "/metrics", "/ping/"))
                else {401}
            )
            assert response.status_code in expected, f"{who}: {method} {path} → {response.status_code}"
        else:
            assert response.status_code == 403, f"{who}: {method} {path} → {response.status_code}"
