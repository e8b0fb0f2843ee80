"""The event consumer acknowledges recorded messages on RabbitMQ only: on Redis the events come by
PUBLISH and kombu's ack was a MULTI/EXEC round trip a message for nothing (bench/celery_throughput.py
found it the larger part of the consumer's time)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobdeck.integrations.celery.consumer import EventConsumer
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from tests.celery_harness import celery_worker, client_app, rabbit_broker, redis_broker
from tests.integration.celery_support import close_client_pools, consuming, wait_status


@pytest.fixture(scope="module", autouse=True)
def _pools() -> Iterator[None]:
    yield
    close_client_pools()


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'jobdeck.db'}")
    store.migrate()
    yield store
    store.close()


class Delivered:
    """What the consumer sees of a kombu message: acknowledged or not."""

    def __init__(self) -> None:
        self.acknowledged = False
        self.delivery_info: dict[str, Any] = {}

    def ack(self) -> None:
        self.acknowledged = True


def received(uuid: str) -> dict[str, Any]:
    return {"type": "task-received", "uuid": uuid, "name": "tests.add", "hostname": "w@h", "timestamp": 1.7e9}


@pytest.mark.parametrize("acks", [True, False])
def test_flush_acknowledges_only_where_the_broker_keeps_messages(sqlite: Store, acks: bool) -> None:
    consumer = EventConsumer("redis://127.0.0.1:6379/0", sqlite, Recorder(sqlite))
    consumer.acks = acks
    messages = [Delivered(), Delivered()]
    consumer._pending = [(received("a1"), messages[0]), ([received("a2")], messages[1])]
    assert consumer.flush() == 2
    assert [m.acknowledged for m in messages] == [acks, acks]


@pytest.mark.parametrize("kind", ["redis", "rabbitmq"])
def test_a_real_worker_s_tasks_are_recorded_with_acks_on_rabbitmq_only(sqlite: Store, kind: str) -> None:
    broker = redis_broker() if kind == "redis" else rabbit_broker()
    client_app(broker)
    with consuming(broker, sqlite) as consumer, celery_worker(broker) as worker:
        worker.wait_events_enabled()
        from tests.celery_tasks import add

        sent = [add.delay(i, i) for i in range(20)]
        for result in sent:
            assert wait_status(sqlite, result.id, "succeeded")["source"] == "celery"
        assert consumer.acks is (kind == "rabbitmq")


def test_tasks_the_name_cache_no_longer_holds_are_named_from_the_store(
    sqlite: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The consumer holds the names of the last KNOWN_JOBS tasks only (its memory is bounded); the
    ends of older ones still find their job, read from the stored runs."""
    from jobdeck.integrations.celery import consumer as consumer_module
    from tests.integration.celery_support import run_of

    monkeypatch.setattr(consumer_module, "KNOWN_JOBS", 3)
    consumer = EventConsumer("redis://127.0.0.1:6379/0", sqlite, Recorder(sqlite))
    ids = [f"task-{i}" for i in range(10)]
    consumer.recorder.record(consumer.to_events([received(run_id) for run_id in ids]))
    assert len(consumer._jobs) == 3
    ended = [
        {"type": "task-succeeded", "uuid": run_id, "hostname": "w@h", "timestamp": 1.7e9 + 1, "result": "2"}
        for run_id in ids
    ]
    consumer.recorder.record(consumer.to_events(ended))
    for run_id in ids:
        run = run_of(sqlite, run_id)
        assert run is not None
        assert (run["status"], run["job"]) == ("succeeded", "tests.add")
    assert consumer.health.unknown_runs == 0
