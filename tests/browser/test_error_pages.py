"""Errors as pages in Chromium: a bad filter or an unknown job is an HTML page that says what was wrong;
/docs draws Swagger UI with no request leaving the server; there is a favicon; kwargs are searchable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx2 as httpx
import pytest

from jobdeck.events import make_event
from tests.browser.conftest import BYPASS_CSP, LiveServer
from tests.run_data import NOW

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/runs?status=bogus", 422, "status: Input should be 'pending'"),
        ("/failures?hours=0", 422, "'hours' must be between 0"),
        ("/jobs/nonexistent", 404, "No run of a job named “nonexistent” has been recorded."),
        ("/no/such/page", 404, "There is no page at /no/such/page"),
    ],
)
def test_errors_are_pages(live_server: LiveServer, page: Any, path: str, status: int, says: str) -> None:
    response = page.goto(live_server.path(path))
    assert response.status == status
    assert response.headers["content-type"].startswith("text/html")
    assert says in page.get_by_role("alert").inner_text()
    assert page.locator("h1").inner_text().startswith("Not ")
    assert page.locator("#main").get_by_role("link", name="Overview").is_visible()
    # The page is the app's own: its top bar and styles.
    assert page.locator(".jd-topbar").is_visible()
    # The API keeps answering in JSON.
    api = httpx.get(live_server.path("/api/v1/runs"), params={"status": "bogus"})
    assert api.status_code == 422
    assert api.json()["detail"][0]["loc"] == ["query", "status", 0]


def test_an_existing_job_without_runs_in_the_range_is_not_a_404(live_server: LiveServer, page: Any) -> None:
    response = page.goto(live_server.path("/jobs/clip_sync?hours=0.25&refresh=0"))
    assert response.status == 200


def test_docs_work_offline_and_there_is_a_favicon(live_server: LiveServer, browser: Any) -> None:
    context = browser.new_context(bypass_csp=BYPASS_CSP)
    asked: list[str] = []

    origin = "/".join(live_server.url.split("/")[:3])  # http://127.0.0.1:PORT

    # Anything not on the test server would be the network: refuse it and note it.
    def only_local(route: Any) -> None:
        if route.request.url.startswith(origin + "/"):
            route.continue_()
        else:
            asked.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    try:
        page = context.new_page()
        page.goto(live_server.path("/docs"))
        page.wait_for_selector(".swagger-ui .opblock-tag", timeout=15_000)
        assert page.locator(".opblock-summary-path", has_text="/api/v1/runs").count() >= 1
        assert asked == []
        icon = httpx.get(live_server.path("/favicon.ico"))
        assert icon.status_code == 200
        assert icon.headers["content-type"] == "image/svg+xml"
        page.goto(live_server.path("/"))
        href = page.locator('link[rel="icon"]').get_attribute("href")
        assert httpx.get(live_server.path(href)).status_code == 200
    finally:
        context.close()


def test_kwargs_are_found_by_the_runs_page_search(live_server: LiveServer, page: Any) -> None:
    live_server.record(
        [
            make_event(
                "kw-run",
                "started",
                NOW - timedelta(minutes=3),
                {"job": "billing", "kwargs": {"customer": "acme-kw-777"}},
            )
        ]
    )
    page.jd_errors.clear()  # the error pages above were answered with their 4xx, as they should be
    page.goto(live_server.path("/runs"))
    page.fill('input[name="q"]', "acme-kw-777")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=acme-kw-777**")
    page.wait_for_selector("text=kw-run")
    rows = page.locator("table tbody tr")
    assert rows.count() == 1
    assert "kw-run" in rows.first.inner_text()
    found = httpx.get(live_server.path("/api/v1/runs"), params={"q": "acme-kw-777"}).json()["runs"]
    assert [r["run_id"] for r in found] == ["kw-run"]
    assert page.jd_errors == []
