"""Stop and Retry in Chromium, on real local processes: Stop (confirmed) in the control center ends a
running run as cancelled; Retry on a failed run's page opens the new run, linked to its parent; an
action the server fails says so in the page and can be tried again."""

from __future__ import annotations

import re
import sys
import time
from typing import Any

import httpx2 as httpx
from playwright.sync_api import expect

from jobdeck.executors import Submission
from jobdeck.store.runs import get_run
from tests.browser.conftest import LiveServer

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
FAILING = [sys.executable, "-c", "import sys; print('quota exceeded', file=sys.stderr); sys.exit(2)"]


def start(server: LiveServer, command: list[str], job: str) -> str:
    run_id: str = server.app.state.control.executors["local"].submit(Submission(job=job, args=command))
    return run_id


def running_sleeper(server: LiveServer) -> str:
    """Start a command that sleeps; its run id once it is recorded running."""
    run_id = start(server, SLEEPER, "browser_sleeper")
    status_of(server, run_id, "running")
    return run_id


def control_row(page: Any, run_id: str) -> Any:
    """The row of `run_id` in the control center's list of running runs."""
    return page.locator("#control-runs tr", has=page.get_by_role("link", name=run_id))


def status_of(server: LiveServer, run_id: str, wanted: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with server.store.read() as conn:
            run = get_run(conn, run_id)
        if run is not None and run["status"] == wanted:
            return
        assert time.monotonic() < deadline, f"{run_id} did not become {wanted}: {run}"
        time.sleep(0.05)


def test_stop_in_the_control_center_cancels_a_running_run(live_server: LiveServer, page: Any) -> None:
    run_id = running_sleeper(live_server)
    page.goto(live_server.path("/control"))
    row = control_row(page, run_id)
    expect(row.get_by_role("button", name="Retry")).to_be_visible()
    # Runs no executor can act on say why, and have no buttons.
    other = control_row(page, "live-0")
    expect(other).to_contain_text("No stop or retry: its source does not say how it was started.")
    expect(other.get_by_role("button")).to_have_count(0)
    asked: list[str] = []

    def confirm(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", confirm)
    row.get_by_role("button", name="Stop").click()
    result = page.locator("#jd-action-result")
    expect(result).to_contain_text(f"Stopping {run_id}: SIGTERM sent to process")
    assert asked
    assert asked[0].startswith(f"Stop run {run_id} of browser_sleeper?")
    # The run ends as cancelled: its row leaves the running list, and its page says so.
    expect(row).to_have_count(0)
    status_of(live_server, run_id, "cancelled")
    result.get_by_role("link", name=run_id).click()
    expect(page.locator("header .jd-status")).to_have_text("cancelled")
    expect(page.get_by_role("heading", name="Cancelled")).to_be_visible()
    expect(page.locator("#jd-run")).to_contain_text("stopped with SIGTERM (asked for in jobdeck)")
    assert page.jd_errors == []


def test_retry_on_a_failed_run_opens_the_new_run_linked_to_it(live_server: LiveServer, page: Any) -> None:
    failed = start(live_server, FAILING, "browser_flaky")
    status_of(live_server, failed, "failed")
    page.goto(live_server.path(f"/runs/{failed}"))
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    page.get_by_role("button", name="Retry").click()  # no confirmation: the run has ended
    page.wait_for_url(re.compile(r"/runs/(?!" + re.escape(failed) + r")[0-9a-f-]{36}$"))
    new_run = page.url.rsplit("/", 1)[-1]
    expect(page.get_by_role("heading", level=1)).to_have_text(new_run)
    chain = page.locator("section[aria-labelledby='chain-title']")
    expect(chain.get_by_role("link", name=failed)).to_be_visible()
    expect(chain).to_contain_text(f"{new_run} (this run)")
    status_of(live_server, new_run, "failed")
    with live_server.store.read() as conn:
        run = get_run(conn, new_run)
    assert run is not None
    assert run["parent_run_id"] == failed
    assert run["args"] == FAILING
    assert page.jd_errors == []


def test_a_failed_action_says_so_and_can_be_tried_again(live_server: LiveServer, page: Any) -> None:
    run_id = running_sleeper(live_server)
    page.route("**/stop", lambda route: route.fulfill(status=503, body="the store is unavailable"))
    page.goto(live_server.path(f"/runs/{run_id}"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Stop").click()
    alert = page.locator("#jd-action-result").get_by_role("alert")
    expect(alert).to_contain_text("Could not stop: the server answered 503.")
    page.unroute("**/stop")
    alert.get_by_role("button", name="Try again").click()
    expect(page.locator("#jd-action-result")).to_contain_text(f"Stopping {run_id}")
    # The page of a run still going reloads itself when it changes: it shows the cancellation.
    expect(page.locator("header .jd-status")).to_have_text("cancelled", timeout=5000)
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    assert page.jd_errors
    assert all("503" in error for error in page.jd_errors), page.jd_errors
    page.jd_errors.clear()


def test_a_refused_action_shows_why_in_the_page(live_server: LiveServer, page: Any) -> None:
    run_id = running_sleeper(live_server)
    page.goto(live_server.path("/control"))
    row = control_row(page, run_id)
    expect(row.get_by_role("button", name="Stop")).to_be_visible()
    # The page goes stale (its refreshes fail) while the run is stopped elsewhere.
    page.route("**/fragments/control*", lambda route: route.abort())
    assert httpx.post(live_server.path(f"/api/v1/runs/{run_id}/stop")).status_code == 202
    status_of(live_server, run_id, "cancelled")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Stop").click()
    alert = page.locator("#jd-action-result").get_by_role("alert")
    expect(alert).to_contain_text(f"Run {run_id} is cancelled: only a pending or running run can be stopped.")
    expect(alert.get_by_role("button", name="Try again")).to_be_visible()
    page.unroute("**/fragments/control*")
    # What the console saw: the refused request (409) and the refreshes this test made fail (htmx
    # logs a failed request as htmx:afterRequest, then htmx:sendError).
    allowed = ("409", "ERR_FAILED", "htmx:afterRequest", "sendError")
    assert all(any(word in error for word in allowed) for error in page.jd_errors), page.jd_errors
    page.jd_errors.clear()
