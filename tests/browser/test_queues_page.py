"""The Queues page in Chromium over real BullMQ (npm's bullmq, Redis db 7) and RQ (rq and a real worker,
Redis db 8) queues, plus a broker that is down: a row per queue with its counts and sparkline, a health
line per broker; retry of a failed BullMQ job and requeue of a failed RQ job from the page; screenshots
(light/dark, desktop/phone) into /tmp/shots-queues/."""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from playwright.sync_api import expect

from jobdeck.config import Settings
from jobdeck.integrations.queues import QueueState
from jobdeck.store import queue_samples
from tests.browser.conftest import PHONE, LiveServer, filled_store, serve, watch_errors
from tests.integration import test_bullmq, test_rq
from tests.services import port_open, unavailable

SHOTS = Path(os.environ.get("JOBDECK_SHOTS") or Path(tempfile.gettempdir()) / "shots-queues")
DOWN = "redis://127.0.0.1:6399/7"  # nothing listens there


@pytest.fixture(scope="module")
def queue_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if not port_open("127.0.0.1", 6379):
        unavailable("Redis", "nothing listens on 127.0.0.1:6379")
    redis.Redis.from_url(test_bullmq.URL).flushdb()
    test_bullmq.node_report()
    test_rq.fill()
    store = filled_store(tmp_path_factory.mktemp("queues"), [])
    settings = Settings(database_url=store.url, bullmq=[test_bullmq.URL, DOWN], rq=[test_rq.URL])
    with serve(store, settings=settings) as server:
        _history(server)
        yield server
    store.close()
    redis.Redis.from_url(test_bullmq.URL).flushdb()
    redis.Redis.from_url(test_rq.URL).flushdb()


def _history(server: LiveServer) -> None:
    """An hour of samples shaped like a busy queue, for the sparklines (the live sampler adds the rest)."""
    snapshot = server.app.state.queue_reader.read(server.app.state.queue_sources)
    now = time.time()
    with server.store.write() as conn:
        for minute in range(60, 0, -1):
            sizes = [round(8 + 6 * math.sin(minute / (4 + i) + i)) for i in range(len(snapshot.queues))]
            pairs = zip(snapshot.queues, sizes, strict=True)
            states = [QueueState(q.name, q.system, q.broker, {"waiting": n}) for q, n in pairs]
            queue_samples.write(conn, now - minute * 60, states)


def _row(page: Any, system: str, queue: str) -> Any:
    return page.locator(f'tr[data-system="{system}"][data-queue="{queue}"]')


def test_the_page_shows_every_queue_and_broker_and_acts_on_failed_jobs(
    queue_server: LiveServer, page: Any
) -> None:
    page.goto(queue_server.path("/queues"))
    shown = [("bullmq", "orders"), ("bullmq", "emails"), ("bullmq", "reports"), ("rq", "default")]
    for system, queue in shown:
        expect(_row(page, system, queue)).to_be_visible()
    expect(_row(page, "rq", "reports")).to_have_count(1)
    expect(_row(page, "bullmq", "reports")).to_contain_text("paused")
    expect(_row(page, "bullmq", "orders")).to_contain_text("failed 3")
    expect(_row(page, "bullmq", "orders").locator("polyline")).to_have_count(1)
    brokers = page.locator(".jd-broker")
    expect(brokers).to_have_count(3)
    expect(brokers.nth(0)).to_contain_text("Redis: connected,")
    expect(brokers.nth(1)).to_contain_text("Redis: unreachable since")
    expect(brokers.nth(1)).to_contain_text("connection refused")
    expect(page.get_by_text("nightly-report")).to_be_visible()
    _shots(queue_server, page)

    # What the reader closes stays closed when the list refreshes.
    page.locator("summary", has_text="2 job schedulers").click()
    expect(page.get_by_text("nightly-report")).to_be_hidden()
    with page.expect_response(lambda r: "/fragments/queues" in r.url):
        page.evaluate("document.dispatchEvent(new CustomEvent('jobdeck:queues'))")
    page.wait_for_timeout(200)
    expect(page.get_by_text("nightly-report")).to_be_hidden()
    page.locator("summary", has_text="2 job schedulers").click()
    expect(page.get_by_text("nightly-report")).to_be_visible()
    # A queue's name leads to its runs.
    assert _row(page, "rq", "default").locator("a").first.get_attribute("href") == "/runs?queue=default"

    page.locator('[data-jd-queue-action="retry"]').first.click()
    expect(page.locator("#jd-action-result")).to_contain_text("moved from failed back to waiting")
    expect(_row(page, "bullmq", "orders")).to_contain_text("failed 2")
    page.locator('[data-jd-queue-action="requeue"]').first.click()
    expect(page.locator("#jd-action-result")).to_contain_text("requeued on default")
    expect(_row(page, "rq", "default")).to_contain_text("failed 1")
    # A failed job's id leads to its run, recorded by the BullMQ poller.
    page.locator('a[href="/runs/bullmq%3Aorders%3A4"]').click()
    expect(page.locator("main")).to_contain_text("cannot process bad input")
    expect(page.locator("main")).to_contain_text("TypeError")
    assert page.jd_errors == []


def _shots(server: LiveServer, page: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / "queues-light-desktop.png"), full_page=True)
    for scheme, viewport, name in [
        ("dark", {"width": 1280, "height": 900}, "queues-dark-desktop.png"),
        ("light", PHONE, "queues-light-phone.png"),
        ("dark", PHONE, "queues-dark-phone.png"),
    ]:
        other = page.context.browser.new_context(viewport=viewport, color_scheme=scheme)
        shot = other.new_page()
        errors = watch_errors(shot)
        shot.goto(server.path("/queues"))
        expect(shot.locator(".jd-queue-list")).to_be_visible()
        shot.screenshot(path=str(SHOTS / name), full_page=True)
        assert errors == []
        other.close()
