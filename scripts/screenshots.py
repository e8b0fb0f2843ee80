"""Screenshots of every page, light and dark, desktop (1440 px) and phone (390 px): `make screenshots`.

Serves a known data set (the browser tests' one) on a free port, and an empty store for the empty
states, opens each page in Chromium, writes screenshots/<page>-<scheme>-<size>.png, and fails when a
page scrolls sideways, hides part of a table off to the side, or logs a JS error.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, filled_store, serve  # noqa: E402

PAGES = {
    "overview": "/",
    "overview-simple": "/?view=simple",
    "job": "/jobs/reputation_tasks",
    "runs": "/runs",
    "runs-failed": "/runs?status=failed",
    "failures": "/failures",
    "run-detail": "/runs/rep-5",
    "control": "/control",
}
# An empty store: what a first visit shows (each page says what to do).
EMPTY_PAGES = {
    "empty-overview": "/",
    "empty-runs": "/runs?status=failed",
    "empty-failures": "/failures",
    "empty-control": "/control",
}
# Tables whose wrapper scrolls sideways: columns the reader cannot see without knowing to swipe.
HIDDEN_TABLES = (
    "Array.from(document.querySelectorAll('.jd-table-wrap'))"
    ".filter(w => w.scrollWidth > w.clientWidth + 1).map(w => w.querySelector('table').id || 'a table')"
)
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}


def main(out: Path = ROOT / "screenshots") -> int:
    out.mkdir(exist_ok=True)
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "filled").mkdir()
        (Path(tmp) / "empty").mkdir()
        store = filled_store(Path(tmp) / "filled")
        empty = filled_store(Path(tmp) / "empty", events=[])
        with serve(store) as server, serve(empty) as bare, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            shots = [(name, server.path(path)) for name, path in PAGES.items()]
            shots += [(name, bare.path(path)) for name, path in EMPTY_PAGES.items()]
            for scheme in ("light", "dark"):
                for size, (width, height) in SIZES.items():
                    context = browser.new_context(
                        viewport={"width": width, "height": height}, color_scheme=scheme
                    )
                    page = context.new_page()
                    errors: list[str] = []
                    page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
                    page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
                    for name, url in shots:
                        errors.clear()
                        page.goto(url)
                        page.wait_for_load_state("networkidle")
                        page.wait_for_timeout(400)  # charts draw after their data arrives
                        target = out / f"{name}-{scheme}-{size}.png"
                        page.screenshot(path=target, full_page=True)
                        found = [f"{target.name}: {error}" for error in errors]
                        scroll = page.evaluate("document.documentElement.scrollWidth")
                        if scroll > width:
                            found.append(f"{target.name}: scrolls sideways ({scroll} px > {width} px)")
                        hidden = page.evaluate(HIDDEN_TABLES)
                        found += [f"{target.name}: {table} scrolls sideways" for table in hidden]
                        problems += found
                        print(f"{target.relative_to(ROOT)}  {'!' if found else 'ok'}")  # noqa: T201
                    context.close()
            browser.close()
        store.close()
        empty.close()
    for problem in problems:
        print("problem:", problem)  # noqa: T201
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
