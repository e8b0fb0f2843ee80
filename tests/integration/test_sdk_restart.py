"""Spool and replay across a real server restart: a network blip loses nothing and never breaks the job."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import select

import jobdeck
from jobdeck.sdk import configure, shutdown, track
from jobdeck.store import Store
from jobdeck.store.schema import runs

JOBDECK = Path(sys.executable).parent / "jobdeck"

CHILD = """
from jobdeck import track
with track.run("child_job", run_id="child") as run:
    run.progress(succeeded=3)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def jobdeck_serve(db: str, port: int, workdir: Path) -> Iterator[None]:
    """`jobdeck serve` in a subprocess, up once /api/health answers."""
    log = (workdir / "serve.log").open("ab")
    proc = subprocess.Popen(
        [str(JOBDECK), "serve", "--db", db, "--port", str(port)], cwd=workdir, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (workdir / "serve.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "jobdeck serve did not come up"
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


@pytest.fixture
def spool_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "spool"
    shutdown(timeout=2)


def test_runs_tracked_while_the_server_is_down_arrive_after_it_restarts(
    store: Store, tmp_path: Path, spool_dir: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    configure(url=url, spool_dir=spool_dir, heartbeat_interval_s=0, shutdown_timeout_s=2)

    with jobdeck_serve(store.url, port, tmp_path):
        with track.run("before", run_id="before"):
            pass
        assert jobdeck.flush(10)

    # The server is gone: jobs run as usual, quickly, and their events wait in the spool.
    started = time.monotonic()

    @track("during_sync")
    def sync_job() -> int:
        track.current().progress(succeeded=2)  # type: ignore[union-attr]
        return 1

    @track("during_async")
    async def async_job() -> None:
        await asyncio.sleep(0)

    @track("during_failing")
    def failing_job() -> None:
        raise LookupError("no such account")

    assert sync_job() == 1
    asyncio.run(async_job())
    with pytest.raises(LookupError):
        failing_job()
    assert not jobdeck.flush(5)
    # A separate process that ends while the server is down spools its events at exit.
    env = {
        **os.environ,
        "JOBDECK_URL": url,
        "JOBDECK_SPOOL_DIR": str(spool_dir),
        "JOBDECK_SHUTDOWN_TIMEOUT": "2",
    }
    subprocess.run([sys.executable, "-c", CHILD], env=env, check=True, timeout=30)
    assert time.monotonic() - started < 10
    assert list(spool_dir.rglob("*.jsonl"))

    with jobdeck_serve(store.url, port, tmp_path):
        assert jobdeck.flush(15)

    assert list(spool_dir.rglob("*.jsonl")) == []
    with store.read() as conn:
        rows = {r.job: r for r in conn.execute(select(runs))}
    assert set(rows) == {"before", "during_sync", "during_async", "during_failing", "child_job"}
    assert {job: row.status for job, row in rows.items()} == {
        "before": "succeeded",
        "during_sync": "succeeded",
        "during_async": "succeeded",
        "during_failing": "failed",
        "child_job": "succeeded",
    }
    assert rows["during_sync"].items_succeeded == 2
    assert rows["child_job"].items_succeeded == 3
    assert rows["during_failing"].error_type == "LookupError"
    assert "failing_job" in rows["during_failing"].traceback
    for row in rows.values():
        assert row.started_at is not None
        assert row.finished_at is not None
        assert row.cpu_s is not None
