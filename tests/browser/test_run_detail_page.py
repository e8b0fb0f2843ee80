"""The run page in Chromium: the traceback is there, monospace, and scrolls in its own box; a run still
going updates itself when it changes."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer


def test_run_page_shows_the_traceback(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/runs?status=failed"))
    page.get_by_role("link", name="run-00145").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("run-00145")
    traceback = page.get_by_label("Traceback")
    expect(traceback).to_contain_text("KeyError: 1145")
    assert traceback.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    assert "monospace" in traceback.evaluate("e => getComputedStyle(e).fontFamily")
    assert page.jd_errors == []


def test_a_running_run_updates_itself_when_it_finishes(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/runs/live-0"))
    page.wait_for_selector('#jd-live[data-state="live"]')
    badge = page.locator("header .jd-status")
    expect(badge).to_have_text("running")
    posted = time.monotonic()
    event = {"run_id": "live-0", "event": "succeeded", "at": datetime.now(UTC).isoformat()}
    assert httpx.post(live_server.path("/api/v1/events"), json=event).status_code < 300
    expect(badge).to_have_text("succeeded", timeout=2500)
    assert time.monotonic() - posted < 2.5
    # Finished, it no longer listens: the section carries no trigger any more.
    assert page.locator("#jd-run").get_attribute("hx-trigger") is None
    assert page.jd_errors == []


def test_a_run_that_succeeded_after_a_retry_shows_the_earlier_error_as_history(
    live_server: LiveServer, page: Any
) -> None:
    from datetime import timedelta

    from jobdeck.events import make_event

    at = datetime.now(UTC) - timedelta(minutes=5)
    error = {"error_type": "ConnectionError", "error_message": "warehouse unreachable"}
    live_server.record(
        [
            make_event("retried-ok", "started", at, {"job": "clip_sync"}),
            make_event("retried-ok", "retrying", at + timedelta(seconds=5), error),
            make_event("retried-ok", "started", at + timedelta(seconds=20), {}),
            make_event("retried-ok", "succeeded", at + timedelta(seconds=30), {}),
        ]
    )
    page.goto(live_server.path("/runs/retried-ok"))
    expect(page.locator("header .jd-status")).to_have_text("succeeded")
    panel = page.locator('section[aria-labelledby="error-title"]')
    expect(panel.get_by_role("heading")).to_have_text("Earlier attempt's error")
    expect(panel).to_contain_text("This run succeeded at attempt 2; an earlier attempt failed with:")
    expect(panel).to_contain_text("ConnectionError: warehouse unreachable")
    assert "jd-panel--error" not in (panel.get_attribute("class") or "")
    assert page.get_by_role("heading", name="Error", exact=True).count() == 0
    # A run that failed still shows its error as the run's own, in red.
    page.goto(live_server.path("/runs/run-00145"))
    failed = page.locator('section[aria-labelledby="error-title"]')
    expect(failed.get_by_role("heading")).to_have_text("Error")
    assert "jd-panel--error" in (failed.get_attribute("class") or "")
    assert page.jd_errors == []
