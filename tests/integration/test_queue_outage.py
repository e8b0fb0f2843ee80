"""A Redis that goes away under `jobdeck serve --bullmq … --rq …`: serve keeps serving, says so in
/api/v1/queues, /api/health and the Queues page ("unreachable since …"), and resumes by itself when
Redis is back (its queues counted again, its RQ jobs recorded as runs)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import redis
from rq import Queue

from tests import rq_tasks
from tests.integration.test_sdk_restart import JOBDECK, free_port
from tests.services import unavailable


@contextmanager
def redis_server(port: int, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A throwaway redis-server on `port` (no persistence), for as long as the block runs."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server", "not installed")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _pings(port), "redis-server did not start")
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def _pings(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_connect_timeout=0.5).ping())
    except redis.ConnectionError:
        return False


def wait_for(check: Callable[[], Any], message: str, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, message
        time.sleep(0.2)


def test_serve_outlives_redis_going_away_and_resumes_when_it_is_back(tmp_path: Path) -> None:
    redis_port, port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    rq_url, bull_url = f"redis://127.0.0.1:{redis_port}/1", f"redis://127.0.0.1:{redis_port}/0"
    log = (tmp_path / "serve.log").open("ab")
    db = f"sqlite:///{tmp_path / 'jobdeck.db'}"
    with redis_server(redis_port, tmp_path) as first_redis:
        Queue("default", connection=redis.Redis.from_url(rq_url)).enqueue(rq_tasks.add, 1, 2)
        serve = subprocess.Popen(
            [str(JOBDECK), "serve", "--db", db, "--port", str(port), "--bullmq", bull_url, "--rq", rq_url],
            cwd=tmp_path,
            stdout=log,
            stderr=log,
        )
        try:

            def queues() -> dict[str, Any] | None:
                try:
                    body: dict[str, Any] = httpx.get(f"{base}/api/v1/queues", timeout=10).json()
                except httpx.TransportError:
                    return None
                return body

            body = wait_for(queues, "serve did not come up")
            assert [(q["system"], q["name"], q["counts"]["waiting"]) for q in body["queues"]] == [
                ("rq", "default", 1)
            ]
            assert [b["reachable"] for b in body["brokers"]] == [True, True]

            first_redis.terminate()  # Redis goes away
            first_redis.wait(10)
            started = time.monotonic()
            down = httpx.get(f"{base}/api/v1/queues", timeout=10)
            assert time.monotonic() - started < 5
            assert down.status_code == 200
            assert down.json()["queues"] == []
            brokers = down.json()["brokers"]
            assert [(b["system"], b["reachable"], b["error"]) for b in brokers] == [
                ("bullmq", False, "connection refused"),
                ("rq", False, "connection refused"),
            ]
            assert all(b["unreachable_since"] for b in brokers)
            health = httpx.get(f"{base}/api/health", timeout=10)
            assert health.status_code == 200
            assert [b["reachable"] for b in health.json()["brokers"]] == [False, False]
            page = httpx.get(f"{base}/queues", timeout=10)
            assert page.status_code == 200
            assert "Redis: unreachable since" in page.text
            action = httpx.post(f"{base}/api/v1/queues/bullmq/orders/jobs/1/retry", timeout=10)
            assert action.status_code == 503
            assert "unreachable: connection refused" in action.json()["detail"]
            time.sleep(3)  # the pollers and the sampler fail a pass or two meanwhile
            assert serve.poll() is None

            with redis_server(redis_port, tmp_path):  # Redis is back (empty: it kept nothing)
                job = Queue("default", connection=redis.Redis.from_url(rq_url)).enqueue(rq_tasks.add, 2, 3)

                def resumed() -> bool:
                    body = queues() or {"brokers": [], "queues": []}
                    return all(b["reachable"] for b in body["brokers"]) and bool(body["queues"])

                wait_for(resumed, "the sources did not resume")
                run = wait_for(
                    lambda: httpx.get(f"{base}/api/v1/runs/rq:{job.id}", timeout=5).status_code == 200,
                    "the RQ poller did not resume",
                )
                assert run
            assert serve.poll() is None
        finally:
            serve.terminate()
            serve.wait(15)
            log.close()
