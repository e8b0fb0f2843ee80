"""Browser fixtures: a real uvicorn server over a store filled with a known data set, and Chromium.

One server per test module (`live_server`), one browser per session, one page per module (`page`), so
the browser tests stay few and quick. Pages record console errors in `page_errors`; a test that
expects none asserts the list is empty.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from jobdeck.config import Settings
from jobdeck.events import Event, make_event
from jobdeck.recorder import Recorded
from jobdeck.store import Store
from jobdeck.web.app import create_app
from tests.run_data import NOW, history_events, live_events
from tests.services import unavailable

CHROMIUM = os.environ.get("JOBDECK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1440, "height": 900}
# Playwright's wait_for_function runs its predicate through eval, which jobdeck's Content-Security-Policy
# forbids; the tests that use it bypass the CSP. The pages under the CSP as served are checked by
# tests/browser/test_attacks.py (every page, no CSP violation) and tests/integration/test_hardening.py.
BYPASS_CSP = True
PHONE = {"width": 390, "height": 844}
SLOW_JOB = "reputation_tasks"


def known_events() -> list[Event]:
    """The browser tests' data set: tests.run_data's history and live runs, plus a slow job whose
    runs overlap each other (90 s runs a minute apart) and one that failed an hour ago."""
    batch = history_events() + live_events()
    start = NOW - timedelta(hours=3)
    for i in range(6):
        rid = f"rep-{i}"
        at = start + timedelta(minutes=i)
        batch.append(make_event(rid, "started", at, {"job": SLOW_JOB, "worker": "w9"}))
        kind = "failed" if i == 5 else "succeeded"
        outcome: dict[str, Any] = {"error_type": "Timeout", "error_message": "badge service timed out"}
        batch.append(make_event(rid, kind, at + timedelta(seconds=90), outcome if i == 5 else {}))
    return batch


@dataclass
class LiveServer:
    """A jobdeck server running in this process: its URL (with the root path), store and app."""

    url: str
    store: Store
    app: Any
    recorded: list[Recorded] = field(default_factory=list)

    def record(self, events: list[Event]) -> Recorded:
        """Record through the app's recorder, so its listeners (live updates) hear of it."""
        recorder = self.app.state.recorder
        result: Recorded = recorder.record(events)
        return result

    def path(self, path: str) -> str:
        return self.url.rstrip("/") + path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(store: Store, *, root_path: str = "", settings: Settings | None = None) -> Iterator[LiveServer]:
    """Run uvicorn on a free port in a thread for the block; stop it (and its streams) after."""
    settings = settings or Settings(database_url=store.url)
    app = create_app(settings, store)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        root_path=root_path,
        timeout_graceful_shutdown=2,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}{root_path}", store, app)
    finally:
        # End the live streams first, as a signal would under `jobdeck serve`, so shutdown is prompt.
        app.state.live.close()
        server.should_exit = True
        thread.join(timeout=15)


def filled_store(path: Path, events: list[Event] | None = None) -> Store:
    """A migrated SQLite store holding `events` (the known data set by default)."""
    from jobdeck.recorder import Recorder

    store = Store(f"sqlite:///{path / 'jobdeck.db'}")
    store.migrate()
    Recorder(store).record(known_events() if events is None else events)
    return store


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server over a fresh store with the known data set, for one test module."""
    store = filled_store(tmp_path_factory.mktemp("browser"))
    with serve(store) as server:
        yield server
    store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium, headless, once per module: Playwright's sync API runs an event loop in this thread
    while it is open, which would break later tests that call asyncio.run()."""
    if not os.path.exists(CHROMIUM):
        unavailable("Chromium", f"{CHROMIUM} does not exist (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Chromium", "the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def watch_errors(page: Any) -> list[str]:
    """Collect the page's console errors and uncaught exceptions into a list (returned)."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


@pytest.fixture(scope="module")
def context(browser: Any) -> Iterator[Any]:
    """A desktop-sized browser context (light colour scheme) for one module."""
    context = browser.new_context(viewport=DESKTOP, color_scheme="light", bypass_csp=BYPASS_CSP)
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture(scope="module")
def page(context: Any) -> Iterator[Any]:
    """One page per module; its console errors are in `page.jd_errors`."""
    page = context.new_page()
    page.jd_errors = watch_errors(page)
    yield page
    page.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
