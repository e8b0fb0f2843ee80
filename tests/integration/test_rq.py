"""RQ queues filled with the real rq library in Redis db 8 and worked by a real `rq worker --burst`
subprocess: jobdeck's counts equal rq's own registry counts; its jobs become runs (status, times,
exc_info); a failed job is requeued through the API as RQ's FailedJobRegistry does it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry

from jobdeck.config import Settings
from jobdeck.integrations.rq.runs import RQRuns
from jobdeck.integrations.rq.source import REGISTRIES, RQSource
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.store import audit as audit_rows
from jobdeck.store.runs import get_run
from jobdeck.web.app import create_app
from tests import rq_tasks
from tests.services import port_open, unavailable

URL = "redis://127.0.0.1:6379/8"
ROOT = Path(__file__).parents[2]


def fill() -> dict[str, Any]:
    """Enqueue jobs of every kind, run a real worker in burst mode on `default`, and say what rq says."""
    connection = redis.Redis.from_url(URL)
    connection.flushdb()
    default = Queue("default", connection=connection)
    ids: dict[str, Any] = {
        "ok": [default.enqueue(rq_tasks.add, 1, n).id for n in range(3)],
        "failed": [default.enqueue(rq_tasks.divide, 1, 0).id for _ in range(2)],
    }
    ids["deferred"] = default.enqueue(rq_tasks.add, 2, 2, depends_on=ids["failed"][0]).id
    ids["scheduled"] = default.enqueue_in(timedelta(hours=1), rq_tasks.add, 3, 3).id
    other = Queue("reports", connection=connection)
    ids["waiting"] = [other.enqueue(rq_tasks.add, 5, n).id for n in range(4)]
    done = subprocess.run(
        [sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", URL, "default"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return ids


def rq_counts(name: str) -> dict[str, int]:
    queue = Queue(name, connection=redis.Redis.from_url(URL))
    counts = {"waiting": queue.count}
    for state, registry in REGISTRIES.items():
        counts[state] = registry(queue=queue).count  # rq's own count (with its cleanup)
    return counts


@pytest.fixture(scope="module")
def filled() -> Iterator[dict[str, Any]]:
    if not port_open("127.0.0.1", 6379):
        unavailable("Redis", "nothing listens on 127.0.0.1:6379")
    yield fill()
    redis.Redis.from_url(URL).flushdb()


def test_counts_are_rqs_own(filled: dict[str, Any]) -> None:
    source = RQSource(URL)
    found = {q.name: q for q in source.queues()}
    assert set(found) == {"default", "reports"}
    for name, queue in found.items():
        assert queue.counts == rq_counts(name), name
        assert queue.system == "rq"
        assert queue.paused is False
    assert found["default"].counts == {
        "waiting": 0,
        "started": 0,
        "finished": 3,
        "failed": 2,
        "deferred": 1,
        "scheduled": 1,
        "canceled": 0,
    }
    assert found["reports"].counts["waiting"] == 4
    failures = found["default"].details["failed_jobs"]
    assert {f["id"] for f in failures} == set(filled["failed"])
    assert {f["reason"] for f in failures} == {"ZeroDivisionError: division by zero"}
    assert {f["name"] for f in failures} == {"tests.rq_tasks.divide"}
    assert source.health().reachable is True
    source.close()


def test_jobs_become_runs(filled: dict[str, Any], store: Store) -> None:
    source = RQSource(URL)
    poller = RQRuns(source, Recorder(store).record)
    first = poller.run_once()
    assert first.jobs == 3 + 2 + 1 + 1 + 4
    assert poller.run_once().jobs == 0  # nothing moved: nothing fetched again
    with store.read() as conn:
        failed = get_run(conn, f"rq:{filled['failed'][0]}")
        assert failed is not None
        assert failed["status"] == "failed"
        assert failed["job"] == "tests.rq_tasks.divide"
        assert failed["queue"] == "default"
        assert failed["source"] == "rq"
        assert failed["error_type"] == "ZeroDivisionError"
        assert failed["error_message"] == "division by zero"
        assert "Traceback" in failed["traceback"]
        assert failed["started_at"] is not None
        assert failed["finished_at"] is not None
        assert failed["worker"]
        ok = get_run(conn, f"rq:{filled['ok'][0]}")
        assert ok is not None
        assert ok["status"] == "succeeded"
        assert ok["job"] == "tests.rq_tasks.add"
        assert ok["duration_s"] is not None
        waiting = get_run(conn, f"rq:{filled['waiting'][0]}")
        assert waiting is not None
        assert waiting["status"] == "pending"
        assert waiting["queue"] == "reports"
    source.close()


def test_requeue_a_failed_job(filled: dict[str, Any], sqlite_store: Store) -> None:
    app = create_app(Settings(database_url=str(sqlite_store.engine.url), rq=[URL]), sqlite_store)
    job_id = filled["failed"][1]
    with TestClient(app) as client:
        done = client.post(f"/api/v1/queues/rq/default/jobs/{job_id}/requeue")
        assert done.status_code == 200, done.text
        again = client.post(f"/api/v1/queues/rq/default/jobs/{job_id}/requeue")
        assert again.status_code == 409
        assert "not in the failed registry" in again.json()["detail"]
        assert client.post("/api/v1/queues/rq/default/jobs/nope/requeue").status_code == 404
        assert client.post(f"/api/v1/queues/rq/default/jobs/{job_id}/retry").status_code == 409
        ours = {q["name"]: q for q in client.get("/api/v1/queues").json()["queues"]}
    done_entries = audit_rows.entries(sqlite_store, action="queue-job-requeue")
    assert [(e.target, e.result) for e in done_entries][-1] == (f"rq:default:{job_id}", "done")
    assert {e.result for e in done_entries} == {"done", "refused"}
    connection = redis.Redis.from_url(URL)
    assert Job.fetch(job_id, connection=connection).get_status() == "queued"
    assert job_id in Queue("default", connection=connection).job_ids
    assert job_id not in FailedJobRegistry("default", connection=connection).get_job_ids()
    assert ours["default"]["counts"] == rq_counts("default")
    assert ours["default"]["counts"]["failed"] == 1
    assert ours["default"]["counts"]["waiting"] == 1


def test_a_redis_that_is_gone_is_reported(filled: dict[str, Any]) -> None:
    down = RQSource("redis://127.0.0.1:6399/8")
    with pytest.raises(OSError, match="connection refused"):
        down.queues()
    assert down.health().reachable is False
