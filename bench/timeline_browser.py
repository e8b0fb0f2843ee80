"""Timeline smoothness in Chromium: load a dashboard's overview over a wide window, then zoom and hover.

Usage: start `jobdeck demo` (its 7-day history holds ~30,000 runs), then
    python bench/timeline_browser.py --url http://127.0.0.1:5555 --hours 168
Prints the time to load and draw, the bars drawn, DOM nodes in the chart, and frame times while zooming.
"""

from __future__ import annotations

import argparse
import itertools
import time

from playwright.sync_api import sync_playwright

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:5555")
    parser.add_argument("--hours", type=float, default=168)
    options = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        # bypass_csp: wait_for_function evaluates its text, which the page's CSP refuses
        page = browser.new_page(viewport={"width": 1440, "height": 900}, bypass_csp=True)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        start = time.monotonic()
        page.goto(f"{options.url}/?hours={options.hours:g}&refresh=0")
        page.wait_for_function("document.querySelector('#jd-timeline canvas') !== null", timeout=60_000)
        page.wait_for_timeout(500)
        print(f"load and draw: {time.monotonic() - start:.2f} s (includes a 0.5 s settle)")
        print(page.locator("text=/runs across/").first.inner_text())
        nodes = page.evaluate("document.querySelectorAll('#jd-timeline *').length")
        print("DOM nodes in the timeline:", nodes)
        box = page.locator("#jd-timeline canvas").first.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.evaluate(
            "window.__f=[];(function l(t){window.__f.push(t);requestAnimationFrame(l)})(performance.now())"
        )
        for _ in range(10):
            page.mouse.wheel(0, -300)
            page.wait_for_timeout(100)
        for step in range(10):
            page.mouse.move(box["x"] + 200 + step * 60, box["y"] + 100)
            page.wait_for_timeout(50)
        frames = page.evaluate("window.__f")
        gaps = sorted(b - a for a, b in itertools.pairwise(frames))
        print(
            f"frames while zooming and hovering: {len(frames)}; median {gaps[len(gaps) // 2]:.1f} ms, "
            f"p95 {gaps[int(len(gaps) * 0.95)]:.1f} ms, worst {gaps[-1]:.1f} ms"
        )
        print("console errors:", errors or "none")
        browser.close()


if __name__ == "__main__":
    main()
