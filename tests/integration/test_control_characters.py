"""Every query and path parameter of every route, with a NUL or another control character in it:
a 4xx naming the parameter, never a 5xx, never a download cut short. Generated from the app's routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from jobdeck.config import Settings
from jobdeck.store import Store
from jobdeck.web.app import create_app

BAD = ["a\x00b", "\x00", "x\x01", "tab\there", "line\nbreak", "\x1b[31m", "del\x7f"]


def params_of(dependant: Dependant, where: str) -> list[str]:
    """The names of a route's parameters in `where` ("path" or "query"), its dependencies' too."""
    own = dependant.path_params if where == "path" else dependant.query_params
    names = [field.alias for field in own]
    for sub in dependant.dependencies:
        names += [name for name in params_of(sub, where) if name not in names]
    return names


def api_routes(routes: list[Any]) -> Iterator[tuple[str, str, Dependant]]:
    """(method, path format, dependant) of every API route, those of included routers too."""
    for route in routes:
        if hasattr(route, "effective_route_contexts"):  # an included router, resolved lazily
            for context in route.effective_route_contexts():
                if context.dependant is not None and context.methods:
                    yield sorted(context.methods)[0], context.path_format, context.dependant
        elif isinstance(route, APIRoute):
            yield sorted(route.methods)[0], route.path_format, route.dependant


def cases(routes: list[Any]) -> Iterator[tuple[str, str, str, str]]:
    """(method, url, where, parameter) for each route, parameter and bad value."""
    for method, path_format, dependant in api_routes(routes):
        path_names = params_of(dependant, "path")

        def url(
            bad_path: str | None, value: str, path: str = path_format, names: list[str] = path_names
        ) -> str:
            for name in names:
                path = path.replace("{" + name + "}", quote(value if name == bad_path else "x", safe=""))
            return path

        for value in BAD:
            for name in path_names:
                yield method, url(name, value), "path", name
            for name in params_of(dependant, "query"):
                yield method, url(None, "") + "?" + urlencode({name: value}), "query", name


@pytest.fixture
def app_client(store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=store.url), store), raise_server_exceptions=False) as c:
        yield c


def test_control_characters_in_any_parameter_are_refused_before_the_store(app_client: TestClient) -> None:
    seen = 0
    for method, url, where, name in cases(app_client.app.routes):  # type: ignore[attr-defined]
        with app_client.stream(method, url) as answer:
            body = answer.read()
        seen += 1
        assert 400 <= answer.status_code < 500, (method, url, answer.status_code, body[:300])
        if answer.status_code == 404 and where == "path" and "%0A" in url:
            continue  # a `{…:path}` parameter matches no line break: no route, so nothing reads it
        assert answer.status_code == 422, (method, url, answer.status_code, body[:300])
        assert name.encode() in body, (method, url, body[:300])
        if answer.headers["content-type"].startswith("application/json"):  # pages name it in words
            assert where.encode() in body, (method, url, body[:300])
    assert seen > 100
