"""Run lists in Chromium: tabs, filters and pages, search into old history, and phone width."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import BYPASS_CSP, PHONE, LiveServer, watch_errors

ROWS = "table.jd-runs tbody tr"


def test_lists_filter_and_paginate(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/runs"))
    rows = page.locator(ROWS)
    expect(rows).to_have_count(50)
    first_page = rows.first.inner_text()
    page.get_by_role("link", name="Older →").click()
    expect(rows).to_have_count(50)
    assert rows.first.inner_text() != first_page
    page.get_by_role("link", name="Failed", exact=True).click()
    expect(page).to_have_url(re.compile(r"status=failed"))
    expect(rows).to_have_count(31)
    page.get_by_label("Job").select_option("clip_sync")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(10)
    expect(page.get_by_label("Job")).to_have_value("clip_sync")
    assert page.jd_errors == []


def test_search_finds_an_old_run(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/runs"))
    search = page.get_by_label("Search")
    search.fill("order 1000 not")
    search.press("Enter")
    expect(page.locator(ROWS)).to_have_count(1)
    page.get_by_role("link", name="run-00000").click()
    expect(page.get_by_label("Traceback")).to_contain_text("KeyError: 1000")
    assert page.jd_errors == []


def test_phone_width_has_no_horizontal_scroll(live_server: LiveServer, browser: Any) -> None:
    context = browser.new_context(viewport=PHONE, bypass_csp=BYPASS_CSP)
    phone = context.new_page()
    errors = watch_errors(phone)
    try:
        for path in ("/runs", "/runs?status=failed", "/runs/run-00000", "/failures?hours=6", "/control"):
            phone.goto(live_server.path(path))
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (path, width)
    finally:
        context.close()
    assert errors == []
