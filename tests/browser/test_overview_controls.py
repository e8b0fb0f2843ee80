"""The overview's controls in Chromium, as a demanding user works them: rows open what they name, a zoom
into the timeline survives refreshes, the wall screen needs no script, and a failed refresh leaves
"Last updated" alone."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import SLOW_JOB, LiveServer

pytestmark = pytest.mark.browser

ZOOM = "JSON.stringify(window.jobdeckTimeline.chart.getOption().dataZoom[0])"
IDLE = "document.getElementById('jd-refresh-now').getAttribute('aria-busy') === 'false'"
TIMELINE_DRAWN = "document.getElementById('jd-timeline-info').textContent.includes('runs across')"


def zoom(page: Any) -> dict[str, float]:
    import json

    option: dict[str, float] = json.loads(page.evaluate(ZOOM))
    return option


def test_a_row_opens_its_job_or_run(live_server: LiveServer, page: Any) -> None:
    """A click anywhere on a row, not only on its link, opens the job (summary) or the run (recent)."""
    page.goto(live_server.path("/"))
    row = page.locator(f'#jd-summary-table tr[data-job="{SLOW_JOB}"]')
    row.locator("td").nth(3).click()  # the average duration: no link there
    page.wait_for_url(f"**/jobs/{SLOW_JOB}")
    page.goto(live_server.path("/"))
    page.locator("#jd-recent-table tbody tr").first.locator("td").nth(4).click()
    page.wait_for_url("**/runs/live-1")
    assert page.jd_errors == []


def test_a_zoom_survives_refreshes_and_a_new_range_resets_it(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/?refresh=0"))
    page.wait_for_function("window.jobdeckTimeline && window.jobdeckTimeline.chart")
    page.evaluate("window.jobdeckTimeline.chart.dispatchAction({type: 'dataZoom', start: 40, end: 60})")
    before = zoom(page)
    assert 39 < before["start"] < 41 and 59 < before["end"] < 61
    # Refresh Now (what auto refresh and every live change do): the same stretch of time stays in view.
    page.click("#jd-refresh-now")
    page.wait_for_function(IDLE)
    after = zoom(page)
    assert abs(after["startValue"] - before["startValue"]) < 1000
    assert abs(after["endValue"] - before["endValue"]) < 1000
    # Switching the theme redraws the chart; the zoom stays.
    page.click("#jd-theme-toggle")
    assert abs(zoom(page)["startValue"] - before["startValue"]) < 1000
    page.click("#jd-theme-toggle")
    # Another time range: the old zoom means nothing there, the whole window shows.
    page.select_option("#jd-range", "6")
    page.wait_for_url(re.compile(r"hours=6"))
    page.wait_for_function(
        "(() => { const z = window.jobdeckTimeline.chart.getOption().dataZoom[0];"
        " return z.start === 0 && z.end === 100; })()"
    )
    assert page.jd_errors == []


def test_the_wall_screen_hides_the_tables_without_script(live_server: LiveServer, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.goto(live_server.path("/?view=simple"))
        assert plain.locator(".jd-cards").is_visible()
        assert not plain.locator("#jd-summary").is_visible()
        assert not plain.locator("#jd-recent").is_visible()
        plain.goto(live_server.path("/"))
        assert plain.locator("#jd-summary").is_visible()
    finally:
        context.close()


def test_a_failed_refresh_leaves_last_updated_alone(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/?refresh=0"))
    page.wait_for_function(TIMELINE_DRAWN)
    stamp = page.locator("#jd-updated").get_attribute("datetime")
    page.route("**/fragments/overview*", lambda route: route.fulfill(status=500, body="boom"))
    page.route("**/api/v1/timeline*", lambda route: route.fulfill(status=500, body="boom"))
    try:
        page.wait_for_timeout(1100)  # so a new stamp would differ by at least a second
        page.click("#jd-refresh-now")
        page.wait_for_selector("#jd-timeline-error >> text=Retry")
        page.wait_for_function(IDLE)
        assert page.locator("#jd-updated").get_attribute("datetime") == stamp
        assert page.locator("#jd-overview-body .jd-refresh-error").is_visible()
    finally:
        page.unroute("**/fragments/overview*")
        page.unroute("**/api/v1/timeline*")
    page.locator("#jd-timeline-error button").click()
    page.wait_for_function(f"document.getElementById('jd-updated').getAttribute('datetime') !== '{stamp}'")
    page.jd_errors.clear()  # the 500s this test asked for
