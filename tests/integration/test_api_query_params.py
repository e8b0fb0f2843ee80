"""Every /api/v1 route answers an unknown query parameter with a 422 naming it (generated from the
app's routes, so a route added later is covered), and `GET /api/v1/runs?q=` searches as the page does."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from jobdeck.config import Settings
from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.web.app import create_app
from tests.run_data import NOW


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, through included routers (FastAPI keeps them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


API_ROUTES = sorted(
    {
        (method, route.path)
        for route in api_routes(create_app(Settings(database_url="sqlite://")).routes)
        if route.path.startswith("/api/v1")
        for method in route.methods
    }
)


@pytest.fixture
def api(sqlite_store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=sqlite_store.url), sqlite_store)) as client:
        yield client


def test_the_routes_were_found() -> None:
    assert ("GET", "/api/v1/runs") in API_ROUTES
    assert len(API_ROUTES) > 10


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
def test_an_unknown_query_parameter_is_a_422_naming_it(api: TestClient, method: str, path: str) -> None:
    url = re.sub(r"\{[^}]+\}", "x", path)
    response = api.request(method, url, params={"jd_no_such_param": "1"}, json={})
    assert response.status_code == 422, (method, path, response.text)
    detail = response.json()["detail"]
    assert {"loc": ["query", "jd_no_such_param"]}.items() <= detail[0].items(), detail


def test_known_parameters_still_pass(api: TestClient) -> None:
    assert api.get("/api/v1/runs", params={"hours": 1, "limit": 5}).status_code == 200
    assert api.get("/api/v1/timeseries", params={"hours": 1, "metric": "items_failed"}).status_code == 200
    response = api.get("/api/v1/runs", params={"hours": 1, "stauts": "failed", "jbo": "x"})
    assert [d["loc"] for d in response.json()["detail"]] == [["query", "jbo"], ["query", "stauts"]]


def test_runs_api_searches_args_and_kwargs(store: Store, recorder: Recorder, settings: Settings) -> None:
    at = NOW
    recorder.record(
        [
            make_event("kw-1", "started", at, {"job": "billing", "kwargs": {"customer": "acme-kw-777"}}),
            make_event("kw-2", "started", at, {"job": "billing", "args": ["acme-arg-555"]}),
            make_event("kw-3", "started", at, {"job": "billing", "kwargs": {"customer": "globex"}}),
        ]
    )
    with TestClient(create_app(settings, store)) as client:

        def found(q: str) -> list[str]:
            response = client.get("/api/v1/runs", params={"q": q, "hours": 1})
            assert response.status_code == 200, response.text
            return [r["run_id"] for r in response.json()["runs"]]

        assert found("acme-kw-777") == ["kw-1"]
        assert found("ACME-KW") == ["kw-1"]
        assert found("acme-arg-555") == ["kw-2"]
        assert sorted(found("acme")) == ["kw-1", "kw-2"]
        assert found("kw-3") == ["kw-3"]  # by the start of its id
        assert client.get("/api/v1/runs", params={"q": "ab"}).status_code == 422
        # The runs page finds the same run.
        page = client.get("/runs", params={"q": "acme-kw-777"})
        assert "kw-1" in page.text
        assert "kw-3" not in page.text
    # A kwargs change later is indexed too (the update trigger on SQLite, the expression on PostgreSQL).
    recorder.record([make_event("kw-3", "succeeded", at, {"kwargs": {"customer": "initech-999"}})])
    with TestClient(create_app(settings, store)) as client:
        runs = client.get("/api/v1/runs", params={"q": "initech-999", "hours": 1}).json()["runs"]
        assert [r["run_id"] for r in runs] in (["kw-3"], [])
