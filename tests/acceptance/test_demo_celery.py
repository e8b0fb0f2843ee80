"""`jobdeck demo --celery-broker URL`: a real Celery worker with the demo's tasks runs beside the demo,
a producer sends them, jobdeck's consumer records them; Ctrl-C stops the worker with the demo (no
worker or pool process is left)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.acceptance.test_cli import free_port, running, stop
from tests.celery_harness import redis_broker

BROKER = "redis://127.0.0.1:6379/9"  # this feature's own db

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc for leftover processes")


def demo_workers() -> list[int]:
    """Pids of the demo's Celery worker processes (parent and pool) on our broker."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if (
            b"jobdeck.demo.celery_demo" in cmdline
            and f"JOBDECK_DEMO_CELERY_BROKER={BROKER}".encode() in environ
        ):
            found.append(int(entry.name))
    return found


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(0.5)
    pytest.fail(f"{what} within {timeout} s (last: {last!r})")


def test_the_demo_runs_a_real_worker_and_records_its_tasks(tmp_path: Path) -> None:
    redis_broker(BROKER)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ("demo", "--db", f"sqlite:///{tmp_path / 'demo.db'}", "--days", "0.05", "--no-local-jobs")
    try:
        with running(*args, "--celery-broker", BROKER, cwd=tmp_path, port=port) as proc:

            def online() -> list[dict[str, Any]]:
                workers = httpx.get(f"{base}/api/v1/workers", timeout=10).json()["workers"]
                return [w for w in workers if w["online"] and w["name"].startswith("demo@") and w.get("pool")]

            [worker] = wait_for(online, 60, "no demo worker online")
            assert worker["pool"] == "prefork"
            assert worker["concurrency"] == 2

            def celery_runs() -> dict[str, list[dict[str, Any]]] | None:
                runs = httpx.get(f"{base}/api/v1/runs", params={"hours": 1, "limit": 500}, timeout=10).json()[
                    "runs"
                ]
                by_job: dict[str, list[dict[str, Any]]] = {}
                for run in runs:
                    if run["job"].startswith("demo."):
                        by_job.setdefault(run["job"], []).append(run)
                done = {
                    job: [r for r in found if r["status"] in ("succeeded", "failed")]
                    for job, found in by_job.items()
                }
                wanted = ("demo.resize_image", "demo.sync_inventory", "demo.charge_card")
                return by_job if all(done.get(job) for job in wanted) else None

            by_job = wait_for(celery_runs, 90, "the demo's tasks were not all recorded")
            assert {r["status"] for r in by_job["demo.resize_image"]} >= {"succeeded"}
            assert all(
                r["worker"] == worker["name"]
                for r in by_job["demo.resize_image"]
                if r["status"] == "succeeded"
            )
            failed = next(r for r in by_job["demo.charge_card"] if r["status"] == "failed")
            detail = httpx.get(f"{base}/api/v1/runs/{failed['run_id']}", timeout=10).json()
            assert detail["source"] == "celery"
            assert detail["error_type"] == "ValueError"
            assert detail["traceback"].startswith("Traceback (most recent call last):")
            retried = next(r for r in by_job["demo.sync_inventory"] if r["status"] == "succeeded")
            assert httpx.get(f"{base}/api/v1/runs/{retried['run_id']}", timeout=10).json()["attempt"] == 2
            assert demo_workers(), "the worker's processes are not to be seen"
            code, err = stop(proc)
        assert code == 0, err
        assert "demo stopped" in err
        assert "Traceback" not in err
        assert demo_workers() == [], "the demo left Celery worker processes behind"
    finally:
        for pid in demo_workers():  # a failed test must not leave them running
            os.kill(pid, signal.SIGKILL)
        redis_broker(BROKER)
