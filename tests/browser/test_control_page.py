"""The control center in Chromium: a refresh that fails says so in the page and retries on request."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import LiveServer


def test_a_failed_refresh_says_so_and_retries(live_server: LiveServer, page: Any) -> None:
    failing = True

    def answer(route: Any) -> None:
        if failing:
            route.fulfill(status=500, body="boom")
        else:
            route.continue_()

    page.route("**/fragments/control*", answer)
    page.goto(live_server.path("/control"))
    expect(page.get_by_role("link", name="live-0")).to_be_visible()
    # Refresh now instead of waiting for the 5-second poll.
    page.evaluate(
        "htmx.ajax('GET', document.querySelector('#control-runs').getAttribute('hx-get'),"
        " {target: '#control-runs', swap: 'innerHTML'})"
    )
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Could not refresh: the server answered 500")
    expect(page.get_by_role("link", name="live-0")).to_be_visible()  # what was loaded stays
    failing = False
    alert.get_by_role("button", name="Retry").click()
    expect(alert).to_have_count(0)
    expect(page.get_by_role("link", name="live-0")).to_be_visible()
    page.unroute("**/fragments/control*")
    # The only errors are the 500 this test asked for (the browser's and htmx's reports of it).
    assert page.jd_errors
    assert all("500" in error for error in page.jd_errors)
    page.jd_errors.clear()


def test_the_pending_card_matches_the_pending_list(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/control"))
    card = page.locator('[data-card="pending"] .jd-stat-value')
    rows = page.locator("#jd-pending-table tbody tr")
    assert int(card.inner_text()) == rows.count() == 1
    assert rows.first.locator("td").first.inner_text() == "waiting"
    assert page.locator("#jd-pending-title").inner_text() == "Pending (1)"
    # The bar and the warning say what they are measured against.
    basis = page.locator("#jd-usual-basis").inner_text()
    assert "p50" in basis
    assert "p95" in basis
    bar = page.locator(".jd-progress").first
    assert "(p50)" in bar.locator("xpath=..").inner_text() or "p95" in bar.locator("xpath=..").inner_text()
    assert page.jd_errors == []
