"""The overview in Chromium: numbers match the API, filters change the view and the URL, the timeline
draws and explains a run, phone width does not scroll sideways, dark mode applies, no console errors."""

from __future__ import annotations

import re
from typing import Any

import httpx2 as httpx
import pytest

from tests.browser.conftest import BYPASS_CSP, PHONE, SLOW_JOB, LiveServer

pytestmark = pytest.mark.browser


def card(page: Any, name: str) -> str:
    text: str = page.locator(f'[data-card="{name}"] .jd-stat-value').inner_text()
    return text.strip()


def test_overview_matches_the_api(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/"))
    stats = httpx.get(live_server.path("/api/v1/stats"), params={"hours": 24}).json()
    assert card(page, "total") == f"{stats['total']:,}"
    assert card(page, "success-rate") == f"{stats['success_rate']:.1f}%"
    assert card(page, "running") == str(stats["running"])
    assert page.locator('[data-card="avg-duration"] .jd-stat-value').inner_text() == "6.3 s"
    for label in ("Total Jobs", "Success Rate", "Average Duration", "Currently Running"):
        assert page.get_by_text(label, exact=True).is_visible()
    jobs = httpx.get(live_server.path("/api/v1/jobs"), params={"hours": 24}).json()["jobs"]
    rows = page.locator("#jd-summary-table tbody tr")
    assert rows.count() == len(jobs)
    slow = page.locator(f'#jd-summary-table tr[data-job="{SLOW_JOB}"]')
    assert "slow" in slow.inner_text()
    assert "failing" in slow.inner_text()
    assert page.locator("#jd-recent-table tbody tr").count() == 20
    assert page.locator("#jd-recent-table tbody tr").first.locator("td").nth(0).inner_text() == "live-1"
    # Time range, job type and auto refresh menus, as the seed dashboard has them.
    assert page.locator("#jd-range option").all_inner_texts()[:6] == [
        "Last 15 minutes",
        "Last 1 hour",
        "Last 6 hours",
        "Last 24 hours",
        "Last 7 days",
        "Last 30 days",
    ]
    assert page.locator("#jd-job option").all_inner_texts() == ["All Jobs", *sorted(j["job"] for j in jobs)]
    assert page.locator("#jd-refresh option:checked").inner_text() == "Every 30 seconds"
    assert page.jd_errors == []


def test_filters_change_the_view_and_the_url(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/"))
    page.select_option("#jd-job", "clip_sync")
    page.wait_for_url(re.compile(r"job=clip_sync"))
    page.wait_for_function("document.querySelectorAll('#jd-summary-table tbody tr').length === 1")
    assert card(page, "total") == "51"
    page.select_option("#jd-range", "1")
    page.wait_for_url(re.compile(r"hours=1&job=clip_sync"))
    total = "document.querySelector('[data-card=\"total\"] .jd-stat-value').textContent.trim()"
    page.wait_for_function(f"{total} !== '51'")
    hour = httpx.get(live_server.path("/api/v1/stats"), params={"hours": 1, "job": "clip_sync"}).json()
    assert card(page, "total") == str(hour["total"])
    # The URL is the view: reloading it shows the same filters.
    page.reload()
    assert page.locator("#jd-job").input_value() == "clip_sync"
    assert page.locator("#jd-range").input_value() == "1"
    # Sorting by runs, descending, and the simple view hiding the tables.
    page.goto(live_server.path("/"))
    page.click('.jd-sort[data-key="runs"]')
    page.click('.jd-sort[data-key="runs"]')
    first = page.locator("#jd-summary-table tbody tr").first.get_attribute("data-job")
    assert first == "webhook_retry"
    page.click('button[data-view="simple"]')
    assert "view=simple" in page.url
    assert not page.locator("#jd-summary").is_visible()
    assert page.locator("#jd-timeline").is_visible()
    page.click("#jd-refresh-now")
    page.wait_for_function("document.getElementById('jd-refresh-now').getAttribute('aria-busy') === 'false'")
    assert page.jd_errors == []


def test_timeline_draws_and_shows_a_run(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path(f"/?job={SLOW_JOB}&hours=6"))
    page.wait_for_selector("#jd-timeline canvas")
    info = page.locator("#jd-timeline-info")
    page.wait_for_function("document.getElementById('jd-timeline-info').textContent.includes('runs across')")
    assert "6 runs across 1 job" in info.inner_text()
    assert "peak 2 running at once" in info.inner_text()
    # Hover the middle of the timeline's first bar: its tooltip names the run.
    box = page.evaluate("window.jobdeckTimeline.barCenter(0)")
    page.mouse.move(box["x"] - 3, box["y"])
    page.mouse.move(box["x"], box["y"])
    tip = page.locator(".jd-tip")
    tip.wait_for()
    assert box["runId"] in tip.inner_text()
    assert "Duration: 1 m 30 s" in tip.inner_text()
    # Clicking the bar opens the run.
    page.mouse.click(box["x"], box["y"])
    page.wait_for_url(f"**/runs/{box['runId']}")
    assert page.jd_errors == []


def test_phone_width_and_dark_mode(live_server: LiveServer, browser: Any) -> None:
    context = browser.new_context(viewport=PHONE, color_scheme="dark", bypass_csp=BYPASS_CSP)
    phone = context.new_page()
    try:
        for path in ("/", "/jobs/clip_sync"):
            phone.goto(live_server.path(path))
            phone.wait_for_timeout(300)
            assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(15, 19, 25)"
        # The toggle overrides the system's choice and is remembered.
        phone.click("#jd-theme-toggle")
        assert phone.evaluate("document.documentElement.dataset.theme") == "light"
        phone.reload()
        assert phone.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(245, 246, 248)"
    finally:
        context.close()


def test_failed_bars_stand_out_without_colour(live_server: LiveServer, page: Any) -> None:
    """Failed runs are outlined as well as red on the timeline, and the legend says so."""
    page.goto(live_server.path(f"/?job={SLOW_JOB}&hours=6&refresh=0"))
    page.wait_for_function("document.getElementById('jd-timeline-info').textContent.includes('runs across')")
    outlined = page.evaluate(
        "(() => { const css = getComputedStyle(document.documentElement);"
        " const red = css.getPropertyValue('--run-failed').trim();"
        " return window.jobdeckTimeline.chart.getZr().storage.getDisplayList()"
        ".filter(el => el.type === 'rect' && el.style.fill === red && el.style.stroke"
        " && el.style.lineWidth === 1).length; })()"
    )
    assert outlined == 1  # rep-5, the one failed run of the job
    assert "Failed (outlined)" in page.locator(".jd-legend").inner_text()
    assert page.jd_errors == []
