"""Shared by the Celery integration tests: a store, and jobdeck's consumer of a broker's events."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jobdeck.integrations.celery.consumer import EventConsumer, QueueBounds
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.store import runs as run_rows
from tests.celery_harness import wait_for


@contextmanager
def consuming(broker: str, store: Store, **options: Any) -> Iterator[EventConsumer]:
    """jobdeck's event consumer of `broker` for the block (connected before the block begins)."""
    consumer = EventConsumer(broker, store, Recorder(store), bounds=QueueBounds(), **options)
    asyncio.run(consumer.start())
    try:
        wait_for(lambda: consumer.health.connected, timeout=15)
        yield consumer
    finally:
        asyncio.run(consumer.stop())


def run_of(store: Store, run_id: str) -> dict[str, Any] | None:
    with store.read() as conn:
        return run_rows.get_run(conn, run_id)


def wait_status(store: Store, run_id: str, *statuses: str, timeout: float = 20.0) -> dict[str, Any]:
    """The run once its status is one of `statuses`."""

    def reached() -> dict[str, Any] | None:
        run = run_of(store, run_id)
        return run if run is not None and run["status"] in statuses else None

    try:
        found: dict[str, Any] = wait_for(reached, timeout=timeout)  # type: ignore[assignment]
    except AssertionError:
        raise AssertionError(f"run {run_id} never {statuses}: {run_of(store, run_id)}") from None
    return found


def close_client_pools() -> None:
    """Close the test process's broker connections (the tasks' app sends through kombu's pools)."""
    from kombu import pools

    from tests.celery_tasks import app

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
