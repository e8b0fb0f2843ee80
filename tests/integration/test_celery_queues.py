"""The Celery QueueSource counts what brokers hold (Redis lists with priority sub-queues and a global key
prefix; RabbitMQ by passive declare), and the Workers API and page show a real worker, one inspect
broadcast serving every caller."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from fastapi.testclient import TestClient

from jobdeck.config import Settings
from jobdeck.integrations.celery.queue_source import CeleryQueueSource
from jobdeck.integrations.queues import QueueSource
from jobdeck.store import Store
from jobdeck.web.app import create_app
from tests.celery_harness import celery_worker, client_app, rabbit_broker, redis_broker, wait_for
from tests.integration.celery_support import close_client_pools


@pytest.fixture(scope="module", autouse=True)
def _pools() -> Iterator[None]:
    yield
    close_client_pools()


def sender(broker: str, **transport: object) -> Celery:
    app = Celery("sender", broker=broker, set_as_current=False)
    app.conf.broker_transport_options = {"priority_steps": list(range(10)), **transport}
    return app


@pytest.mark.parametrize("prefix", ["", "jd:"])
def test_redis_depth_counts_priority_sub_queues_and_the_key_prefix(prefix: str) -> None:
    broker = redis_broker()
    app = sender(broker, **({"global_keyprefix": prefix} if prefix else {}))
    try:
        for priority in (0, 0, 3, 9, 9, 9):
            app.send_task("tests.add", (1, 1), queue="prio", priority=priority)
    finally:
        app.close()
    url = broker + (f"?global_keyprefix={prefix}" if prefix else "")
    source = CeleryQueueSource(url, queues=("prio",))
    assert isinstance(source, QueueSource)
    queues = {q.name: q for q in source.queues()}
    assert queues["prio"].counts["waiting"] == 6
    assert queues["prio"].details == {"by_priority": {"0": 2, "3": 1, "9": 3}}
    assert queues["prio"].broker == "redis://127.0.0.1:6379/5"
    health = source.health()
    assert health.reachable
    assert health.rtt_ms is not None


def test_rabbitmq_depth_by_passive_declare() -> None:
    broker = rabbit_broker()
    name = f"jd-q-{uuid.uuid4().hex[:8]}"
    app = sender(broker)
    try:
        for _ in range(3):
            app.send_task("tests.add", (1, 1), queue=name)
        source = CeleryQueueSource(broker, queues=(name, "no-such-queue"))
        queues = {q.name: q for q in source.queues()}
        assert queues[name].counts["waiting"] == 3
        assert "no-such-queue" not in queues
        assert source.health().reachable
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(name)
        app.close()


def test_unreachable_broker_health() -> None:
    health = CeleryQueueSource("redis://127.0.0.1:1/0").health()
    assert health.reachable is False
    assert health.error
    assert health.unreachable_since is not None


def test_workers_api_and_page_show_a_real_worker(tmp_path: Path) -> None:
    broker = redis_broker()
    client_app(broker)
    store = Store(f"sqlite:///{tmp_path / 'jobdeck.db'}")
    store.migrate()
    settings = Settings(database_url=str(store.engine.url), celery_brokers=[broker])
    app = create_app(settings, store)
    assert len(app.state.queue_sources) == 1
    with TestClient(app) as client, celery_worker(broker, pool="prefork") as worker:

        def listed() -> dict[str, object] | None:
            found = {w["name"]: w for w in client.get("/api/v1/workers").json()["workers"]}
            entry = found.get(worker.name)
            return entry if entry and entry.get("pool") and entry.get("last_heartbeat") else None

        entry = wait_for(listed, timeout=20)
        assert isinstance(entry, dict)
        assert entry["online"] is True
        assert entry["pool"] == "prefork"
        assert entry["concurrency"] == 2
        assert entry["queues"] == ["celery"]
        assert "tests.add" in entry["registered"]
        assert entry["last_heartbeat"] is not None
        inspector = app.state.celery.inspectors[0]
        rounds = inspector.rounds
        for _ in range(5):
            client.get("/api/v1/workers")
        assert inspector.rounds == rounds  # one broadcast serves every caller for a few seconds
        page = client.get("/workers")
        assert page.status_code == 200
        assert worker.name in page.text
        assert "prefork" in page.text
        health = client.get("/api/health").json()
        assert health["celery"][0]["connected"] is True
    store.close()
