"""The Queues page: a row per queue with counts and a sparkline, a health line per broker."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from jobdeck.background.queue_samples import QueueSampler
from jobdeck.store import Store
from tests.integration.test_api_queues import FakeSource, _client


def test_the_page_shows_each_queue_its_counts_a_sparkline_and_each_broker(store: Store) -> None:
    good = FakeSource(
        "bullmq", "redis://127.0.0.1:6379/7", {"emails": {"waiting": 4, "active": 1, "failed": 2}}
    )
    bad = FakeSource("rq", "redis://127.0.0.1:6390/8", {})
    bad.fail = ConnectionRefusedError(111, "Connection refused")
    with _client(store, good, bad) as client:
        app = client.app
        sampler = QueueSampler(store, app.state.queue_sources, app.state.queue_reader)  # type: ignore[attr-defined]
        sampler.run_once(time.time() - 120)
        sampler.run_once(time.time())
        page = client.get("/queues")
        assert page.status_code == 200
        html = page.text
        assert 'data-queue="emails"' in html
        assert "BullMQ" in html
        assert "<strong>5</strong>" in html  # size: waiting + active, failed not counted
        assert "<polyline" in html
        assert "Redis: connected, 0.25 ms" in html
        assert "Redis: unreachable since " in html
        assert ": connection refused" in html
        assert 'href="/queues" aria-current="page"' in html
        fragment = client.get("/fragments/queues")
        assert 'data-queue="emails"' in fragment.text


def test_the_page_without_sources_says_how_to_add_them(client: TestClient) -> None:
    html = client.get("/queues").text
    assert "No queue sources." in html
    assert "--bullmq" in html
