"""Terminate and "Retry failed runs" in Chromium, on real local processes: Terminate asks first (a
dismissed question does nothing), then kills the run at once, which the page shows cancelled; a job's
page retries its failed runs after asking, and lists each outcome. Screenshots of both pages, light and
dark, desktop and phone, go to /tmp/shots-celery-control/."""

from __future__ import annotations

import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, LiveServer
from tests.browser.test_control_actions import FAILING, running_sleeper, start, status_of

SHOTS = Path(tempfile.gettempdir()) / "shots-celery-control"


def screenshots(browser: Any, url: str, name: str, click: str | None = None) -> None:
    """Screenshots of a page in light and dark, on a desktop and a phone (after pressing `click`,
    confirmed, when given)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        for size, viewport in (("desktop", {**DESKTOP, "width": 1280}), ("phone", PHONE)):
            context = browser.new_context(viewport=viewport, color_scheme=scheme)
            page = context.new_page()
            page.goto(url)
            if click:
                page.once("dialog", lambda dialog: dialog.accept())
                page.get_by_role("button", name=click).click()
                expect(page.locator("#jd-action-result .jd-notice")).to_be_visible()
            page.screenshot(path=str(SHOTS / f"{name}-{scheme}-{size}.png"), full_page=False)
            context.close()


@pytest.fixture(scope="module")
def shoot(browser: Any) -> Any:
    return partial(screenshots, browser)


def test_terminate_asks_first_then_kills_the_run(live_server: LiveServer, page: Any, shoot: Any) -> None:
    run_id = running_sleeper(live_server)
    shoot(live_server.path(f"/runs/{run_id}"), "run-terminate")
    page.goto(live_server.path(f"/runs/{run_id}"))
    asked: list[str] = []

    def answer(accept: bool) -> Any:
        def respond(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return respond

    page.once("dialog", answer(False))
    page.get_by_role("button", name="Terminate").click()
    assert asked == [f"Terminate run {run_id} of browser_sleeper now? It is sent SIGKILL at once: it gets no "
                     "chance to clean up."]  # fmt: skip
    expect(page.locator("#jd-action-result")).to_be_empty()
    status_of(live_server, run_id, "running")
    page.once("dialog", answer(True))
    page.get_by_role("button", name="Terminate").click()
    expect(page.locator("#jd-action-result")).to_contain_text(
        f"Terminating {run_id}: SIGKILL sent to process"
    )
    expect(page.locator("header .jd-status")).to_have_text("cancelled", timeout=5000)
    expect(page.locator("#jd-run")).to_contain_text("stopped with SIGKILL (asked for in jobdeck)")
    expect(page.get_by_role("button", name="Terminate")).to_have_count(0)
    assert page.jd_errors == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes")
def test_the_job_page_retries_its_failed_runs_after_asking(
    live_server: LiveServer, page: Any, shoot: Any
) -> None:
    failed = [start(live_server, FAILING, "browser_bulk") for _ in range(2)]
    for run_id in failed:
        status_of(live_server, run_id, "failed")
    page.goto(live_server.path("/jobs/browser_bulk"))
    asked: list[str] = []

    def confirm(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", confirm)
    page.get_by_role("button", name="Retry failed runs").click()
    result = page.locator("#jd-action-result")
    expect(result).to_contain_text("2 of 2 failed runs of browser_bulk in the last 24 hours retried.")
    assert asked
    assert asked[0].startswith("Retry the 2 failed runs of browser_bulk in this time range?")
    for run_id in failed:
        expect(result.locator(f'li[data-outcome="retried"]:has(a[href$="/runs/{run_id}"])')).to_have_count(1)
    assert page.jd_errors == []
    # Pressed again (the retries failed too, so there are more failed runs now): the first two were
    # retried already, and say so.
    shoot(live_server.path("/jobs/browser_bulk"), "job-retry-failed", click="Retry failed runs")
