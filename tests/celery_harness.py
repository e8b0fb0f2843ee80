"""A real Celery worker as a subprocess for the integration tests, on the real Redis or RabbitMQ.

The worker is started without `-E`: jobdeck has to ask it for events itself. `stop()` ends it
cleanly (it says worker-offline); `kill()` is kill -9 (it says nothing: the "worker gone" case).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.services import port_open, unavailable

ROOT = Path(__file__).resolve().parent.parent
REDIS_BROKER = "redis://127.0.0.1:6379/5"  # this feature's own db number
RABBIT_VHOST = "jobdeck-celery"
RABBIT_BROKER = f"amqp://guest:guest@127.0.0.1:5672/{RABBIT_VHOST}"


def redis_broker(url: str = REDIS_BROKER) -> str:
    """The Redis broker URL (a feature's own db), its db emptied first (skips when Redis is not there)."""
    if not port_open("127.0.0.1", 6379):
        unavailable("Redis", "nothing listens on 127.0.0.1:6379")
    import redis

    redis.Redis.from_url(url).flushdb()
    return url


def rabbit_broker() -> str:
    """The RabbitMQ broker URL on this feature's own vhost (made when missing; skips without RabbitMQ)."""
    if not port_open("127.0.0.1", 5672):
        unavailable("RabbitMQ", "nothing listens on 127.0.0.1:5672")
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return "amqp://guest:guest@127.0.0.1:5672//"
    subprocess.run([ctl, "add_vhost", RABBIT_VHOST], capture_output=True, check=False)
    subprocess.run(
        [ctl, "set_permissions", "-p", RABBIT_VHOST, "guest", ".*", ".*", ".*"],
        capture_output=True,
        check=False,
    )
    subprocess.run(
        [ctl, "purge_queue", "-p", RABBIT_VHOST, "jobdeck.events"], capture_output=True, check=False
    )
    return RABBIT_BROKER


class Worker:
    """One `celery worker` process in its own process group (prefork pool unless told otherwise; the
    threads pool's task events can be lost: Celery 5.4 buffers them unsafely across threads)."""

    def __init__(
        self,
        broker: str,
        queues: str = "celery",
        concurrency: int = 2,
        pool: str = "prefork",
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.broker = broker
        self.name = f"w{uuid.uuid4().hex[:8]}@jobdeck-test"
        self.log_path = (log_dir or Path(tempfile.gettempdir())) / f"celery-{self.name.split('@')[0]}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.celery_tasks",
                "worker",
                "-P",
                pool,
                "-c",
                str(concurrency),
                "-n",
                self.name,
                "-Q",
                queues,
                "--without-gossip",
                "--without-mingle",
                *extra_args,
                "-l",
                "INFO",
            ],
            cwd=ROOT,
            env={**os.environ, "JOBDECK_TEST_CELERY_BROKER": broker, **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log_path.read_bytes():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited: {self.log_text()}")
            time.sleep(0.1)
        raise TimeoutError(f"celery worker not ready after {timeout} s: {self.log_text()}")

    def wait_events_enabled(self, timeout: float = 15.0) -> None:
        """Until jobdeck's `enable_events` reached the worker (it logs it)."""
        wait_for(lambda: b"enabled by remote" in self.log_path.read_bytes(), timeout=timeout)

    def log_text(self, tail: int = 4000) -> str:
        text = self.log_path.read_text(errors="replace")
        return text[-tail:] if tail else text

    def stop(self, timeout: float = 15.0) -> None:
        """A warm shutdown: the worker finishes and says worker-offline."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def kill(self) -> None:
        """kill -9 of the worker and its pool processes: it vanishes mid-task and says nothing."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@contextmanager
def celery_worker(broker: str, **options: object) -> Iterator[Worker]:
    """A ready worker for the block, stopped after it."""
    worker = Worker(broker, **options)  # type: ignore[arg-type]
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


def wait_for(condition: object, timeout: float = 20.0, interval: float = 0.1) -> object:
    """Poll `condition()` until it returns something truthy; that value (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()  # type: ignore[operator]
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        time.sleep(interval)


def client_app(broker: str) -> object:
    """The test tasks' Celery app, sending to `broker` from this process (its pools made anew)."""
    from tests.celery_tasks import app

    if app.conf.broker_url != broker:
        from kombu import pools

        pools.reset()  # every pool closed and forgotten
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.broker_url = broker
    return app
