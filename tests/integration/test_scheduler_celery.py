"""A schedule's Celery target, for real: "run now" sends the task through the Celery executor, a real
worker (a subprocess, Redis db 9) runs it, and jobdeck's event consumer records its end on the run
that carries the schedule; timeout_s revokes a task still running; no broker means a refusal."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobdeck.config import Settings
from jobdeck.store import Store
from jobdeck.web.app import create_app
from tests.celery_harness import Worker, celery_worker, redis_broker, wait_for

BROKER = "redis://127.0.0.1:6379/9"  # this feature's own db

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes"),
    pytest.mark.filterwarnings("ignore:Call to 'get_connection' function with deprecated:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    broker = redis_broker(BROKER)
    with celery_worker(broker, log_dir=tmp_path_factory.mktemp("celery")) as worker:
        yield worker
    redis_broker(BROKER)


@pytest.fixture
def client(tmp_path: Path, worker: Worker) -> Iterator[TestClient]:
    store = Store(f"sqlite:///{tmp_path / 'jobdeck.db'}")
    store.migrate()
    settings = Settings(database_url=store.url, celery_brokers=[BROKER])
    with TestClient(create_app(settings, store)) as client:
        worker.wait_events_enabled()
        yield client
    store.close()


def schedule(client: TestClient, target: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"name": "celery sum", "kind": "cron", "cron": "0 3 * * *", "target": target, **fields}
    response = client.post("/api/v1/schedules", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def ended(client: TestClient, run_id: str, timeout: float = 30) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        run: dict[str, Any] = client.get(f"/api/v1/runs/{run_id}").json()
        return run if run.get("status") not in (None, "pending", "running", "retrying") else None

    found: dict[str, Any] = wait_for(done, timeout=timeout)  # type: ignore[assignment]
    return found


def test_run_now_sends_the_task_and_the_worker_runs_it(client: TestClient, worker: Worker) -> None:
    created = schedule(client, {"type": "celery", "task": "tests.add", "args": [2, 3], "queue": "celery"})
    fired = client.post(f"/api/v1/schedules/{created['id']}/run")
    assert fired.status_code == 202, fired.text
    run_id = fired.json()["run_id"]
    pending = client.get(f"/api/v1/runs/{run_id}").json()  # recorded at send time
    assert pending["schedule_id"] == created["id"]
    run = ended(client, run_id)
    assert run["status"] == "succeeded", run
    assert run["schedule_id"] == created["id"]
    assert (run["job"], run["source"], run["queue"], run["worker"]) == (
        "tests.add",
        "celery",
        "celery",
        worker.name,
    )
    assert "2, 3" in str(run["args"])  # Celery's text of them, from its events
    assert "5" in str(run["result"])
    assert f"Task tests.add[{run_id}] succeeded" in worker.log_text(tail=0)


def test_a_failing_task_fails_the_run_with_its_traceback(client: TestClient) -> None:
    created = schedule(client, {"type": "celery", "task": "tests.fail", "args": ["scheduled boom"]})
    run = ended(client, client.post(f"/api/v1/schedules/{created['id']}/run").json()["run_id"])
    assert run["status"] == "failed"
    assert run["error_type"] == "ValueError"
    assert "scheduled boom" in (run["traceback"] or "")
    assert run["schedule_id"] == created["id"]


def test_timeout_revokes_a_task_still_running(client: TestClient, worker: Worker) -> None:
    created = schedule(client, {"type": "celery", "task": "tests.sleep", "args": [60]}, timeout_s=2)
    started = time.monotonic()
    run_id = client.post(f"/api/v1/schedules/{created['id']}/run").json()["run_id"]
    run = ended(client, run_id)
    assert run["status"] == "cancelled", run
    assert time.monotonic() - started < 20
    wait_for(lambda: "Terminating" in worker.log_text(tail=0) and run_id in worker.log_text(tail=0))


def test_a_job_other_than_the_task_is_refused_naming_the_field(client: TestClient) -> None:
    body = {"name": "x", "job": "other", "kind": "interval", "every_s": 60}
    response = client.post(
        "/api/v1/schedules", json=body | {"target": {"type": "celery", "task": "tests.add"}}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "job"]


def test_without_a_broker_the_firing_is_refused_with_why(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'plain.db'}")
    store.migrate()
    with TestClient(create_app(Settings(database_url=store.url), store)) as plain:
        created = schedule(plain, {"type": "celery", "task": "tests.add", "args": [1, 1]})
        refused = plain.post(f"/api/v1/schedules/{created['id']}/run")
        assert refused.status_code == 422
        assert "no Celery broker is configured" in refused.json()["detail"]
    store.close()
