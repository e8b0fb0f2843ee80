"""The run list pages: tabs, filters, search and keyset pages, on both backends."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from jobdeck.config import Settings
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.web.app import create_app
from tests.run_data import record_history

RUN_LINK = re.compile(r'<a class="jd-mono" href="([^"]*)/runs/([^"]+)">')


def run_ids(html: str) -> list[str]:
    return [m.group(2) for m in RUN_LINK.finditer(html)]


def next_link(html: str) -> str | None:
    found = re.search(r'<a rel="next" href="([^"]+)">', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_tabs_filter_by_status_and_show_their_columns(client: TestClient, recorder: Recorder) -> None:
    record_history(recorder)
    failed = client.get("/runs", params={"status": "failed"})
    assert failed.status_code == 200
    assert run_ids(failed.text) == [f"run-{i:05d}" for i in reversed(range(0, 150, 5))]
    assert "order 1145 not found" in failed.text
    assert 'aria-current="page">Failed<' in failed.text
    pending = client.get("/runs?status=pending").text
    assert run_ids(pending) == ["waiting"]
    assert ">Priority<" in pending
    assert ">ETA<" in pending
    running = client.get("/runs?status=running").text
    assert run_ids(running) == ["live-1", "live-0"]
    assert 'hx-trigger="every 10s, jobdeck:changed from:document"' in running
    assert "Nothing is running." not in running
    lost = client.get("/runs?status=lost").text
    # An empty tab of a store with runs says so, without advice to instrument a first job.
    assert "No lost runs." in lost
    assert "No runs yet" not in lost
    assert "every run</a>" in lost


def test_an_empty_store_says_how_to_report_a_first_run(client: TestClient) -> None:
    text = client.get("/runs?status=failed").text
    assert "No failed runs." in text
    assert "No runs yet" in text
    assert "@jobdeck.track" in text


def test_pages_follow_the_cursor_to_the_end(client: TestClient, recorder: Recorder) -> None:
    record_history(recorder)
    seen: list[str] = []
    url: str | None = "/runs"
    pages = 0
    while url:
        html = client.get(url).text
        seen += run_ids(html)
        url = next_link(html)
        pages += 1
    assert pages == 4
    assert len(seen) == len(set(seen)) == 153
    assert "End of the list" in html
    assert "← Newest" in html


def test_filters_and_search_find_an_old_run(client: TestClient, recorder: Recorder) -> None:
    record_history(recorder)
    html = client.get("/runs", params={"q": "order 1000 not"}).text
    assert run_ids(html) == ["run-00000"]
    filtered = client.get("/runs", params={"status": "succeeded", "job": "clip_sync", "queue": "high"}).text
    assert run_ids(filtered)
    assert all(int(r[4:]) % 3 == 0 and int(r[4:]) % 2 for r in run_ids(filtered))
    # The downloads carry the same filters.
    assert "/api/v1/export/runs?status=succeeded&amp;job=clip_sync&amp;queue=high&amp;format=csv" in filtered
    nothing = client.get("/runs", params={"q": "no such thing"}).text
    assert "No runs match these filters." in nothing


def test_bad_requests_say_what_is_wrong_in_the_page(client: TestClient, recorder: Recorder) -> None:
    record_history(recorder)
    short = client.get("/runs", params={"q": "ab"})
    assert short.status_code == 422
    assert "Search needs at least 3 characters. Change the search" in short.text
    assert 'value="ab"' in short.text  # the search box keeps what was typed
    cursor = client.get("/runs", params={"cursor": "not-a-cursor"})
    assert cursor.status_code == 422
    assert "Invalid cursor" in cursor.text
    assert "start from the newest runs" in cursor.text
    assert client.get("/runs", params={"status": "done"}).status_code == 422


def test_fragment_is_the_list_body_alone(client: TestClient, recorder: Recorder) -> None:
    record_history(recorder)
    html = client.get("/fragments/runs", params={"status": "running"}).text
    assert "<html" not in html
    assert run_ids(html) == ["live-1", "live-0"]


def test_links_work_under_a_root_path(store: Store, recorder: Recorder) -> None:
    record_history(recorder)
    # As behind a proxy that serves jobdeck at /jd (uvicorn --root-path /jd).
    with TestClient(create_app(Settings(database_url=store.url), store), root_path="/jd") as client:
        html = client.get("/jd/runs?status=failed").text
    hrefs = re.findall(r'href="([^"#]+)"', html)
    ours = [h for h in hrefs if "/runs" in h or "/api/" in h or "/static/" in h]
    assert ours
    assert all(h.startswith(("/jd/", "http://testserver/jd/")) for h in ours), ours
