"""Live updates in Chromium: an event posted to the API shows on the open overview within 2 s, and a
dropped stream falls back to polling and says so."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
import pytest

from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_an_event_updates_the_open_page(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/?refresh=0"))
    page.wait_for_selector('#jd-live[data-state="live"]')
    before = page.locator('[data-card="running"] .jd-stat-value').inner_text()
    event = {"run_id": "fresh-1", "event": "started", "job": "fresh_job", "at": datetime.now(UTC).isoformat()}
    posted = time.monotonic()
    response = httpx.post(live_server.path("/api/v1/events"), json=event)
    assert response.status_code < 300, response.text
    page.wait_for_selector("#jd-recent-table >> text=fresh-1", timeout=2000)
    assert time.monotonic() - posted < 2.5
    assert page.locator('[data-card="running"] .jd-stat-value').inner_text() == str(int(before) + 1)
    assert page.jd_errors == []


def test_a_dropped_stream_falls_back_to_polling(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/?refresh=0"))
    page.wait_for_selector('#jd-live[data-state="live"]')
    page.route("**/api/v1/stream", lambda route: route.abort())
    try:
        page.evaluate("window.JobdeckLive.stop()")
        badge = page.locator('#jd-live[data-state="polling"]')
        badge.wait_for()
        assert "Polling every 5 s" in badge.inner_text()
        # The page says so in words, not only in the badge.
        notice = page.locator("#jd-live-notice")
        assert notice.is_visible()
        assert "checks for changes every 5 s" in notice.inner_text()
        # A change made by another process (its own recorder) still arrives, through the change token.
        other_writer = Recorder(live_server.store)
        other_writer.record([make_event("fresh-2", "started", datetime.now(UTC), {"job": "fresh_job"})])
        page.wait_for_selector("#jd-recent-table >> text=fresh-2", timeout=8000)
    finally:
        page.unroute("**/api/v1/stream")  # the page is shared by the module's tests
    # Back on the stream, the notice goes away.
    page.evaluate("window.JobdeckLive.connect()")
    page.wait_for_selector('#jd-live[data-state="live"]')
    assert not page.locator("#jd-live-notice").is_visible()


def test_an_event_updates_the_open_run_list(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/runs?status=running"))
    page.wait_for_selector('#jd-live[data-state="live"]')
    event = {
        "run_id": "fresh-list-1",
        "event": "started",
        "job": "fresh_job",
        "at": datetime.now(UTC).isoformat(),
    }
    posted = time.monotonic()
    response = httpx.post(live_server.path("/api/v1/events"), json=event)
    assert response.status_code < 300, response.text
    # The list's own timer is 10 s: only the live stream can bring the run within 2 s.
    page.wait_for_selector("text=fresh-list-1", timeout=2000)
    assert time.monotonic() - posted < 2.5
    assert page.jd_errors == []


def test_a_steady_stream_of_changes_still_updates_the_page(live_server: LiveServer, page: Any) -> None:
    """Ten changes a second for three seconds: the page shows the first within 2 s, while they still
    arrive (waiting for a quiet moment before announcing a change would never announce one)."""
    page.goto(live_server.path("/?refresh=0"))
    page.wait_for_selector('#jd-live[data-state="live"]')
    stop = threading.Event()

    def post_changes() -> None:
        for i in range(30):
            if stop.is_set():
                return
            at = datetime.now(UTC).isoformat()
            httpx.post(
                live_server.path("/api/v1/events"),
                json={"run_id": f"steady-{i}", "event": "started", "job": "steady_job", "at": at},
            )
            time.sleep(0.1)

    writer = threading.Thread(target=post_changes)
    posted = time.monotonic()
    writer.start()
    try:
        page.wait_for_selector("#jd-recent-table >> text=steady-", timeout=2500)
        assert time.monotonic() - posted < 2.5
        assert writer.is_alive(), "the changes should still be arriving"
    finally:
        stop.set()
        writer.join()
    assert page.jd_errors == []
