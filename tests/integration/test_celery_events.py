"""Zero-code mode against a real worker (no -E) on Redis and RabbitMQ: success, failure with its
traceback, Celery's own retries as attempts of one run, countdown tasks pending before they run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jobdeck.integrations.celery.consumer import EventConsumer
from jobdeck.store import Store
from tests.celery_harness import Worker, celery_worker, client_app, rabbit_broker, redis_broker, wait_for
from tests.integration.celery_support import close_client_pools, consuming, run_of, wait_status


@pytest.fixture(scope="module", autouse=True)
def _pools() -> Iterator[None]:
    yield
    close_client_pools()


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest) -> str:
    return redis_broker() if request.param == "redis" else rabbit_broker()


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'jobdeck.db'}")
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def live(broker: str, sqlite: Store) -> Iterator[tuple[EventConsumer, Worker]]:
    client_app(broker)
    with consuming(broker, sqlite) as consumer, celery_worker(broker) as worker:
        # The consumer asked for events at its start; a worker that came later is asked when it shows.
        worker.wait_events_enabled()
        wait_for(lambda: any(w["name"] == worker.name for w in consumer.workers.snapshot()))
        yield consumer, worker


def test_success_failure_and_retries(live: tuple[EventConsumer, Worker], sqlite: Store) -> None:
    consumer, worker = live
    from tests.celery_tasks import add, fail, retrying

    ok = add.delay(2, 3)
    bad = fail.delay("boom")
    retried = retrying.delay(3)

    run = wait_status(sqlite, ok.id, "succeeded")
    assert run["job"] == "tests.add"
    assert run["source"] == "celery"
    assert run["worker"] == worker.name
    assert run["args"] == "(2, 3)"
    assert run["result"] == "5"
    assert run["started_at"] is not None
    assert run["duration_s"] is not None

    run = wait_status(sqlite, bad.id, "failed")
    assert run["error_type"] == "ValueError"
    assert run["error_message"] == "boom"
    assert "Traceback" in run["traceback"]
    assert "raise ValueError(message)" in run["traceback"]

    run = wait_status(sqlite, retried.id, "succeeded")
    assert run["attempt"] == 3, run
    assert run["parent_run_id"] is None  # Celery names a retried task its own parent: not kept
    assert run["result"] == "3"

    names = {w["name"]: w for w in consumer.workers.snapshot()}
    assert names[worker.name]["online"] is True
    assert consumer.health.malformed == 0


def test_countdown_task_is_pending_until_it_runs(live: tuple[EventConsumer, Worker], sqlite: Store) -> None:
    from tests.celery_tasks import add

    later = add.apply_async((1, 1), countdown=3)
    run = wait_status(sqlite, later.id, "pending")
    assert run["eta"] is not None
    assert run["started_at"] is None
    run = wait_status(sqlite, later.id, "succeeded", timeout=15)
    assert run["started_at"] >= run["eta"]


def test_malformed_events_are_counted_not_raised(sqlite: Store) -> None:
    consumer = EventConsumer(
        "redis://127.0.0.1:1/0", sqlite, __import__("jobdeck.recorder").recorder.Recorder(sqlite)
    )
    events = consumer.to_events(
        [
            "not a mapping",
            {"no": "type"},
            {"type": "task-started", "timestamp": "x", "uuid": "a"},
            {"type": "task-received", "timestamp": 1.0e9, "uuid": "", "name": "t"},
            {"type": "worker-heartbeat", "timestamp": 1.0e9},
            {"type": "task-received", "timestamp": 1.7e9, "uuid": "ok-1", "name": "t", "args": "()"},
            {"type": "task-succeeded", "timestamp": 1.7e9 + 1, "uuid": "never-seen"},
            {"type": "custom-thing", "timestamp": 1.7e9},
        ]
    )
    assert [e.run_id for e in events] == ["ok-1"]
    assert consumer.health.malformed == 5
    assert consumer.health.unknown_runs == 1
    assert consumer.health.unknown_events == 1
    consumer.recorder.record(events)
    assert run_of(sqlite, "ok-1") is not None
