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
    assert empty.status_code == 200 and "No runs yet?" in empty.text
    record_history(recorder)
    page = client.get("/", params={"hours": "6", "job": "clip_sync"})
    assert page.status_code == 200
    assert 'data-card="total"' in page.text and "Job Performance Summary" in page.text
    fragment = client.get("/fragments/overview", params={"hours": "6"})
    assert fragment.status_code == 200 and 'hx-swap-oob="true"' in fragment.text
    assert "<html" not in fragment.text
    bad = client.get("/", params={"hours": "soon", "refresh": "7"})
    assert bad.status_code == 200 and "is not a number of hours" in bad.text
    job = client.get("/jobs/clip_sync", params={"status": "failed"})
    assert job.status_code == 200 and "Last error" in job.text
    assert client.get("/fragments/jobs/clip_sync/runs", params={"cursor": "nonsense"}).status_code == 200


def test_links_and_assets_under_the_root_path(store: Store) -> None:
    Recorder(store).record([])
    app = create_app(Settings(database_url=store.url, root_path="/jobs"), store)
    with TestClient(app) as client:
        for path in ("/", "/jobs/jobs/clip_sync"):
            page = client.get(path)
            assert page.status_code == 200
            links = re.findall(r'(?:href|src|data-[a-z-]+-url|data-api)="(/[^"]*)"', page.text)
            assert links and all(link.startswith("/jobs/") for link in links), links
        assert client.get("/jobs/static/css/app.css").status_code == 200
