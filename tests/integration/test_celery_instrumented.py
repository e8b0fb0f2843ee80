"""Instrumented mode (`instrument(app)`, through the SDK's buffered sender) alone and together with
zero-code mode: the same run id, so each task is one run, with one start per attempt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobdeck import sdk
from jobdeck.integrations.celery import instrument
from jobdeck.integrations.celery.instrumentation import uninstrument
from jobdeck.store import Store
from tests.celery_harness import celery_worker, client_app, redis_broker, wait_for
from tests.integration.celery_support import close_client_pools, consuming, run_of, wait_status


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'jobdeck.db'}")
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def instrumented(sqlite: Store, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The test process publishes through an instrumented app; the worker it starts is instrumented."""
    broker = redis_broker()
    app = client_app(broker)
    url = str(sqlite.engine.url)
    sdk.configure(database_url=url, spool_dir=tmp_path / "spool", flush_interval_s=0.2)
    instrument(app)
    env = {
        "JOBDECK_TEST_CELERY_INSTRUMENT": "1",
        "JOBDECK_DATABASE_URL": url,
        "JOBDECK_SPOOL_DIR": str(tmp_path / "worker-spool"),
    }
    try:
        yield {"broker": broker, "env": env}
    finally:
        uninstrument(app)
        sdk.shutdown(5)
        close_client_pools()


def test_published_task_is_pending_with_queue_priority_and_json_args(
    instrumented: dict[str, Any], sqlite: Store
) -> None:
    from tests.celery_tasks import add

    # No worker consumes this queue: the run exists from the publish alone.
    task = add.apply_async((2, 3), queue="nobody-consumes", priority=7, countdown=60)
    sdk.flush(5)
    run = wait_status(sqlite, task.id, "pending")
    assert run["queue"] == "nobody-consumes"
    assert run["priority"] == 7
    assert run["eta"] is not None
    assert run["args"] == [2, 3]
    assert run["source"] == "celery"


def test_instrumented_alone_records_start_outcome_and_items(
    instrumented: dict[str, Any], sqlite: Store
) -> None:
    from tests.celery_tasks import fail, items

    with celery_worker(instrumented["broker"], env=instrumented["env"]):
        counted = items.delay(5)
        bad = fail.delay("kaputt")
        run = wait_status(sqlite, counted.id, "succeeded")
        assert run["items_succeeded"] == 5
        assert run["started_at"] is not None
        assert run["duration_s"] is not None
        assert run["attempt"] == 1
        assert run["result"] == 5
        run = wait_status(sqlite, bad.id, "failed")
        assert run["error_type"] == "ValueError"
        assert run["error_message"] == "kaputt"
        assert "raise ValueError(message)" in run["traceback"]


def test_each_pool_process_reports_its_own_pid_and_each_queue_its_own(
    instrumented: dict[str, Any], sqlite: Store
) -> None:
    """A task's start is copied from a shape made once a process: the pool processes forked from the
    worker (after `instrument`) must each make their own, so the pid is the process's that ran it."""
    from tests.celery_tasks import pid

    with celery_worker(instrumented["broker"], env=instrumented["env"], queues="celery,other") as worker:
        sent = [pid.apply_async(queue="celery" if i % 2 else "other") for i in range(12)]
        runs = [wait_status(sqlite, task.id, "succeeded") for task in sent]
    assert {run["pid"] for run in runs} == {run["result"] for run in runs}
    assert all(run["pid"] == run["result"] for run in runs), runs
    assert worker.process.pid not in {run["pid"] for run in runs}
    assert sorted(run["queue"] for run in runs) == ["celery"] * 6 + ["other"] * 6
    assert {run["job"] for run in runs} == {"tests.pid"}


def test_both_modes_together_give_one_run_each(instrumented: dict[str, Any], sqlite: Store) -> None:
    from tests.celery_tasks import add, retrying

    broker = instrumented["broker"]
    with consuming(broker, sqlite) as consumer, celery_worker(broker, env=instrumented["env"]) as worker:
        worker.wait_events_enabled()
        wait_for(lambda: any(w["instrumented"] for w in consumer.workers.snapshot()))
        ok = add.delay(20, 22)
        retried = retrying.delay(3)
        run = wait_status(sqlite, ok.id, "succeeded")
        retried_run = wait_status(sqlite, retried.id, "succeeded")
        # Both modes reported these runs: the consumer's events, and the SDK's (cpu_s is its own).
        wait_for(lambda: consumer.health.recorded >= 6)
        run = wait_for(lambda: (r := run_of(sqlite, ok.id)) and r["cpu_s"] is not None and r)
        retried_run = wait_for(lambda: (r := run_of(sqlite, retried.id)) and r["cpu_s"] is not None and r)
    assert isinstance(run, dict)
    assert isinstance(retried_run, dict)
    assert run["attempt"] == 1, run
    assert run["args"] == [20, 22], str(run)  # instrumented JSON, reported after Celery's repr
    assert run["worker"] == worker.name
    assert retried_run["attempt"] == 3, retried_run
    with sqlite.read() as conn:
        from sqlalchemy import func, select

        from jobdeck.store import schema

        count = conn.execute(select(func.count()).select_from(schema.runs)).scalar_one()
    assert count == 2
