"""The overview asks for its timeline once, from the page's head, at any width: the head estimates the
chart's pixel columns from the viewport, and the page takes that answer when it fits the chart."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import BYPASS_CSP, LiveServer

pytestmark = pytest.mark.browser

WIDTHS = (360, 390, 700, 1024, 1440, 1920)
DRAWN = "document.getElementById('jd-timeline-info').textContent.includes('across')"


@pytest.mark.parametrize("width", WIDTHS)
def test_one_timeline_request_per_load(live_server: LiveServer, browser: Any, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=BYPASS_CSP)
    try:
        page = context.new_page()
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if "/api/v1/timeline" in r.url else None)
        page.goto(live_server.path("/?hours=24&refresh=0"))
        page.wait_for_function(DRAWN)
        page.wait_for_timeout(300)  # a second request, if one were made, would have left by now
        assert len(asked) == 1, asked
        # Its columns are the chart's own, within the 3 % the page accepts.
        columns = int(asked[0].split("columns=")[1].split("&")[0])
        chart = page.evaluate("document.getElementById('jd-timeline').clientWidth")
        exact = max(50, round(chart - (110 if chart < 600 else 200)))
        assert abs(columns - exact) <= 0.03 * exact
    finally:
        context.close()
