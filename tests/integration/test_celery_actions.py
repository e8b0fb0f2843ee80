"""Acting on Celery tasks through jobdeck, with a real worker (a subprocess) on Redis db 6: revoke of a
pending (countdown) task, stop of a sleeping task (and SIGKILL after the grace period for one that
ignores SIGTERM), terminate, retry with lineage, retry refused for args that do not parse, 409 when the
worker is gone, a job's failed runs retried at once, and a queue purged.

The runs are reported to jobdeck as its Celery event consumer would (source "celery", run_id = task id,
job = task name, Celery's text of args/kwargs, queue, worker); what the executor does is checked on the
worker itself (its log, files its tasks write) and in jobdeck's store and audit trail.
"""

from __future__ import annotations

import re
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobdeck.config import Settings
from jobdeck.integrations.celery.executor import CeleryExecutor
from jobdeck.store import Store
from jobdeck.store import audit as audit_rows
from jobdeck.web.app import create_app
from tests.celery_worker_process import BROKER, RABBITMQ, Worker, celery_worker, flush, redis_or_skip
from tests.integration.test_api_control import wait_for_status

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and signals"),
    # kombu 5.4's Redis transport calls redis-py 5.3 the old way: a warning, not our fault.
    pytest.mark.filterwarnings("ignore:Call to 'get_connection' function with deprecated:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    redis_or_skip()
    flush()
    with celery_worker(tmp_path_factory.mktemp("celery-worker")) as worker:
        yield worker
    flush()


@pytest.fixture(scope="module")
def sender() -> Iterator[Any]:
    """A Celery app that sends tasks as the team's own code would."""
    from celery import Celery

    app = Celery("sender", broker=BROKER, set_as_current=False)
    yield app
    app.close()


@pytest.fixture
def client(tmp_path: Path, worker: Worker) -> Iterator[TestClient]:
    store = Store(f"sqlite:///{tmp_path / 'jobdeck.db'}")
    store.migrate()
    settings = Settings(database_url=store.url, celery_brokers=[BROKER])
    with TestClient(create_app(settings, store)) as client:
        yield client
    store.close()


def executor(client: TestClient) -> CeleryExecutor:
    found = client.app.state.control.executors["celery"]  # type: ignore[attr-defined]
    assert isinstance(found, CeleryExecutor)
    return found


def report(client: TestClient, run_id: str, event: str, job: str, **fields: Any) -> None:
    """What jobdeck's Celery event consumer would record."""
    body = {"run_id": run_id, "event": event, "job": job, "source": "celery", "queue": "celery", **fields}
    reply = client.post("/api/v1/events", json=body)
    assert reply.status_code == 202, reply.text


def wait_active(worker: Worker, task_id: str, timeout: float = 20) -> None:
    """Until the worker says it runs the task."""
    from celery import Celery

    app = Celery("probe", broker=worker.broker, set_as_current=False)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            replies = app.control.inspect(destination=[worker.name], timeout=1).query_task([task_id]) or {}
            found = (replies.get(worker.name) or {}).get(task_id)
            if found and found[0] == "active":
                return
            time.sleep(0.1)
    finally:
        app.close()
    pytest.fail(f"task {task_id} did not start on {worker.name}:\n{worker.output()[-2000:]}")


def wait_for_log(worker: Worker, pattern: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, worker.output())
        if found:
            return found.group(0)
        time.sleep(0.1)
    pytest.fail(f"{pattern!r} not in the worker's log:\n{worker.output()[-3000:]}")


def start_sleeping(client: TestClient, sender: Any, worker: Worker, task: str = "control.sleep") -> str:
    result = sender.send_task(task, args=[60])
    report(client, result.id, "enqueued", task, args="(60,)", kwargs="{}")
    wait_active(worker, result.id)
    report(client, result.id, "started", task, worker=worker.name)
    return str(result.id)


def audited(client: TestClient, action: str) -> list[tuple[str, str, str]]:
    store = client.app.state.store  # type: ignore[attr-defined]
    return [(e.target, e.result, e.detail) for e in audit_rows.entries(store, action=action)]


def test_stop_revokes_a_pending_countdown_task(
    client: TestClient, sender: Any, worker: Worker, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    result = sender.send_task("control.write_marker", args=[str(marker), "ran"], countdown=3)
    report(client, result.id, "enqueued", "control.write_marker", args=f"('{marker}', 'ran')", kwargs="{}")
    wait_for_log(worker, rf"Task control.write_marker\[{result.id}\] received")
    stopped = client.post(f"/api/v1/runs/{result.id}/stop")
    assert stopped.status_code == 202, stopped.text
    assert stopped.json()["detail"].startswith(f"task {result.id} revoked")
    run = wait_for_status(client, result.id, {"cancelled"}, timeout=2)
    assert (
        run["error_message"]
        == "revoked in jobdeck while pending (a worker that had just started it was sent SIGTERM)"
    )
    wait_for_log(worker, rf"Discarding revoked task: control.write_marker\[{result.id}\]", timeout=10)
    assert not marker.exists()
    assert audited(client, "stop")[0][:2] == (result.id, "accepted")


def test_stop_of_a_sleeping_task_ends_it_cancelled(client: TestClient, sender: Any, worker: Worker) -> None:
    task_id = start_sleeping(client, sender, worker)
    page = client.get(f"/runs/{task_id}").text
    assert 'data-jd-action="stop"' in page
    assert 'data-jd-action="terminate"' in page
    assert "No retry" not in page  # a running task is retried once it has ended: nothing to explain
    asked = time.monotonic()
    stopped = client.post(f"/api/v1/runs/{task_id}/stop")
    assert stopped.status_code == 202, stopped.text
    assert stopped.json()["detail"] == (
        f"SIGTERM sent to task {task_id} on worker {worker.name} (revoke with terminate); Celery signals "
        "a task once, so if it is still running after 10 s only Terminate (SIGKILL) stops it"
    )
    run = wait_for_status(client, task_id, {"cancelled"}, timeout=10)
    assert time.monotonic() - asked < 5
    # The executor's record, or the worker's task-revoked event when the consumer hears it later.
    assert run["error_message"] in (
        "stopped with SIGTERM (asked for in jobdeck)",
        "terminated by its worker (signal 15)",
    )
    wait_for_log(worker, rf"Terminating {task_id} \(15\)")
    again = client.post(f"/api/v1/runs/{task_id}/stop")
    assert again.status_code == 409
    assert "is cancelled" in again.json()["detail"]


def test_stop_of_a_task_that_ignores_sigterm_says_it_may_still_run(
    client: TestClient, sender: Any, worker: Worker
) -> None:
    # Celery signals a task once (the worker lets go of it at the first signal), so no SIGKILL can
    # follow; the run says so rather than claim the task stopped.
    executor(client).grace_s = 1.5
    result = sender.send_task("control.stubborn_sleep", args=[6])
    report(client, result.id, "started", "control.stubborn_sleep", worker=worker.name, args="(6,)")
    wait_active(worker, result.id)
    assert client.post(f"/api/v1/runs/{result.id}/stop").status_code == 202
    run = wait_for_status(client, result.id, {"cancelled"}, timeout=15)
    # The worker's own task-revoked event may be heard first; the executor's word follows the grace.
    deadline = time.monotonic() + 10
    while not str(run["error_message"]).startswith("revoked with SIGTERM") and time.monotonic() < deadline:
        time.sleep(0.2)
        run = client.get(f"/api/v1/runs/{result.id}").json()
    assert re.fullmatch(
        r"revoked with SIGTERM \(asked for in jobdeck\), but its pool process \d+ was still alive 1.5 s "
        r"later: the task may still be running \(it ignored SIGTERM; Celery sends no second signal\)",
        run["error_message"],
    ), run["error_message"]


def test_terminate_kills_a_sleeping_task_now(client: TestClient, sender: Any, worker: Worker) -> None:
    task_id = start_sleeping(client, sender, worker, "control.stubborn_sleep")
    asked = time.monotonic()
    reply = client.post(f"/api/v1/runs/{task_id}/terminate")
    assert reply.status_code == 202, reply.text
    assert (
        reply.json()["detail"]
        == f"SIGKILL sent to task {task_id} on worker {worker.name} (revoke with terminate)"
    )
    run = wait_for_status(client, task_id, {"cancelled"}, timeout=10)
    assert time.monotonic() - asked < 5
    # The executor's record, or the worker's task-revoked event when the consumer hears it later.
    assert run["error_message"] in (
        "stopped with SIGKILL (asked for in jobdeck)",
        "terminated by its worker (signal 9)",
    )
    wait_for_log(worker, rf"Terminating {task_id} \(9\)")
    assert audited(client, "terminate")[0][:2] == (task_id, "accepted")


def test_retry_sends_the_same_task_again_with_lineage(
    client: TestClient, worker: Worker, tmp_path: Path
) -> None:
    marker = tmp_path / "retried"
    failed = str(uuid.uuid4())
    job = "control.write_marker"
    report(client, failed, "enqueued", job, args=f"('{marker}', 'again')", kwargs="{'extra': {'n': 1}}")
    report(client, failed, "failed", job, worker=worker.name, error_type="OSError", priority=3)
    reply = client.post(f"/api/v1/runs/{failed}/retry")
    assert reply.status_code == 202, reply.text
    new = reply.json()["run_id"]
    assert reply.json()["parent_run_id"] == failed
    # The lineage shows at once, before any worker has seen the new task.
    run = client.get(f"/api/v1/runs/{new}").json()
    assert run["parent_run_id"] == failed
    assert run["status"] == "pending"
    assert (run["job"], run["source"], run["queue"], run["priority"]) == (job, "celery", "celery", 3)
    assert run["args"] == [str(marker), "again"]
    assert run["kwargs"] == {"extra": {"n": 1}}
    assert client.get(f"/api/v1/runs/{failed}").json()["retried_by"] == [new]
    # The worker ran it, with the same args, and it succeeded.
    wait_for_log(worker, rf"Task {job}\[{new}\] succeeded")
    assert marker.read_text() == "again [('n', 1)]"
    page = client.get(f"/runs/{new}").text
    assert f'href="/runs/{failed}"' in page
    # Only failed, cancelled or lost tasks are retried.
    running = str(uuid.uuid4())
    report(client, running, "started", job, worker=worker.name, args="()", kwargs="{}")
    refused = client.post(f"/api/v1/runs/{running}/retry")
    assert refused.status_code == 409
    assert (
        "it is running: only a failed, cancelled or lost Celery task is sent again"
        in refused.json()["detail"]
    )


def test_retry_is_refused_for_args_that_do_not_parse(client: TestClient, worker: Worker) -> None:
    run_id = str(uuid.uuid4())
    report(client, run_id, "failed", "control.add", args="(<object object at 0x7f3a2c1b0>, 2)", kwargs="{}")
    reply = client.post(f"/api/v1/runs/{run_id}/retry")
    assert reply.status_code == 422
    assert reply.json()["detail"] == (
        f"run {run_id} cannot be retried: its args were reported by Celery as the text "
        "'(<object object at 0x7f3a2c1b0>, 2)', which is not made of Python literals (an object's text "
        "cannot be turned back into it)"
    )
    page = client.get(f"/runs/{run_id}").text
    assert "No retry: its args were reported by Celery as the text" in page
    assert 'data-jd-action="retry"' not in page
    assert audited(client, "retry")[0][:2] == (run_id, "refused-422")


def test_actions_on_a_task_whose_worker_is_gone_answer_409(
    client: TestClient, sender: Any, tmp_path: Path
) -> None:
    with celery_worker(tmp_path, queues="doomed") as doomed:
        result = sender.send_task("control.sleep", args=[60], queue="doomed")
        report(
            client, result.id, "started", "control.sleep", worker=doomed.name, queue="doomed", args="(60,)"
        )
        wait_active(doomed, result.id)
        doomed.kill()
    for action in ("stop", "terminate"):
        reply = client.post(f"/api/v1/runs/{result.id}/{action}")
        assert reply.status_code == 409, reply.text
        assert f"its worker {doomed.name} does not answer" in reply.json()["detail"]
    assert audited(client, "stop")[0][:2] == (result.id, "refused-409")
    assert f"No stop: its worker {doomed.name} does not answer" in client.get(f"/runs/{result.id}").text


def test_the_failed_runs_of_a_job_are_retried_at_once(client: TestClient, worker: Worker) -> None:
    job = "control.add"
    good = {str(uuid.uuid4()): "(1, 2)", str(uuid.uuid4()): "(40, 2)"}
    for run_id, args in good.items():
        report(client, run_id, "failed", job, args=args, kwargs="{}")
    unparseable, done_before, fine = (str(uuid.uuid4()) for _ in range(3))
    report(client, unparseable, "failed", job, args="(<Thing>,)", kwargs="{}")
    report(client, done_before, "failed", job, args="(0, 0)", kwargs="{}")
    report(client, "retry-of-" + done_before, "enqueued", job, parent_run_id=done_before)
    report(client, fine, "succeeded", job, args="(5, 5)")
    reply = client.post(f"/api/v1/jobs/{job}/retry-failed?hours=1")
    assert reply.status_code == 202, reply.text
    body = reply.json()
    assert (body["retried"], body["refused"], body["not_tried"]) == (2, 2, 0)
    assert body["detail"] == "2 of 4 failed runs of control.add in the last 1 hour retried, 2 refused"
    outcomes = {r["run_id"]: r for r in body["runs"]}
    assert {r for r, o in outcomes.items() if o["outcome"] == "retried"} == set(good)
    assert "not made of Python literals" in outcomes[unparseable]["detail"]
    assert outcomes[done_before]["detail"] == f"it was already retried as run retry-of-{done_before}"
    for run_id in good:
        new = outcomes[run_id]["new_run_id"]
        assert client.get(f"/api/v1/runs/{new}").json()["parent_run_id"] == run_id
        wait_for_log(worker, rf"Task {job}\[{new}\] succeeded in \S+: (3|42)")
    assert audited(client, "retry-failed")[0] == (job, "accepted", body["detail"])
    # The job page offers it, asking first; pressed again, every run has been retried already.
    page = client.get(f"/jobs/{job}").text
    assert 'data-jd-action="retry-failed"' in page
    assert 'hx-confirm="Retry the 4 failed runs of control.add in this time range?' in page
    again = client.post(f"/fragments/jobs/{job}/retry-failed?hours=1")
    assert again.status_code == 202
    assert "0 of 4 failed runs of control.add in the last 1 hour retried, 4 refused" in again.text
    assert again.text.count('data-outcome="refused"') == 4


def test_purging_a_queue_says_how_many_messages_went(client: TestClient, sender: Any) -> None:
    queue = f"purge-{uuid.uuid4().hex[:8]}"  # no worker consumes it
    for priority in (None, 0, 3, 9, 9):
        options = {} if priority is None else {"priority": priority}
        sender.send_task("control.add", args=[1, 1], queue=queue, **options)
    reply = client.post(f"/api/v1/queues/{queue}/purge")
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "queue": queue,
        "broker": None,
        "purged": 5,
        "detail": f"5 messages deleted from queue {queue}",
    }
    again = client.post(f"/api/v1/queues/{queue}/purge", params={"broker": BROKER})
    assert again.json()["purged"] == 0
    assert again.json()["detail"] == f"0 messages deleted from queue {queue} of {BROKER}"
    unknown = client.post(f"/api/v1/queues/{queue}/purge", params={"broker": "redis://elsewhere:6379/0"})
    assert unknown.status_code == 422
    assert "no configured broker is 'redis://elsewhere:6379/0'" in unknown.json()["detail"]
    assert [entry[:2] for entry in audited(client, "purge")] == [
        (f"{queue}@redis://elsewhere:6379/0", "refused-422"),
        (f"{queue}@{BROKER}", "accepted"),
        (queue, "accepted"),
    ]


def test_an_unreachable_broker_leaves_pages_fast_and_actions_refused(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'jobdeck.db'}")
    store.migrate()
    nowhere = "redis://127.0.0.1:1/0"
    with TestClient(create_app(Settings(database_url=store.url, celery_brokers=[nowhere]), store)) as client:
        report(client, "t-running", "started", "control.sleep", worker="celery@gone", args="(60,)")
        report(client, "t-failed", "failed", "control.add", args="(1, 2)", kwargs="{}")
        asked = time.monotonic()
        page = client.get("/runs/t-running").text
        assert time.monotonic() - asked < 2
        assert "No stop: its worker celery@gone does not answer" in page
        stopped = client.post("/api/v1/runs/t-running/stop")
        assert stopped.status_code == 409
        retried = client.post("/api/v1/runs/t-failed/retry")
        assert retried.status_code == 409
        assert f"the broker {nowhere} did not take the task" in retried.json()["detail"]
        assert client.get("/api/v1/runs/t-failed").json()["retried_by"] == []
        purged = client.post("/api/v1/queues/celery/purge")
        assert purged.status_code == 503
        assert "queue celery cannot be purged: OperationalError" in purged.json()["detail"]
        assert time.monotonic() - asked < 5
    store.close()


def test_on_rabbitmq_stop_retry_and_purge_work_alike(tmp_path: Path) -> None:
    from celery import Celery

    queue = f"jobdeck-control-{uuid.uuid4().hex[:8]}"
    store = Store(f"sqlite:///{tmp_path / 'jobdeck.db'}")
    store.migrate()
    settings = Settings(database_url=store.url, celery_brokers=[RABBITMQ])
    sender = Celery("sender", broker=RABBITMQ, set_as_current=False)
    try:
        with (
            celery_worker(tmp_path, broker=RABBITMQ, queues=queue) as rabbit,
            TestClient(create_app(settings, store)) as client,
        ):
            result = sender.send_task("control.sleep", args=[60], queue=queue)
            fields = {"worker": rabbit.name, "queue": queue, "args": "(60,)"}
            report(client, result.id, "started", "control.sleep", **fields)
            wait_active(rabbit, result.id)
            stopped = client.post(f"/api/v1/runs/{result.id}/stop")
            assert stopped.status_code == 202, stopped.text
            run = wait_for_status(client, result.id, {"cancelled"}, timeout=10)
            # The executor's record, or the worker's task-revoked event when the consumer hears it later.
            assert run["error_message"] in (
                "stopped with SIGTERM (asked for in jobdeck)",
                "terminated by its worker (signal 15)",
            )
            retried = client.post(f"/api/v1/runs/{result.id}/retry")
            assert retried.status_code == 202, retried.text
            new = retried.json()["run_id"]
            report(client, new, "started", "control.sleep", worker=rabbit.name, queue=queue)
            wait_active(rabbit, new)
            assert client.post(f"/api/v1/runs/{new}/terminate").status_code == 202
            assert wait_for_status(client, new, {"cancelled"}, timeout=10)["parent_run_id"] == result.id
        idle = f"{queue}-idle"
        for _ in range(3):
            sender.send_task("control.add", args=[1, 1], queue=idle)
        with TestClient(create_app(settings, store)) as client:
            purged = client.post(f"/api/v1/queues/{idle}/purge")
            assert purged.status_code == 200, purged.text
            assert purged.json()["purged"] == 3
            assert purged.json()["detail"] == f"3 messages deleted from queue {idle}"
            never = client.post(f"/api/v1/queues/{idle}-never-declared/purge")
            assert never.json()["purged"] == 0
    finally:
        with sender.connection_for_write() as conn:
            for name in (queue, f"{queue}-idle"):
                conn.default_channel.queue_delete(name)
        sender.close()
        store.close()


def test_a_tasks_workflow_shows_on_its_page(tmp_path: Path) -> None:
    # Labels a chain's or chord's task carries (celery.parent_id, celery.root_id, celery.group_id).
    store = Store(f"sqlite:///{tmp_path / 'jobdeck.db'}")
    store.migrate()
    with TestClient(create_app(Settings(database_url=store.url), store)) as client:
        report(client, "root-1", "succeeded", "etl.extract", labels={"celery.root_id": "root-1"})
        labels = {"celery.parent_id": "root-1", "celery.root_id": "root-1", "celery.group_id": "g-7"}
        report(client, "step-2", "succeeded", "etl.transform", labels=labels)
        orphan = {"celery.parent_id": "gone-0", "celery.root_id": "gone-0"}
        report(client, "step-3", "failed", "etl.load", labels=orphan)
        page = client.get("/runs/step-2").text
        panel = page[page.index('data-panel="workflow"') :]
        panel = panel[: panel.index("</section>")]
        assert re.findall(r"<dt>([^<]+)</dt>", panel) == ["Parent task", "Root task", "Group"]
        assert panel.count('href="/runs/root-1"') == 2
        assert '<span class="jd-mono">g-7</span>' in panel
        assert 'data-panel="workflow"' not in client.get("/runs/root-1").text  # its own root: no panel
        assert 'gone-0</span> <span class="jd-muted">(not stored)</span>' in client.get("/runs/step-3").text
    store.close()
