"""The overview over long and past windows, in Chromium: the 30-day timeline is not cut and draws every
lane (busy lanes in buckets, single bars as you zoom), a custom past range shows that range, change
figures stay honest when the previous period held almost nothing, and p95 of two runs is their max."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx2 as httpx
import pytest

from jobdeck.events import Event, make_event
from tests.browser.conftest import LiveServer, filled_store, serve
from tests.run_data import NOW

pytestmark = pytest.mark.browser

DRAWN = "document.getElementById('jd-timeline-info').textContent.includes(' across ')"
BUSY_RUNS = 11_000  # more than the timeline draws as single bars (10,000)
# Half a day inside the 30-day window, so a suite that runs for minutes still finds every run in it.
START = NOW - timedelta(days=29.5)


def run(run_id: str, job: str, start: Any, seconds: float, outcome: str = "succeeded") -> list[Event]:
    return [
        make_event(run_id, "started", start, {"job": job}),
        make_event(run_id, outcome, start + timedelta(seconds=seconds), {}),
    ]


def month_events() -> list[Event]:
    """Thirty days: `busy` every 230 s lasting 5 min (so its runs overlap, every 20th failed),
    `hourly` every hour for 20 s, `nightly` once a day for 10 min; `pair` two runs of 0.300 s and
    0.301 s two hours ago; `burst` 200 runs in the last day after 2 in the day before."""
    batch: list[Event] = []
    start = START
    for i in range(BUSY_RUNS):
        outcome = "failed" if i % 20 == 0 else "succeeded"
        batch += run(f"busy-{i}", "busy", start + timedelta(seconds=230 * i), 300, outcome)
    for i in range(700):
        batch += run(f"hourly-{i}", "hourly", start + timedelta(hours=i, minutes=7), 20)
    for i in range(29):
        batch += run(f"nightly-{i}", "nightly", start + timedelta(days=i, hours=2), 600)
    batch += run("pair-0", "pair", NOW - timedelta(hours=2), 0.300)
    batch += run("pair-1", "pair", NOW - timedelta(hours=2, minutes=-1), 0.301)
    for i in range(2):
        batch += run(f"burst-old-{i}", "burst", NOW - timedelta(hours=30 + i), 1)
    for i in range(200):
        batch += run(f"burst-{i}", "burst", NOW - timedelta(hours=20, seconds=-60 * i), 1)
    return batch


@pytest.fixture(scope="module")
def month_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    store = filled_store(tmp_path_factory.mktemp("month"), month_events())
    with serve(store) as server:
        yield server
    store.close()


def lane_shapes(page: Any) -> dict[str, int]:
    """What the timeline drew per lane: bars (rects) and bucketed lanes (polygons named lane-N)."""
    result: dict[str, int] = page.evaluate(
        """(() => {
            const t = window.jobdeckTimeline, out = {};
            t.data.jobs.forEach(j => { out[j.job] = 0; });
            t.data.runs.forEach(r => { out[t.data.jobs[r[0]].job] += 1; });
            t.chart.getZr().storage.getDisplayList().forEach(el => {
                const m = /^lane-(\\d+)$/.exec(el.name || '');
                if (m && el.shape.points.length) out[t.data.jobs[Number(m[1])].job] += 1;
            });
            return out;
        })()"""
    )
    return result


def test_thirty_days_are_drawn_whole_in_every_lane(month_server: LiveServer, page: Any) -> None:
    page.goto(month_server.path("/?hours=720&refresh=0"))
    page.wait_for_function(DRAWN)
    info = page.locator("#jd-timeline-info").inner_text()
    # Asked for once, by the page's inline script while the scripts loaded.
    asked = "performance.getEntriesByType('resource').filter(e => e.name.includes('/api/v1/timeline')).length"
    assert page.evaluate(asked) == 1
    assert "showing the newest" not in info
    assert f"{BUSY_RUNS + 700 + 29 + 2 + 202:,} runs across 5 jobs" in info
    assert "1 busy lane in" in info
    assert "zoom in for single runs" in info
    data = page.evaluate("window.jobdeckTimeline.data")
    jobs = {j["job"]: j for j in data["jobs"]}
    assert jobs["busy"]["detail"] == "buckets"
    assert jobs["nightly"]["detail"] == "bars"
    # Every lane has something drawn, and the busy lane's buckets span the whole month, not its end.
    assert all(n > 0 for n in lane_shapes(page).values()), lane_shapes(page)
    busy = [b for b in data["buckets"] if b[0] == list(jobs).index("busy")]
    assert sum(b[3] for b in busy) == BUSY_RUNS
    assert min(b[1] for b in busy) <= data["since"] + 86_400_000
    assert len([r for r in data["runs"] if r[0] == list(jobs).index("hourly")]) == 700
    # Hovering the busy lane tells of the bucket under the pointer.
    spot = page.evaluate(
        """(t) => { const tl = window.jobdeckTimeline, box = tl.el.getBoundingClientRect();
            const i = tl.data.jobs.findIndex(j => j.job === 'busy');
            const p = tl.chart.convertToPixel({xAxisIndex: 0, yAxisIndex: 0}, [t, i]);
            const band = tl.chart.getModel().getComponent('yAxis', 0).axis.getBandWidth();
            return {x: box.left + p[0], y: box.top + p[1] + band * 0.3}; }""",
        data["until"] - 15 * 86_400_000,
    )
    page.mouse.move(spot["x"] - 4, spot["y"])
    page.mouse.move(spot["x"], spot["y"])
    tip = page.locator(".jd-tip")
    tip.wait_for()
    assert "busy" in tip.inner_text()
    assert "runs ·" in tip.inner_text()
    assert "Zoom in for single runs" in tip.inner_text()
    page.mouse.move(0, 0)
    # Zooming into two hours loads that range: the busy lane's single runs appear as bars.
    zoom = "([a, b]) => window.jobdeckTimeline.chart.dispatchAction("
    zoom += "{type: 'dataZoom', startValue: a, endValue: b})"
    page.evaluate(zoom, [data["until"] - 10 * 3_600_000, data["until"] - 8 * 3_600_000])
    page.wait_for_function("document.getElementById('jd-timeline').dataset.detail === 'range'")
    zoomed = page.evaluate("window.jobdeckTimeline.data")
    busy_index = [j["job"] for j in zoomed["jobs"]].index("busy")
    busy_bars = [r for r in zoomed["runs"] if r[0] == busy_index]
    assert 25 <= len(busy_bars) <= 35  # two hours of a run every 230 s
    assert "zoomed in" in page.locator("#jd-timeline-info").inner_text()
    assert page.jd_errors == []


def test_a_custom_past_range_shows_that_range(month_server: LiveServer, page: Any) -> None:
    # Whole minutes, as the range's inputs hold them.
    since = (NOW - timedelta(days=10)).replace(second=0)
    until = since + timedelta(days=1)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    page.goto(month_server.path(f"/?from={since.strftime(fmt)}&to={until.strftime(fmt)}&refresh=0"))
    page.wait_for_function(DRAWN)
    # The axis spans the window, not up to now.
    axis = page.evaluate("window.jobdeckTimeline.chart.getOption().xAxis[0]")
    assert (axis["min"], axis["max"]) == (int(since.timestamp() * 1000), int(until.timestamp() * 1000))
    assert "runs across 3 jobs" in page.locator("#jd-timeline-info").inner_text()
    # Present-state columns are left out; the last run is the range's last, as a time, not "ago".
    headers = page.locator("#jd-summary-table thead th").all_inner_texts()
    assert "LAST RUN IN RANGE" in [h.upper() for h in headers]
    assert not {"STATUS", "SINCE LAST SUCCESS"} & {h.upper() for h in headers}
    table = page.locator("#jd-summary-table tbody").inner_text()
    assert "ago" not in table
    assert "running" not in table
    nightly = page.locator('#jd-summary-table tr[data-job="nightly"]').inner_text()
    last_nightly = (START + timedelta(days=20, hours=2)).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert last_nightly in nightly
    # One job is "1 job".
    page.goto(
        month_server.path(f"/?from={since.strftime(fmt)}&to={until.strftime(fmt)}&job=nightly&refresh=0")
    )
    page.wait_for_function(DRAWN)
    assert "1 run across 1 job " in page.locator("#jd-timeline-info").inner_text()
    # A window ending now keeps the present-state columns.
    page.goto(month_server.path("/?refresh=0"))
    headers = page.locator("#jd-summary-table thead th").all_inner_texts()
    assert {"STATUS", "SINCE LAST SUCCESS"} <= {h.upper() for h in headers}
    assert page.jd_errors == []


def test_a_job_that_grew_from_next_to_nothing_says_new(month_server: LiveServer, page: Any) -> None:
    page.goto(month_server.path("/?refresh=0"))
    runs = page.locator('#jd-summary-table tr[data-job="burst"] td[data-label="Runs"] .jd-delta')
    assert runs.inner_text() == "▲ 198 (new)"
    assert runs.get_attribute("title") == "previous period: 2 — too few for a percentage"
    # Over 30 days the total grew from a single run in the 30 days before: "new", not "+1195300%".
    page.goto(month_server.path("/?hours=720&refresh=0"))
    total = page.locator('[data-card="total"] .jd-delta').inner_text()
    assert total.endswith("(new)")
    assert "%" not in total
    assert page.jd_errors == []


def test_p95_of_two_runs_is_their_max(month_server: LiveServer, page: Any) -> None:
    page.goto(month_server.path("/?refresh=0"))
    row = page.locator('#jd-summary-table tr[data-job="pair"]')
    p95 = row.locator('td[data-label="p95"]')
    assert p95.inner_text() == "301 ms"
    assert row.locator('td[data-label="p50"]').inner_text() == "300 ms"
    jobs = httpx.get(month_server.path("/api/v1/jobs"), params={"hours": 24}).json()["jobs"]
    (pair,) = [j for j in jobs if j["job"] == "pair"]
    assert float(p95.get_attribute("data-sort") or 0) == pair["max_duration_s"] == 0.301
    assert page.jd_errors == []
