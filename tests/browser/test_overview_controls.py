"""The overview's controls in Chromium, as a demanding user works them: rows open what they name, a zoom
into the timeline survives refreshes, the wall screen needs no script, phone tables are cards, a failed
refresh leaves "Last updated" alone, and everything works under a root path."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from jobdeck.config import Settings
from tests.browser.conftest import BYPASS_CSP, PHONE, SLOW_JOB, LiveServer, filled_store, serve, watch_errors

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
    assert 39 < before["start"] < 41
    assert 59 < before["end"] < 61
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
    context = browser.new_context(java_script_enabled=False, bypass_csp=BYPASS_CSP)
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


def test_phone_tables_are_cards_not_sideways_scrollers(live_server: LiveServer, browser: Any) -> None:
    context = browser.new_context(viewport=PHONE, bypass_csp=BYPASS_CSP)
    try:
        phone = context.new_page()
        errors = watch_errors(phone)
        for path in ("/", f"/jobs/{SLOW_JOB}"):
            phone.goto(live_server.path(path))
            phone.wait_for_load_state("networkidle")
            # Open every collapsed section, so its table is measured too.
            phone.locator(".jd-collapse-toggle").evaluate_all(
                "bs => bs.forEach(b => { if (b.textContent === 'Show') b.click(); })"
            )
            assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            # Every table fits its panel: nothing is hidden off to the right.
            hidden = phone.evaluate(
                "Array.from(document.querySelectorAll('.jd-table-wrap'))"
                ".filter(w => w.scrollWidth > w.clientWidth + 1).map(w => w.querySelector('table').id)"
            )
            assert hidden == [], f"{path}: {hidden} scroll sideways"
        # The summary's cards name each figure, and the sort buttons stay.
        phone.goto(live_server.path("/"))
        assert phone.locator("#jd-summary .jd-collapse-toggle").inner_text() == "Hide"  # opened above
        card = phone.locator(f'#jd-summary-table tr[data-job="{SLOW_JOB}"]')
        label = card.locator('td[data-label="Success"]')
        assert phone.evaluate("td => getComputedStyle(td, '::before').content", label.element_handle()) == (
            '"Success"'
        )
        assert phone.locator('.jd-sort[data-key="p95"]').is_visible()
        # The page links and the theme toggle fit the top bar.
        assert phone.locator(".jd-nav").is_visible()
        assert phone.locator("#jd-theme-toggle").is_visible()
        assert errors == []
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


def test_every_page_works_under_a_root_path(tmp_path: Path, browser: Any) -> None:
    store = filled_store(tmp_path)
    settings = Settings(database_url=store.url, root_path="/jobs")
    try:
        with serve(store, settings=settings) as server:
            context = browser.new_context(bypass_csp=BYPASS_CSP)
            page = context.new_page()
            errors = watch_errors(page)
            failed: list[str] = []
            page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            base = server.path("/jobs")
            pages = ("/", f"/jobs/{SLOW_JOB}", "/runs?status=failed", "/failures", "/runs/rep-5", "/control")
            for path in pages:
                page.goto(base + path)
                page.wait_for_selector('#jd-live[data-state="live"]')
                outside = page.eval_on_selector_all(
                    "a[href^='/']",
                    "links => links.map(a => a.getAttribute('href')).filter(h => !h.startsWith('/jobs/'))",
                )
                assert outside == [], f"{path}: links outside the root path: {outside}"
            page.goto(base + "/")
            page.wait_for_function(TIMELINE_DRAWN)
            page.locator(f'#jd-summary-table tr[data-job="{SLOW_JOB}"] td').nth(2).click()
            page.wait_for_url(f"**/jobs/jobs/{SLOW_JOB}")
            page.wait_for_selector("#jd-chart-duration canvas")
            assert failed == []
            assert errors == []
            context.close()
    finally:
        store.close()


def test_live_changes_wait_while_a_tooltip_is_read(live_server: LiveServer, page: Any) -> None:
    """A live refresh redraws the cards and tables at once, but not the timeline under the pointer
    (that would take the tooltip away); the timeline catches up when the pointer leaves."""
    page.goto(live_server.path(f"/?job={SLOW_JOB}&hours=6&refresh=0"))
    page.wait_for_selector('#jd-live[data-state="live"]')
    page.wait_for_function(TIMELINE_DRAWN)
    drawn = page.evaluate("window.jobdeckTimeline.data.runs.length")
    box = page.evaluate("window.jobdeckTimeline.barCenter(0)")
    page.mouse.move(box["x"] - 3, box["y"])
    page.mouse.move(box["x"], box["y"])
    tip = page.locator(".jd-tip")
    tip.wait_for()
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    event = {"run_id": "hover-1", "event": "started", "job": SLOW_JOB, "at": at}
    assert httpx.post(live_server.path("/api/v1/events"), json=event).status_code < 300
    page.wait_for_selector("#jd-recent-table >> text=hover-1", timeout=2500)
    assert tip.is_visible()
    assert box["runId"] in tip.inner_text()
    assert page.evaluate("window.jobdeckTimeline.data.runs.length") == drawn
    page.mouse.move(5, 5)
    page.wait_for_function(f"window.jobdeckTimeline.data.runs.length === {drawn + 1}")
    assert page.jd_errors == []
