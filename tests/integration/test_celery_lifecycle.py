"""Zero-code mode over time: a worker killed mid-task leaves its run `lost` after the grace period;
events sent while jobdeck's consumer is stopped arrive once it is back (RabbitMQ's durable queue);
an unreachable broker leaves jobdeck serving and says so in /api/health."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobdeck.config import Settings
from jobdeck.store import Store
from jobdeck.store import runs as run_rows
from jobdeck.web.app import create_app
from tests.celery_harness import Worker, celery_worker, client_app, rabbit_broker, redis_broker, wait_for
from tests.integration.celery_support import close_client_pools, consuming, run_of, wait_status


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


def test_worker_killed_mid_task_leaves_its_run_lost_after_the_grace(sqlite: Store) -> None:
    broker = redis_broker()
    client_app(broker)
    from tests.celery_tasks import sleep

    with consuming(broker, sqlite, lost_grace_s=1.0) as consumer:
        worker = Worker(broker, extra_args=("--heartbeat-interval", "1"))
        try:
            worker.wait_ready()
            worker.wait_events_enabled()
            task = sleep.delay(30)
            wait_status(sqlite, task.id, "running")
            worker.kill()
            killed_at = time.monotonic()
            run = wait_status(sqlite, task.id, "lost", timeout=20)
        finally:
            worker.stop()
        took = time.monotonic() - killed_at
        # 3 missed heartbeats (1 s each) and the 1 s grace: not before, and not much after.
        assert 3.0 <= took < 10.0, took
        assert "stopped sending heartbeats" in run["labels"]["lost_reason"]
        assert worker.name in run["labels"]["lost_reason"]
        offline = {w["name"]: w for w in consumer.workers.snapshot()}[worker.name]
        assert offline["online"] is False


def held_events(broker: str, queue: str = "jobdeck.events") -> list[dict[str, Any]]:
    """Every Celery event the broker holds for jobdeck now (read, then left there: not acknowledged)."""
    from kombu import Connection

    events: list[dict[str, Any]] = []
    with Connection(broker) as conn:
        channel = conn.channel()
        while (message := channel.basic_get(queue=queue, no_ack=False)) is not None:
            body = json.loads(message.body)
            events.extend(body if isinstance(body, list) else [body])
    return events  # the connection closed without acknowledging: RabbitMQ requeues them all


def test_events_sent_while_the_consumer_is_stopped_arrive_after_it_restarts(sqlite: Store) -> None:
    broker = rabbit_broker()
    client_app(broker)
    from tests.celery_tasks import add

    with celery_worker(broker) as worker:
        with consuming(broker, sqlite):
            worker.wait_events_enabled()
        # jobdeck is away: the durable queue keeps what the worker says meanwhile.
        sent = {add.delay(i, i).id for i in range(10)}
        wait_for(lambda: worker.log_text(tail=0).count("succeeded in") >= 10, timeout=20)
        time.sleep(2)  # the worker sends its buffered task events on its next loop turn
        assert all(run_of(sqlite, run_id) is None for run_id in sent)
        held = [e for e in held_events(broker) if e.get("uuid") in sent]
        # What the broker holds is what jobdeck can have, and it must have all of it.
        assert {e["uuid"] for e in held if e["type"] == "task-received"} == sent
        with consuming(broker, sqlite) as consumer:
            for event in held:
                status = {"task-received": "pending", "task-started": "running"}.get(
                    event["type"], "succeeded"
                )
                order = ["pending", "running", "succeeded"]
                wanted = order[order.index(status) :]
                wait_status(sqlite, event["uuid"], *wanted, timeout=10)
        assert consumer.health.malformed == 0


def test_unreachable_broker_serve_starts_and_health_says_so(sqlite: Store) -> None:
    settings = Settings(database_url=str(sqlite.engine.url), celery_brokers=["redis://127.0.0.1:1/0"])
    with TestClient(create_app(settings, sqlite)) as client:

        def unreachable() -> dict[str, object] | None:
            body = client.get("/api/health").json()
            line = body.get("celery", [{}])[0]
            return line if line.get("error") else None

        line = wait_for(unreachable, timeout=10)
        assert line["broker"] == "redis://127.0.0.1:1/0"  # type: ignore[index]
        assert line["connected"] is False  # type: ignore[index]
        assert client.get("/api/health").status_code == 200  # the store is fine: jobdeck serves
        workers = client.get("/api/v1/workers").json()
        assert workers["workers"] == []
        assert workers["brokers"][0]["connected"] is False
        page = client.get("/workers")
        assert page.status_code == 200
        assert "unreachable" in page.text


def test_a_worker_that_died_while_jobdeck_was_away_has_its_runs_marked_lost(sqlite: Store) -> None:
    from jobdeck.domain import EventKind
    from jobdeck.events import make_event
    from jobdeck.recorder import Recorder

    broker = redis_broker()
    now = datetime.now(UTC)
    started = {"job": "tests.sleep", "source": "celery", "worker": "gone@nowhere"}
    ours = {**started, "labels": {"celery.broker": broker}}
    # A Celery-like run some other source recorded (the demo's synthetic workload), with no broker.
    other = {**started, "worker": "celery@synthetic"}
    Recorder(sqlite).record(
        [
            make_event("r-away", EventKind.STARTED, now, ours),
            make_event("r-other", EventKind.STARTED, now, other),
        ]
    )
    with consuming(broker, sqlite, lost_grace_s=0.5) as consumer:
        run = wait_status(sqlite, "r-away", "lost", timeout=15)
        assert "celery@synthetic" not in {w["name"] for w in consumer.workers.snapshot()}
    assert "gone@nowhere stopped sending heartbeats" in run["labels"]["lost_reason"]
    with sqlite.read() as conn:
        assert run_rows.get_run(conn, "r-other")["status"] == "running"  # type: ignore[index]
