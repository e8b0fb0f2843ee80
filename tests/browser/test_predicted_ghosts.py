"""The overview's timeline shows what is to come: the schedules' next firings as ghost bars ahead of
now, in their jobs' lanes (a lane added for a scheduled job with no runs yet); a past window none."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from jobdeck.scheduler import book
from jobdeck.scheduler.spec import ScheduleSpec
from tests.browser.conftest import LiveServer, filled_store, serve
from tests.run_data import NOW

pytestmark = pytest.mark.browser
TARGET = {"type": "command", "command": ["true"]}


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    store = filled_store(Path(tmp_path_factory.mktemp("ghosts")))
    for spec in (
        {"name": "clip sync", "job": "clip_sync", "kind": "cron", "cron": "*/30 * * * *", "target": TARGET},
        {"name": "brand new", "job": "brand_new", "kind": "interval", "every_s": 3600, "target": TARGET},
    ):
        book.create(store, ScheduleSpec.model_validate(spec))
    with serve(store) as server:
        yield server
    store.close()


def drawn(page: Any) -> dict[str, Any]:
    page.wait_for_function("window.jobdeckTimeline && window.jobdeckTimeline.chart")
    found: dict[str, Any] = page.evaluate(
        """() => {
          const t = window.jobdeckTimeline, o = t.chart.getOption();
          const series = o.series.find((s) => s.id === 'predicted');
          return {ghosts: t.data.ghosts.map((g) => [t.data.jobs[g[0]].job, g[1], g[2], g[3]]),
                  drawn: series ? series.data.length : 0, axisMax: o.xAxis[0].max, now: t.data.now,
                  info: document.getElementById('jd-timeline-info').textContent,
                  lanes: t.data.jobs.map((j) => j.job)};
        }"""
    )
    return found


def test_firings_ahead_are_ghost_bars_in_their_lanes(scheduled: LiveServer, page: Any) -> None:
    page.goto(scheduled.path("/"))  # 24 hours: six hours ahead
    page.wait_for_function(
        "window.jobdeckTimeline && window.jobdeckTimeline.data && window.jobdeckTimeline.data.ghosts"
    )
    seen = drawn(page)
    jobs = [g[0] for g in seen["ghosts"]]
    assert jobs.count("clip_sync") == 12  # every 30 minutes for six hours
    assert jobs.count("brand_new") == 6
    assert seen["drawn"] == len(seen["ghosts"])
    assert "brand_new" in seen["lanes"]  # a lane of its own, though it never ran
    assert all(g[1] >= seen["now"] - 60_000 and g[1] < g[2] <= g[3] for g in seen["ghosts"])
    assert seen["axisMax"] >= seen["now"] + 5.9 * 3600 * 1000
    assert "18 scheduled firings ahead" in seen["info"]
    assert page.jd_errors == []


def test_a_shorter_window_looks_less_far_ahead_and_a_past_one_not_at_all(
    scheduled: LiveServer, page: Any
) -> None:
    page.goto(scheduled.path("/?hours=1"))  # fifteen minutes ahead
    page.wait_for_function(
        "window.jobdeckTimeline && window.jobdeckTimeline.data && window.jobdeckTimeline.data.ghosts"
    )
    seen = drawn(page)
    assert len(seen["ghosts"]) <= 2
    assert seen["axisMax"] <= seen["now"] + 16 * 60 * 1000
    frm = (NOW - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    to = (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.goto(scheduled.path(f"/?from={frm}Z&to={to}Z"))
    page.wait_for_function("window.jobdeckTimeline && window.jobdeckTimeline.data")
    page.wait_for_timeout(300)
    assert page.evaluate("(window.jobdeckTimeline.data.ghosts || []).length") == 0
    assert page.jd_errors == []
