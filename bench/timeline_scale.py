"""The timeline over a big store: the API's time for 30 days, a day and a zoomed hour, and in Chromium
the time to open the 30-day overview until the timeline is drawn, and to draw 10,000 single bars.

    python bench/scale.py generate --db sqlite:////tmp/scale/1m.db --runs 1000000
    python bench/timeline_scale.py --db sqlite:////tmp/scale/1m.db --repeat 7

Starts `jobdeck serve` on the store (port 5602), times each request over HTTP (median of --repeat,
after one first request), then opens the overview at 1440 x 900 in Chromium.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2 as httpx
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright
from sqlalchemy import select

import machine
from jobdeck.store import Store, rollups
from jobdeck.store.schema import runs

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
# Where the page's time went: the HTML, and when the timeline's request left and how long it took.
PARTS = """(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const api = performance.getEntriesByType('resource').filter(e => e.name.includes('/api/v1/timeline'))[0];
    return {html: nav.responseEnd - nav.startTime, api_start: api.startTime,
            api: api.responseEnd - api.startTime, scripts: nav.domContentLoadedEventEnd - nav.startTime,
            drawn: performance.getEntriesByName('jobdeck:timeline-drawn')[0].startTime};
})()"""
DRAWN = "document.getElementById('jd-timeline-info').textContent.includes('runs across')"


def timed(client: httpx.Client, path: str, params: dict[str, Any], repeat: int) -> dict[str, Any]:
    """First and median time of a GET, and what it answered."""
    began = time.perf_counter()
    body = client.get(path, params=params).raise_for_status().json()
    first = (time.perf_counter() - began) * 1000
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        samples.append((time.perf_counter() - began) * 1000)
    return {"first_ms": round(first), "median_ms": round(statistics.median(samples)), "body": body}


def summary(body: dict[str, Any]) -> str:
    bucketed = sum(1 for j in body["jobs"] if j.get("detail") == "buckets")
    return (
        f"{body['runs_in_view']:,} runs, {len(body['jobs'])} lanes ({bucketed} in buckets of "
        f"{(body['step'] or 0) // 1000} s), {len(body['runs']):,} bars, {len(body['buckets']):,} buckets, "
        f"truncated={body['truncated']}"
    )


def browser(base: str, bars_window: tuple[str, str]) -> None:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        # bypass_csp: wait_for_function evaluates its text, which the page's CSP refuses
        page = chromium.new_page(viewport={"width": 1440, "height": 900}, bypass_csp=True)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        for hours in (720,) * 4:
            began = time.perf_counter()
            page.goto(f"{base}/?hours={hours}&refresh=0")
            page.wait_for_function(DRAWN, timeout=120_000)
            page.evaluate("new Promise(r => requestAnimationFrame(() => r()))")
            print(f"open /?hours={hours} until the timeline is drawn: {time.perf_counter() - began:.2f} s")
            parts = page.evaluate(PARTS)
            sent, answered = parts["api_start"], parts["api"]
            print(
                f"    page HTML {parts['html']:.0f} ms; timeline asked at {sent:.0f} ms, answered in "
                f"{answered:.0f} ms (at {sent + answered:.0f} ms); scripts run by {parts['scripts']:.0f} ms; "
                f"drawn at {parts['drawn']:.0f} ms from the start of the load"
            )
            print("   ", page.locator("#jd-timeline-info").inner_text())
            # Not timed: let the page's panels (asked once the timeline is on its way) finish, so the
            # next open does not share the server with this one's requests.
            try:
                page.wait_for_load_state("networkidle", timeout=10_000)
            except PlaywrightTimeout:  # a live stream keeps a request open: give the panels 3 s
                page.wait_for_timeout(3_000)
        # Drawing alone: fetch a window (30 days in buckets; about 10,000 runs as bars), then time render().
        page.wait_for_function("window.jobdeckTimeline !== undefined", timeout=60_000)
        since, until = bars_window
        windows = (("30 days", "hours=720"), ("10,000 runs", f"since={quote(since)}&until={quote(until)}"))
        for label, window in windows:
            draw = page.evaluate(
                """async (query) => {
                    const r = await fetch("/api/v1/timeline?" + query + '&columns=1240&limit=10000');
                    const data = await r.json();
                    const times = [];
                    for (let i = 0; i < 5; i++) {
                        const t0 = performance.now();
                        window.jobdeckTimeline.resetZoom();
                        window.jobdeckTimeline.render(JSON.parse(JSON.stringify(data)));
                        times.push(performance.now() - t0);
                    }
                    times.sort((a, b) => a - b);
                    return {bars: data.runs.length, buckets: data.buckets.length, ms: times.map(Math.round)};
                }""",
                window,
            )
            drawn = f"{draw['bars']:,} bars, {draw['buckets']:,} buckets"
            print(f"draw {label}: {drawn}, five times: {draw['ms']} ms")
        print("console errors:", errors or "none")
        chromium.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--port", type=int, default=5602)
    options = parser.parse_args()
    print(machine.describe())
    store = Store(options.db)
    with store.read() as conn:
        total = sum(int(t["runs"]) for t in rollups.totals_by_job(conn, 0, 2**40).values())
        # The newest 10,000 started runs' span (not the last hours before now: a generated store's
        # newest runs end when it was made): all of them drawn as single bars.
        newest = select(runs.c.run_at).where(runs.c.started_at.is_not(None)).order_by(runs.c.run_at.desc())
        until = conn.execute(newest.limit(1)).scalar_one()
        since = conn.execute(newest.offset(9_999).limit(1)).scalar_one()
    store.close()
    print(f"store: {total:,} runs")
    jobbin = str(Path(sys.executable).with_name("jobdeck"))
    env = {**os.environ, "JOBDECK_DATABASE_URL": options.db}
    log = Path(f"/tmp/jobdeck-bench-timeline-{options.port}.log").open("w")  # noqa: SIM115 - open while serving
    server = subprocess.Popen([jobbin, "serve", "--port", str(options.port)], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{options.port}"
    try:
        with httpx.Client(base_url=base, timeout=300) as client:
            for _ in range(300):
                try:
                    if client.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            hour_ago = datetime.now(UTC) - timedelta(hours=3)
            cases = {
                "30 days": {"hours": 720, "columns": 1240},
                "24 hours": {"hours": 24, "columns": 1240},
                "zoomed: one hour": {
                    "since": hour_ago.isoformat(),
                    "until": (hour_ago + timedelta(hours=1)).isoformat(),
                    "columns": 1240,
                },
            }
            for name, params in cases.items():
                result = timed(client, "/api/v1/timeline", params, options.repeat)
                times = f"median {result['median_ms']} ms (first {result['first_ms']} ms)"
                print(f"/api/v1/timeline {name}: {times}")
                print("   ", summary(result["body"]))
        browser(base, (since.isoformat(), until.isoformat()))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
