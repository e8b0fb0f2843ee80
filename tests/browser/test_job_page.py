"""A job's page in Chromium: cards, charts from the chart API, runs by status, the last error."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
import pytest

from tests.browser.conftest import SLOW_JOB, LiveServer

pytestmark = pytest.mark.browser


def test_job_page(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path(f"/jobs/{SLOW_JOB}"))
    assert page.locator("h1").inner_text().startswith(SLOW_JOB)
    assert page.locator('[data-card="total"] .jd-stat-value').inner_text() == "6"
    assert "badge service timed out" in page.locator('section[aria-labelledby="jd-last-error"]').inner_text()
    for chart in ("jd-chart-duration", "jd-chart-outcomes", "jd-chart-heatmap"):
        page.wait_for_selector(f"#{chart} canvas")
    assert page.locator("#jd-job-runs-table tbody tr").count() == 6
    page.click('.jd-chip:has-text("failed")')
    page.wait_for_function("document.querySelectorAll('#jd-job-runs-table tbody tr').length === 1")
    assert page.locator("#jd-job-runs-table tbody tr td").first.inner_text() == "rep-5"
    page.locator("#jd-job-runs-table tbody tr").first.locator("td").nth(3).click()
    page.wait_for_url("**/runs/rep-5")
    assert page.jd_errors == []


def test_job_page_pages_fifty_runs(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/jobs/clip_sync"))
    assert page.locator("#jd-job-runs-table tbody tr").count() == 50
    page.click("#jd-job-runs-body .jd-pager .jd-btn")
    page.wait_for_function("document.querySelectorAll('#jd-job-runs-table tbody tr').length === 1")
    assert page.jd_errors == []


def test_the_job_page_asks_for_readable_steps(live_server: LiveServer, page: Any) -> None:
    """Bars about half an hour wide over a day (not one per 2 minutes), and whole runs on the count axis."""
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/" in r.url else None)
    page.goto(live_server.path(f"/jobs/{SLOW_JOB}"))
    page.wait_for_load_state("networkidle")
    steps = dict(re.findall(r"metric=(\w+)&step=(\d+)", " ".join(asked)))
    assert int(steps.get("runs", 0)) >= 24 * 3600 // 60
    assert int(steps.get("duration_p95", 0)) >= 24 * 3600 // 120
    # About 60 heatmap columns over the day, not the store's 240 (a cell a run for a 15-minute job).
    (heat,) = [int(step) for step in re.findall(r"/heatmap\?.*step=(\d+)", " ".join(asked))]
    assert heat >= 24 * 3600 // 60
    # The duration axis ticks at round durations and writes them without zero parts.
    page.wait_for_function("window.jobdeckCharts['jd-chart-duration']")
    axis = page.evaluate(
        "(() => { const y = window.jobdeckCharts['jd-chart-duration'].getOption().yAxis[0];"
        " const f = y.axisLabel.formatter;"
        " return [y.interval, y.max, f(0), f(30), f(300), f(3600), f(90)]; })()"
    )
    assert axis == [30, 90, "0", "30 s", "5 m", "1 h", "1 m 30 s"]  # the job's runs take 90 s
    outcomes = page.evaluate("window.jobdeckCharts['jd-chart-outcomes'].getOption().yAxis[0].minInterval")
    assert outcomes == 1
    assert page.jd_errors == []


def test_live_changes_reload_the_newest_runs_but_not_a_later_page(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/jobs/clip_sync"))
    page.wait_for_selector('#jd-live[data-state="live"]')
    first = page.locator("#jd-job-runs-table tbody tr").first

    def post(run_id: str) -> None:
        at = datetime.now(UTC).isoformat()
        event = {"run_id": run_id, "event": "started", "job": "clip_sync", "at": at}
        assert httpx.post(live_server.path("/api/v1/events"), json=event).status_code < 300

    posted = time.monotonic()
    post("clip-live-1")
    page.wait_for_function(
        "document.querySelector('#jd-job-runs-table tbody tr td').textContent.includes('clip-live-1')",
        timeout=2500,
    )
    assert time.monotonic() - posted < 2.5
    assert "clip-live-1" in first.inner_text()
    # On an older page, a change leaves what one is reading where it is.
    page.click("#jd-job-runs-body .jd-pager .jd-btn")
    page.wait_for_selector("#jd-job-runs-body .jd-pager >> text=Newest")
    older = page.locator("#jd-job-runs-table tbody tr").all_inner_texts()
    post("clip-live-2")
    page.wait_for_timeout(2500)
    assert page.locator("#jd-job-runs-table tbody tr").all_inner_texts() == older
    assert page.jd_errors == []
