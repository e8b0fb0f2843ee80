"""A job's page in Chromium: cards, charts from the chart API, runs by status, the last error."""

from __future__ import annotations

from typing import Any

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
