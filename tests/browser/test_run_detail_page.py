"""The run page in Chromium: the traceback is there, monospace, and scrolls in its own box."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import LiveServer


def test_run_page_shows_the_traceback(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.path("/runs?status=failed"))
    page.get_by_role("link", name="run-00145").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("run-00145")
    traceback = page.get_by_label("Traceback")
    expect(traceback).to_contain_text("KeyError: 1145")
    assert traceback.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    assert "monospace" in traceback.evaluate("e => getComputedStyle(e).fontFamily")
    assert page.jd_errors == []
