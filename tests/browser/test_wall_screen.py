"""The wall screen in Chromium: at 1440 x 900 nothing scrolls, with a few jobs or thirty, and every job
has a compact health tile whose figures are the summary's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx2 as httpx
import pytest

from jobdeck.events import Event, make_event
from tests.browser.conftest import BYPASS_CSP, DESKTOP, LiveServer, filled_store, serve
from tests.run_data import NOW

pytestmark = pytest.mark.browser
NO_SCROLL = (
    "[document.documentElement.scrollHeight <= innerHeight,"
    " document.documentElement.scrollWidth <= innerWidth]"
)


def many_jobs(n: int = 30) -> list[Event]:
    batch: list[Event] = []
    for j in range(n):
        for i in range(4):
            rid = f"job{j:02d}-{i}"
            at = NOW - timedelta(minutes=5 * i + j)
            batch.append(make_event(rid, "started", at, {"job": f"nightly_job_number_{j:02d}"}))
            batch.append(
                make_event(rid, "failed" if (i + j) % 7 == 0 else "succeeded", at + timedelta(seconds=30), {})
            )
    return batch


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    store = filled_store(tmp_path_factory.mktemp("wall"), many_jobs())
    with serve(store) as live:
        yield live
    store.close()


def test_the_wall_screen_fits_and_has_a_tile_per_job(live_server: LiveServer, browser: Any) -> None:
    context = browser.new_context(viewport=DESKTOP, bypass_csp=BYPASS_CSP)
    try:
        page = context.new_page()
        page.goto(live_server.path("/?view=simple"))
        page.wait_for_function(
            "document.getElementById('jd-timeline-info').textContent.includes('runs across')"
        )
        assert page.evaluate(NO_SCROLL) == [True, True]
        jobs = httpx.get(live_server.path("/api/v1/jobs"), params={"hours": 24}).json()["jobs"]
        tiles = page.locator("#jd-wall-tiles .jd-wall-tile")
        assert tiles.count() == len(jobs)
        for job in jobs:
            tile = page.locator(f'.jd-wall-tile[data-job="{job["job"]}"]')
            assert tile.is_visible()
            assert tile.locator(".jd-wall-rate").inner_text() == f"{job['success_rate']:.1f}%"
        assert (
            page.locator('.jd-wall-tile[data-job="reputation_tasks"]').get_attribute("data-health") == "bad"
        )
        # The timeline stays on the wall screen, inside the screen.
        box = page.locator("#jd-timeline").bounding_box()
        assert box["height"] >= 150
        assert box["y"] + box["height"] <= DESKTOP["height"]
        # The detailed view has no tiles and scrolls as a page does.
        page.click('button[data-view="advanced"]')
        assert not tiles.first.is_visible()
    finally:
        context.close()


def test_thirty_jobs_still_fit(crowded: LiveServer, browser: Any) -> None:
    context = browser.new_context(viewport=DESKTOP, color_scheme="dark", bypass_csp=BYPASS_CSP)
    try:
        page = context.new_page()
        page.goto(crowded.path("/?view=simple"))
        page.wait_for_function(
            "document.getElementById('jd-timeline-info').textContent.includes('runs across')"
        )
        assert page.evaluate(NO_SCROLL) == [True, True]
        assert page.locator("#jd-wall-tiles .jd-wall-tile").count() == 30
        # Worst first: with more tiles than fit, the jobs in trouble are the ones in view.
        order = ["bad", "warn", "ok", "muted"]
        healths = page.locator("#jd-wall-tiles .jd-wall-tile").evaluate_all(
            "tiles => tiles.map(t => t.dataset.health)"
        )
        assert {"bad", "ok"} <= set(healths)
        assert healths == sorted(healths, key=order.index)
        # Tiles past the box's height are a scroll inside it, not cut off unseen.
        assert (
            page.evaluate(
                "(() => { const t = document.getElementById('jd-wall-tiles');"
                " return getComputedStyle(t).overflowY; })()"
            )
            == "auto"
        )
        box = page.locator("#jd-timeline").bounding_box()
        assert box["height"] >= 150
        assert box["y"] + box["height"] <= DESKTOP["height"]
    finally:
        context.close()
