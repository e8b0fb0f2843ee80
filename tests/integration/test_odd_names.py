"""Job names and run ids with `/`, `%`, `?`, `#`, spaces and unicode: every page and API route that
takes one finds it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx2 as httpx
import pytest

from jobdeck.store import Store
from tests.integration.test_sdk import serving

NAMES = ["etl/daily", "100% done", "what?", "#1 job", "two  spaces", "ünïcödé ✓", "a/b%2Fc?d#e"]


@pytest.mark.parametrize("name", NAMES)
def test_every_route_finds_an_odd_job_name_and_run_id(store: Store, name: str) -> None:
    # A real server: Starlette's test client decodes a path twice (`%252F` would reach the app as `/`).
    with serving(store) as url, httpx.Client(base_url=url) as client:
        check_routes(client, name)


def check_routes(client: httpx.Client, name: str) -> None:
    now = datetime.now(UTC)
    run_id = f"run {name}"
    events = [
        {"run_id": run_id, "job": name, "event": "started", "at": (now - timedelta(minutes=2)).isoformat()},
        {"run_id": run_id, "event": "failed", "error_type": "Boom", "at": now.isoformat()},
    ]
    assert client.post("/api/v1/events", json=events).status_code == 202
    part, job_q, run_part = quote(name, safe=""), {"job": name}, quote(run_id, safe="")

    assert client.get(f"/api/v1/runs/{run_part}").json()["job"] == name
    assert [r["run_id"] for r in client.get("/api/v1/runs", params=job_q).json()["runs"]] == [run_id]
    assert name in [j["job"] for j in client.get("/api/v1/jobs").json()["jobs"]]
    for path in ("/api/v1/timeseries", "/api/v1/heatmap"):
        assert client.get(path, params=job_q).status_code == 200, path
    exported = client.get("/api/v1/export/runs", params={**job_q, "format": "json"})
    assert exported.status_code == 200
    assert [r["run_id"] for r in exported.json()] == [run_id]

    job_page = client.get(f"/jobs/{part}")
    assert job_page.status_code == 200
    assert "Boom" in job_page.text
    fragment = client.get(f"/fragments/jobs/{part}/runs")
    assert fragment.status_code == 200
    assert f'href="/runs/{run_part}"' in fragment.text
    detail = client.get(f"/runs/{run_part}")
    assert detail.status_code == 200
    assert f'href="/jobs/{part}"' in detail.text
    for page in ("/runs", "/failures"):
        listed = client.get(page, params=job_q)
        assert listed.status_code == 200, page
        assert f'href="/jobs/{part}"' in listed.text, page
    overview = client.get("/fragments/overview")
    assert overview.status_code == 200
    assert f'href="/jobs/{part}"' in overview.text
