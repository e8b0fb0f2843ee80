"""The overview and job pages over both backends: they render the known data, keep bad filters in the
page, and build every link and asset under the root path."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from jobdeck.config import Settings
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.web.app import create_app
from tests.run_data import record_history


def test_overview_and_job_page_render(client: TestClient, recorder: Recorder) -> None:
    empty = client.get("/")
    assert empty.status_code == 200
    assert "No runs yet?" in empty.text
    record_history(recorder)
    page = client.get("/", params={"hours": "6", "job": "clip_sync"})
    assert page.status_code == 200
    assert 'data-card="total"' in page.text
    assert "Job Performance Summary" in page.text
    fragment = client.get("/fragments/overview", params={"hours": "6"})
    assert fragment.status_code == 200
    assert 'hx-swap-oob="true"' in fragment.text
    assert "<html" not in fragment.text
    bad = client.get("/", params={"hours": "soon", "refresh": "7"})
    assert bad.status_code == 200
    assert "is not a number of hours" in bad.text
    job = client.get("/jobs/clip_sync", params={"status": "failed"})
    assert job.status_code == 200
    assert "Last error" in job.text
    assert client.get("/fragments/jobs/clip_sync/runs", params={"cursor": "nonsense"}).status_code == 200


def test_links_and_assets_under_the_root_path(store: Store) -> None:
    record_history(Recorder(store))  # a job page is a 404 for a job with no run
    app = create_app(Settings(database_url=store.url, root_path="/jobs"), store)
    with TestClient(app) as client:
        for path in ("/", "/jobs/jobs/clip_sync"):
            page = client.get(path)
            assert page.status_code == 200
            links = re.findall(r'(?:href|src|data-[a-z-]+-url|data-api)="(/[^"]*)"', page.text)
            assert links
            assert all(link.startswith("/jobs/") for link in links), links
        assert client.get("/jobs/static/css/app.css").status_code == 200


def test_summary_and_job_runs_download_for_the_current_filters(
    client: TestClient, recorder: Recorder
) -> None:
    import csv
    import html
    import io

    record_history(recorder)
    page = client.get("/", params={"hours": "24"}).text
    links = [html.unescape(h) for h in re.findall(r'href="([^"]*export/jobs[^"]*)"', page)]
    assert any("format=csv" in h for h in links)
    assert any("format=json" in h for h in links)
    csv_link = next(h for h in links if "format=csv" in h)
    summary = list(csv.DictReader(io.StringIO(client.get(csv_link).text)))
    api = client.get("/api/v1/jobs", params={"hours": "24"}).json()["jobs"]
    assert sorted(r["job"] for r in summary) == sorted(j["job"] for j in api)

    job_page = client.get("/jobs/clip_sync", params={"hours": "24"}).text
    run_links = [html.unescape(h) for h in re.findall(r'href="([^"]*export/runs[^"]*)"', job_page)]
    json_link = next(h for h in run_links if "format=json" in h)
    assert "job=clip_sync" in json_link
    runs = client.get(json_link).json()
    assert runs
    assert {r["job"] for r in runs} == {"clip_sync"}
