"""Tasks a real Celery worker runs for the control tests (tests/celery_worker_process.py starts it).

The broker comes from JOBDECK_TEST_CELERY_BROKER (Redis db 6 by default): the worker and the tests
share it. No result backend: jobdeck learns outcomes from events, not from results.
"""

from __future__ import annotations

import os
import signal
import time

from celery import Celery

BROKER = os.environ.get("JOBDECK_TEST_CELERY_BROKER", "redis://127.0.0.1:6379/6")

app = Celery("celery_control_tasks", broker=BROKER)
app.conf.update(
    worker_send_task_events=True,
    task_send_sent_event=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="control.add")
def add(x: int, y: int) -> int:
    return x + y


@app.task(name="control.sleep")
def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@app.task(name="control.stubborn_sleep")
def stubborn_sleep(seconds: float) -> float:
    """Sleeps through SIGTERM: only SIGKILL ends it early."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(seconds)
    return seconds


@app.task(name="control.fail")
def fail(code: int, label: str = "") -> None:
    raise RuntimeError(f"failed on purpose: {code} {label}")


@app.task(name="control.write_marker")
def write_marker(path: str, text: str, extra: dict[str, int] | None = None) -> str:
    """Proves a task ran, and with which args: writes them to a file."""
    with open(path, "w") as out:
        out.write(f"{text} {sorted((extra or {}).items())}")
    return path
