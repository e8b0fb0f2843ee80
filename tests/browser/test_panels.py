"""The seed board's panels in Chromium: every figure a panel draws equals the JSON API's for a known
data set, with the board's levels; the job page shows CPU seconds and peak memory as the API does."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx2 as httpx
import pytest

from jobdeck.events import Event, make_event
from tests.browser.conftest import LiveServer, filled_store, known_events, serve
from tests.run_data import NOW

pytestmark = pytest.mark.browser

ITEMS_JOB = "embedding_generation"
# (items succeeded, failed, skipped, CPU seconds, peak MB) of four runs of ITEMS_JOB.
ITEM_RUNS = ((10, 2, 1, 1.5, 100.0), (20, 0, 3, 2.5, 300.0), (5, 5, 0, 0.5, 200.0), (0, 0, 4, 3.5, 400.0))


def panel_events() -> list[Event]:
    batch = known_events()
    for i, (ok, bad, skipped, cpu, rss) in enumerate(ITEM_RUNS):
        at = NOW - timedelta(minutes=40 - 10 * i)
        rid = f"emb-{i}"
        batch.append(make_event(rid, "started", at, {"job": ITEMS_JOB}))
        fields = {"items_succeeded": ok, "items_failed": bad, "items_skipped": skipped, "cpu_s": cpu}
        batch.append(make_event(rid, "succeeded", at + timedelta(seconds=400), {**fields, "max_rss_mb": rss}))
    return batch


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    store = filled_store(tmp_path_factory.mktemp("panels"), panel_events())
    with serve(store) as live:
        yield live
    store.close()


def api(server: LiveServer, path: str, **params: Any) -> Any:
    response = httpx.get(server.path("/api/v1" + path), params={"hours": 24, **params})
    assert response.status_code == 200, response.text
    return response.json()


def per_minute(points: list[list[Any]], step: int) -> list[list[float]]:
    return [[t * 1000, round((v or 0) / (step / 60), 4)] for t, v in points]


def chart(page: Any, panel: str, expression: str) -> Any:
    return page.evaluate(
        f"(() => {{ const o = window.jobdeckPanels.charts['{panel}'].getOption(); return {expression}; }})()"
    )


def test_every_panel_shows_the_api_figures(server: LiveServer, page: Any) -> None:
    page.goto(server.path("/"))
    page.wait_for_selector("#jd-panels[data-state=ready]")
    shown = page.evaluate("window.jobdeckPanels.shown")
    stats = api(server, "/stats")
    jobs = {j["job"]: j for j in api(server, "/jobs")["jobs"]}
    step = max(60, math.ceil(24 * 3600 / 60))

    # Success rate gauge, with its bands at 90 % and 95 %.
    assert shown["success_rate"] == stats["success_rate"]
    assert chart(page, "jd-panel-gauge", "o.series[0].data[0].value") == stats["success_rate"]
    bands = chart(page, "jd-panel-gauge", "o.series[0].axisLine.lineStyle.color.map(c => c[0])")
    assert bands == [0.9, 0.95, 1]

    # Failures per minute: every job's failures per step, over the step's minutes; levels 0.1 and 1.
    failures = api(server, "/timeseries", metric="failures", step=step)
    sums: dict[int, float] = {}
    for series in failures["series"]:
        for t, v in series["points"]:
            sums[t] = sums.get(t, 0) + (v or 0)
    expected = per_minute([[t, sums[t]] for t in sorted(sums)], failures["step_s"])
    assert shown["failures_per_min"]["points"] == expected
    assert chart(page, "jd-panel-failures", "o.series[0].data") == expected
    assert chart(page, "jd-panel-failures", "o.series[0].markLine.data.map(d => d.yAxis)") == [0.1, 1]
    assert shown["failures_per_min"]["window"] == stats["failures_per_min"]
    assert stats["failures_per_min"] == round((stats["failed"] + stats["lost"]) / (24 * 60), 4)

    # Failure rate by job as bars, with the 5 % and 20 % levels.
    assert shown["failure_rate"] == {
        n: j["failure_rate"] for n, j in jobs.items() if j["failure_rate"] is not None
    }
    names = chart(page, "jd-panel-failure-rate", "o.yAxis[0].data")
    values = chart(page, "jd-panel-failure-rate", "o.series[0].data.map(d => d.value)")
    assert dict(zip(names, values, strict=True)) == shown["failure_rate"]
    assert jobs["reputation_tasks"]["failure_rate"] == pytest.approx(100 / 6, abs=0.01)
    assert chart(page, "jd-panel-failure-rate", "o.series[0].markLine.data.map(d => d.xAxis)") == [5, 20]

    # Execution rate by job: runs per minute per step; the legend tells the last and mean values.
    runs = api(server, "/timeseries", metric="runs", step=step)
    for series in runs["series"]:
        points = per_minute(series["points"], runs["step_s"])
        mine = shown["runs_per_min"]["series"][series["job"]]
        assert mine["points"] == points
        assert mine["last"] == points[-1][1]
        assert mine["mean"] == pytest.approx(sum(p[1] for p in points) / len(points), abs=1e-4)
        legend = page.evaluate(
            "name => window.jobdeckPanels.charts['jd-panel-exec-rate'].getOption().legend[0].formatter(name)",
            series["job"],
        )
        shown_last, shown_mean = re.fullmatch(rf"{series['job']}  last (\S+) · mean (\S+)", legend).groups()
        assert float(shown_last) == pytest.approx(mine["last"], rel=5e-3, abs=1e-9)
        assert float(shown_mean) == pytest.approx(mine["mean"], rel=5e-3, abs=1e-9)

    # Items processed by job, split succeeded / failed / skipped.
    items = {
        n: [j["items_succeeded"], j["items_failed"], j["items_skipped"]]
        for n, j in jobs.items()
        if j["items_succeeded"] + j["items_failed"] + j["items_skipped"]
    }
    assert shown["items"] == items
    assert items[ITEMS_JOB] == [sum(r[k] for r in ITEM_RUNS) for k in range(3)]
    names = chart(page, "jd-panel-items", "o.yAxis[0].data")
    stacks = chart(page, "jd-panel-items", "o.series.map(s => s.data)")
    assert {n: [stacks[k][i] for k in range(3)] for i, n in enumerate(names)} == items

    # Duration p50 and p95 per job, with the 300 s and 600 s levels drawn.
    for metric, key in (("duration_p50", "p50"), ("duration_p95", "p95")):
        for series in api(server, "/timeseries", metric=metric, step=step)["series"]:
            points = [[t * 1000, v] for t, v in series["points"] if v is not None]
            assert shown["duration"][key][series["job"]] == points
    levels = chart(
        page, "jd-panel-durations", "o.series.find(s => s.name === 'levels').markLine.data.map(d => d.yAxis)"
    )
    assert levels == [300, 600]
    assert page.jd_errors == []


def test_summary_table_has_success_and_failures_per_minute(server: LiveServer, page: Any) -> None:
    page.goto(server.path("/"))
    jobs = {j["job"]: j for j in api(server, "/jobs")["jobs"]}
    for name in ("clip_sync", "reputation_tasks", ITEMS_JOB):
        row = page.locator(f'#jd-summary-table tr[data-job="{name}"]')
        success = row.locator('td[data-label="Success/min"]')
        failures = row.locator('td[data-label="Failures/min"]')
        assert float(success.get_attribute("data-sort")) == jobs[name]["success_per_min"]
        assert float(failures.get_attribute("data-sort")) == jobs[name]["failures_per_min"]
        assert jobs[name]["success_per_min"] == round(jobs[name]["succeeded"] / (24 * 60), 4)
    assert page.locator("#jd-range option").first.inner_text() == "Last 15 minutes"
    assert "Every 10 seconds" in page.locator("#jd-refresh option").all_inner_texts()
    page.goto(server.path("/?hours=0.25&refresh=10"))
    assert page.locator("#jd-range option:checked").inner_text() == "Last 15 minutes"
    assert page.locator("#jd-refresh option:checked").inner_text() == "Every 10 seconds"
    assert page.jd_errors == []


def test_job_page_shows_cpu_and_peak_memory(server: LiveServer, page: Any) -> None:
    use = api(server, "/resources", job=ITEMS_JOB)
    assert use["cpu_avg_s"] == pytest.approx(2.0)
    assert use["cpu_max_s"] == 3.5
    assert use["memory_avg_mb"] == pytest.approx(250.0)
    assert use["memory_max_mb"] == 400.0
    page.goto(server.path(f"/jobs/{ITEMS_JOB}"))
    cpu = page.locator('[data-card="cpu"]')
    memory = page.locator('[data-card="memory"]')
    assert cpu.locator(".jd-stat-value").inner_text() == "2.0 s"
    assert "max 3.5 s" in cpu.inner_text()
    assert memory.locator(".jd-stat-value").inner_text() == "250.0 MB"
    assert "max 400.0 MB" in memory.inner_text()
    assert page.jd_errors == []


def test_live_changes_redraw_the_panels_at_most_every_ten_seconds(server: LiveServer, page: Any) -> None:
    import time
    from datetime import UTC, datetime

    page.goto(server.path("/?refresh=0"))
    page.wait_for_selector("#jd-panels[data-state=ready]")
    page.wait_for_selector('#jd-live[data-state="live"]')
    asked: list[float] = []
    page.on("request", lambda r: asked.append(time.monotonic()) if "/api/v1/stats" in r.url else None)
    start = time.monotonic()
    for i in range(20):
        event = {
            "run_id": f"burst-{i}",
            "event": "started",
            "job": "burst",
            "at": datetime.now(UTC).isoformat(),
        }
        assert httpx.post(server.path("/api/v1/events"), json=event).status_code < 300
        time.sleep(0.1)
    # The recent runs follow the changes at once; the panels wait, then redraw once for all of them.
    page.wait_for_selector("#jd-recent-table >> text=burst-", timeout=5000)
    page.wait_for_timeout(max(0, 4000 - (time.monotonic() - start) * 1000))
    assert asked == []
    page.wait_for_function("document.querySelectorAll('#jd-panels[data-state=ready]').length === 1")
    page.wait_for_timeout(8000)
    assert len(asked) == 1
    assert page.jd_errors == []
