"""A small Celery app for the integration tests: the worker subprocess imports it (`-A tests.celery_tasks`).

The broker comes from JOBDECK_TEST_CELERY_BROKER; instrumented mode is switched on in the worker by
JOBDECK_TEST_CELERY_INSTRUMENT=1 (then the SDK's JOBDECK_* variables say where events go).
"""

from __future__ import annotations

import os
import time
from typing import Any

from celery import Celery, Task

app = Celery("jobdeck_test", broker=os.environ.get("JOBDECK_TEST_CELERY_BROKER", "memory://"))
app.conf.update(
    task_default_queue=os.environ.get("JOBDECK_TEST_CELERY_QUEUE", "celery"),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    task_acks_late=False,
    broker_transport_options={"priority_steps": list(range(10)), "queue_order_strategy": "priority"},
)

if os.environ.get("JOBDECK_TEST_CELERY_INSTRUMENT") == "1":
    from jobdeck.integrations.celery import instrument

    instrument(app)


@app.task(name="tests.add")
def add(x: int, y: int) -> int:
    return x + y


@app.task(name="tests.fail")
def fail(message: str) -> None:
    raise ValueError(message)


@app.task(name="tests.sleep")
def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@app.task(name="tests.retrying", bind=True, max_retries=2, default_retry_delay=0)
def retrying(self: Task[Any, Any], succeed_on: int) -> int:
    if self.request.retries + 1 < succeed_on:
        raise self.retry(exc=RuntimeError(f"attempt {self.request.retries + 1} failed"), countdown=0.1)
    return self.request.retries + 1


@app.task(name="tests.items")
def items(n: int) -> int:
    from jobdeck.sdk import track

    run = track.current()
    if run is not None:
        run.progress(succeeded=n)
    return n


@app.task(name="tests.pid")
def pid() -> int:
    """The pool process's pid (its run should say the same)."""
    return os.getpid()
