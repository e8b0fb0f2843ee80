"""Smaller things a user saw, in Chromium: the summary's sort is in the URL, run lists say their
total, a phone's overview starts with its long sections collapsed, 30-day time axes name the month,
and the heatmap's colours keep their order in lightness (readable without telling hues apart)."""

from __future__ import annotations

import re
from typing import Any

import httpx2 as httpx
import pytest

from tests.browser.conftest import BYPASS_CSP, PHONE, SLOW_JOB, LiveServer, watch_errors

pytestmark = pytest.mark.browser


def test_the_summary_sort_is_in_the_url(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/"))
    page.click('.jd-sort[data-key="runs"]')
    page.wait_for_url(re.compile(r"sort=runs"))
    page.click('.jd-sort[data-key="runs"]')
    page.wait_for_url(re.compile(r"sort=-runs"))
    first = "document.querySelector('#jd-summary-table tbody tr').dataset.job"
    assert page.evaluate(first) == "webhook_retry"
    # A reload, or the link shared, shows the same order.
    page.goto(live_server.path("/?sort=-runs"))
    assert page.evaluate(first) == "webhook_retry"
    assert page.locator('#jd-summary-table th[aria-sort="descending"]').text_content().strip() == "Runs"
    page.goto(live_server.path("/?sort=failures_per_min"))
    assert (
        page.locator('#jd-summary-table th[aria-sort="ascending"]').text_content().strip() == "Failures/min"
    )
    assert page.jd_errors == []


def test_run_lists_say_their_total(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/runs?status=failed"))
    failed = httpx.get(live_server.path("/api/v1/stats"), params={"hours": 24 * 365}).json()["failed"]
    total = page.locator("#jd-runs-total")
    assert total.get_attribute("data-total") == str(failed)
    assert total.inner_text().endswith(f"of {failed}")
    page.goto(live_server.path("/runs"))
    assert int(page.locator("#jd-runs-total").get_attribute("data-total")) >= 159
    page.goto(live_server.path("/jobs/clip_sync"))
    assert page.locator("#jd-job-runs-total").inner_text() == "51 runs in this range"
    assert page.jd_errors == []


def test_more_than_the_cap_is_said_so(store: Any) -> None:
    from datetime import timedelta

    from jobdeck.events import make_event
    from jobdeck.recorder import Recorder
    from jobdeck.store.search import RunFilter, count_runs
    from tests.run_data import NOW

    Recorder(store).record(
        [make_event(f"c-{i}", "started", NOW - timedelta(seconds=i), {"job": "j"}) for i in range(12)]
    )
    with store.read() as conn:
        assert count_runs(conn, RunFilter(job="j"), cap=10) == (10, True)
        assert count_runs(conn, RunFilter(job="j"), cap=12) == (12, False)
        assert count_runs(conn, RunFilter(job="j", text="c-1"), cap=100) == (3, False)  # c-1, c-10, c-11


def test_the_phone_overview_starts_collapsed(live_server: LiveServer, browser: Any) -> None:
    context = browser.new_context(viewport=PHONE, bypass_csp=BYPASS_CSP)
    try:
        phone = context.new_page()
        errors = watch_errors(phone)
        phone.goto(live_server.path("/"))
        for section in ("#jd-summary", "#jd-panels", "#jd-recent-panel"):
            assert phone.locator(f"{section} .jd-collapse-toggle").inner_text() == "Show"
        assert not phone.locator("#jd-summary-table").is_visible()
        height = phone.evaluate("document.documentElement.scrollHeight")
        assert height < 2000, height
        phone.click("#jd-summary .jd-collapse-toggle")
        assert phone.locator("#jd-summary-table").is_visible()
        # It stays open across a refresh of the summary.
        phone.click("#jd-refresh-now")
        phone.wait_for_function(
            "document.getElementById('jd-refresh-now').getAttribute('aria-busy') === 'false'"
        )
        assert phone.locator("#jd-summary-table").is_visible()
        assert phone.locator("#jd-summary .jd-collapse-toggle").inner_text() == "Hide"
        assert errors == []
    finally:
        context.close()
    # On a desktop nothing is collapsed and there is no toggle.
    desktop = browser.new_context(bypass_csp=BYPASS_CSP)
    try:
        page = desktop.new_page()
        page.goto(live_server.path("/"))
        assert page.locator("#jd-summary-table").is_visible()
        assert not page.locator("#jd-summary .jd-collapse-toggle").is_visible()
    finally:
        desktop.close()


def test_thirty_day_axes_name_the_month_and_the_heatmap_reads_in_grey(
    live_server: LiveServer, page: Any
) -> None:
    page.goto(live_server.path(f"/jobs/{SLOW_JOB}?hours=720"))
    page.wait_for_function("window.jobdeckCharts && window.jobdeckCharts['jd-chart-heatmap']")
    labels = page.evaluate(
        "window.jobdeckCharts['jd-chart-heatmap'].getOption().xAxis[0].axisLabel.formatter"
    )
    assert labels["day"] == "{MMM} {d}"
    colours = page.evaluate("window.jobdeckCharts['jd-chart-heatmap'].getOption().visualMap[0].inRange.color")

    def lightness(hex_colour: str) -> float:
        r, g, b = (int(hex_colour.strip().lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    steps = [lightness(c) for c in colours]
    # Monotonic in lightness, end to end: more runs is always darker (light theme).
    assert steps == sorted(steps, reverse=True)
    assert steps[0] - steps[-1] > 0.6
    assert page.jd_errors == []
