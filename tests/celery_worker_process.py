"""A real Celery worker as a subprocess, for the control tests (tasks: tests/celery_control_tasks.py).

`celery_worker(broker, name)` starts `celery worker` (prefork, 2 processes, events on), waits until it
answers a ping, yields it, and stops it (SIGTERM, then SIGKILL). Redis db 6 is this suite's broker
(flushed by the tests that use it); on RabbitMQ (`RABBITMQ`) the tests use queues named for themselves.
The worker is skipped (or failed with JOBDECK_REQUIRE_SERVICES=1) when its broker is not there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.services import port_open, unavailable

BROKER = "redis://127.0.0.1:6379/6"
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30.0


@dataclass
class Worker:
    name: str
    broker: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """Kill the worker and its pool at once (its process group), as a crash would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def flush(broker: str = BROKER) -> None:
    import redis

    redis.Redis.from_url(broker).flushdb()


def redis_or_skip() -> None:
    if not port_open("127.0.0.1", 6379):
        unavailable("Redis", "nothing listens on 127.0.0.1:6379")


def rabbitmq_or_skip() -> None:
    if not port_open("127.0.0.1", 5672):
        unavailable("RabbitMQ", "nothing listens on 127.0.0.1:5672")


def answers(broker: str, name: str, timeout: float = 1.0) -> bool:
    from celery import Celery

    app = Celery("ping", broker=broker, set_as_current=False)
    try:
        replies = app.control.ping(destination=[name], timeout=timeout, limit=1) or []
    finally:
        app.close()
    return any(name in reply for reply in replies)


@contextmanager
def celery_worker(
    log_dir: Path, broker: str = BROKER, queues: str = "celery", concurrency: int = 2
) -> Iterator[Worker]:
    """A worker consuming `queues` on `broker`, answering pings, for the length of the block."""
    if broker.startswith("amqp"):
        rabbitmq_or_skip()
    else:
        redis_or_skip()
    name = f"control-{uuid.uuid4().hex[:8]}@{os.uname().nodename}"
    log = log_dir / f"{name.split('@')[0]}.log"
    env = {**os.environ, "JOBDECK_TEST_CELERY_BROKER": broker, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-m", "celery", "-A", "tests.celery_control_tasks", "worker",
        "-P", "prefork", "-c", str(concurrency), "-n", name, "-Q", queues, "-E",
        "--without-mingle", "--without-gossip", "-l", "info",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = Worker(name, broker, process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not answers(broker, name):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start:\n{worker.output()[-3000:]}")
        yield worker
    finally:
        worker.stop()
