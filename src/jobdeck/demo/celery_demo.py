"""`jobdeck demo --celery-broker URL`: a real Celery worker with a few demo tasks, and a producer.

This module is also the worker's Celery app (`celery -A jobdeck.demo.celery_demo worker`, broker from
JOBDECK_DEMO_CELERY_BROKER): four tasks that succeed, fail with a traceback, retry (Celery's own
retry, then succeed) and take a while. The demo starts the worker as a subprocess in its own process
group, sends one task every few seconds from a producer thread, and jobdeck's event consumer (the
same as `serve --celery-broker`) records them, so the Workers and Queues pages show a real worker.
Stopping the demo stops the worker: SIGTERM to its process group, SIGKILL after a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from celery import Celery, Task

log = logging.getLogger(__name__)

BROKER_ENV = "JOBDECK_DEMO_CELERY_BROKER"
QUEUE = "celery"
STOP_WAIT_S = 5.0

app = Celery("jobdeck_demo", broker=os.environ.get(BROKER_ENV, "memory://"), set_as_current=False)
app.conf.update(
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    task_default_queue=QUEUE,
    task_send_sent_event=True,
)


@app.task(name="demo.resize_image")  # type: ignore[untyped-decorator]
def resize_image(width: int, height: int) -> dict[str, int]:
    time.sleep(random.uniform(0.2, 1.5))
    return {"width": width // 2, "height": height // 2}


@app.task(name="demo.charge_card")  # type: ignore[untyped-decorator]
def charge_card(order_id: int, amount: float) -> None:
    time.sleep(random.uniform(0.1, 0.6))
    raise ValueError(f"card declined for order {order_id} ({amount:.2f} EUR)")


@app.task(name="demo.sync_inventory", bind=True, max_retries=3, default_retry_delay=1)  # type: ignore[untyped-decorator]
def sync_inventory(self: Task[Any, Any], warehouse: str) -> str:
    time.sleep(random.uniform(0.2, 0.8))
    if self.request.retries < 1:
        raise self.retry(exc=ConnectionError(f"warehouse {warehouse} did not answer"), countdown=1)
    return f"{warehouse}: synced after {self.request.retries + 1} attempts"


@app.task(name="demo.build_report")  # type: ignore[untyped-decorator]
def build_report(pages: int) -> int:
    time.sleep(random.uniform(4, 9))
    return pages


def _sends() -> itertools.cycle[tuple[str, list[Any]]]:
    return itertools.cycle(
        [
            ("demo.resize_image", [1920, 1080]),
            ("demo.build_report", [12]),
            ("demo.resize_image", [800, 600]),
            ("demo.sync_inventory", ["berlin"]),
            ("demo.charge_card", [4711, 99.5]),
            ("demo.resize_image", [640, 480]),
        ]
    )


class CeleryDemo:
    """The worker subprocess and the producer thread, as one background service of the demo."""

    name = "demo celery worker"

    def __init__(self, broker: str, every_s: float = 3.0) -> None:
        self.broker, self.every_s = broker, every_s
        self.worker_name = f"demo@{socket.gethostname() or 'localhost'}"
        self.log_path = Path(tempfile.gettempdir()) / f"jobdeck-demo-celery-{os.getpid()}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._sender: Celery | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0

    async def start(self) -> None:
        with self.log_path.open("wb") as log_file:
            self.process = subprocess.Popen(  # noqa: S603 (our own argv: this Python, celery)
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "jobdeck.demo.celery_demo:app",
                    "worker",
                    "-P",
                    "prefork",
                    "-c",
                    "2",
                    "-n",
                    self.worker_name,
                    "-Q",
                    QUEUE,
                    "-E",
                    "--without-gossip",
                    "--without-mingle",
                    "-l",
                    "INFO",
                ],
                env={**os.environ, BROKER_ENV: self.broker},
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped whole, pool processes too
            )
        log.info(
            "demo: Celery worker %s started (pid %d, log %s)",
            self.worker_name,
            self.process.pid,
            self.log_path,
        )
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._produce, name="jobdeck-demo-celery-producer", daemon=True
        )
        self._thread.start()

    def _produce(self) -> None:
        sender = Celery("jobdeck_demo_producer", broker=self.broker, set_as_current=False)
        sender.conf.update(task_send_sent_event=True, broker_connection_retry_on_startup=True)
        self._sender = sender
        sends = _sends()
        while not self._stop.wait(self.every_s):
            task, args = next(sends)
            try:
                sender.send_task(task, args=args, queue=QUEUE)
                self.sent += 1
            except Exception as exc:  # the broker is away: try again next time
                log.warning("demo: could not send %s: %s", task, exc)

    async def stop(self) -> None:
        await asyncio.to_thread(self.stop_now)

    def stop_now(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(STOP_WAIT_S)
        if self._sender is not None:
            self._sender.close()
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_WAIT_S)
        except ProcessLookupError:
            pass
        # Pool processes the worker left behind (a SIGKILL'ed parent does not reap them).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
