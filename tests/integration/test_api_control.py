"""Stop and retry through the API, on SQLite and PostgreSQL: real local processes stopped and rerun,
and every refusal (unknown, finished, no executor, another host, a gone process, a forged command)."""

from __future__ import annotations

import logging
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobdeck.control import ControlPlane
from jobdeck.events import make_event
from jobdeck.executors import Submission
from jobdeck.executors.local import LocalExecutor
from jobdeck.recorder import Recorder
from jobdeck.store.runs import get_run
from tests.run_data import NOW
from tests.unit.test_local_executor import dead_pid, python

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and signals")


def local(client: TestClient) -> LocalExecutor:
    control: ControlPlane = client.app.state.control  # type: ignore[attr-defined]
    executor = control.executors["local"]
    assert isinstance(executor, LocalExecutor)
    return executor


def start(client: TestClient, code: str, job: str = "nightly_export") -> str:
    """Start a command through the app's local executor; its run id once it is recorded running."""
    run_id = local(client).submit(Submission(job=job, args=python(code), queue="local"))
    wait_for_status(client, run_id, {"running", "succeeded", "failed"})
    return run_id


def wait_for_status(
    client: TestClient, run_id: str, statuses: set[str], timeout: float = 20
) -> dict[str, Any]:
    """The run once its status is one of `statuses` (read from the store: any run id works)."""
    store = client.app.state.store  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while True:
        with store.read() as conn:
            run = get_run(conn, run_id)
        if run is not None and run["status"] in statuses:
            return run
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} did not become {statuses}: {run}")
        time.sleep(0.05)


def test_stop_a_running_local_run(client: TestClient) -> None:
    run_id = start(client, "import time; time.sleep(60)")
    stopped = client.post(f"/api/v1/runs/{run_id}/stop")
    assert stopped.status_code == 202, stopped.text
    assert stopped.json()["run_id"] == run_id
    assert "SIGTERM sent to process" in stopped.json()["detail"]
    run = wait_for_status(client, run_id, {"cancelled"}, timeout=5)
    assert run["error_message"] == "stopped with SIGTERM (asked for in jobdeck)"
    assert run["result"] == {"exit_code": -15}
    assert run["source"] == "local"
    again = client.post(f"/api/v1/runs/{run_id}/stop")
    assert again.status_code == 409
    assert "is cancelled" in again.json()["detail"]


def test_retry_a_failed_local_run_starts_a_new_run_linked_to_it(client: TestClient) -> None:
    code = "import sys; print('disk full', file=sys.stderr); sys.exit(3)"
    first = start(client, code)
    failed = wait_for_status(client, first, {"failed"})
    assert failed["error_message"] == "exit code 3: disk full"
    assert failed["traceback"] == "disk full\n"
    retried = client.post(f"/api/v1/runs/{first}/retry")
    assert retried.status_code == 202, retried.text
    body = retried.json()
    assert body["parent_run_id"] == first
    assert body["run_id"] != first
    second = wait_for_status(client, body["run_id"], {"failed"})
    assert second["parent_run_id"] == first
    assert second["args"] == failed["args"]
    assert second["job"] == "nightly_export"
    assert second["queue"] == "local"
    assert second["source"] == "local"
    assert second["result"] == {"exit_code": 3}
    assert client.get(f"/api/v1/runs/{first}").json()["retried_by"] == [body["run_id"]]
    # A retry of the retry continues the chain.
    third = client.post(f"/api/v1/runs/{body['run_id']}/retry")
    assert third.status_code == 202
    assert wait_for_status(client, third.json()["run_id"], {"failed"})["parent_run_id"] == body["run_id"]


def test_a_running_run_can_be_retried_too(client: TestClient) -> None:
    run_id = start(client, "import time; time.sleep(60)")
    retried = client.post(f"/api/v1/runs/{run_id}/retry")
    assert retried.status_code == 202
    new = wait_for_status(client, retried.json()["run_id"], {"running"})
    assert new["parent_run_id"] == run_id
    for rid in (run_id, new["run_id"]):
        assert client.post(f"/api/v1/runs/{rid}/stop").status_code == 202
        wait_for_status(client, rid, {"cancelled"})


def _record(recorder: Recorder, run_id: str, kind: str, **fields: Any) -> None:
    recorder.record([make_event(run_id, kind, NOW - timedelta(seconds=30), {"job": "j", **fields})])


def assert_refused(client: TestClient, action: str, cases: dict[str, tuple[int | None, str]]) -> None:
    """Each run refuses `action` with its status (None: 409 or 422) and a detail that says why."""
    for run_id, (status, says) in cases.items():
        reply = client.post(f"/api/v1/runs/{run_id}/{action}")
        assert reply.status_code in ((status,) if status else (409, 422)), (run_id, reply.text)
        assert says in reply.json()["detail"], (run_id, reply.text)


def test_stop_refusals(client: TestClient, recorder: Recorder) -> None:
    here = local(client).host
    _record(recorder, "done", "succeeded", source="local", host=here)
    _record(recorder, "celery-task", "started", source="celery", worker="celery@w1")
    _record(recorder, "sdk-run", "started", source="sdk", host=here, pid=1)
    _record(recorder, "unknown-source", "started")
    _record(recorder, "elsewhere", "started", source="local", host="box-9", pid=123)
    _record(recorder, "gone", "started", source="local", host=here, pid=dead_pid())
    _record(recorder, "not-it", "started", source="local", host=here, pid=1)
    cases = {
        "no-such-run": (404, "no run with id 'no-such-run'"),
        "done": (409, "is succeeded: only a pending or running run can be stopped"),
        "celery-task": (422, "it is a Celery task, and no Celery broker is configured"),
        "sdk-run": (422, "through the SDK; jobdeck did not start it"),
        "unknown-source": (422, "its source does not say how it was started"),
        "elsewhere": (422, f"it runs on box-9, and this server acts on processes on {here} only"),
        "gone": (409, "has ended without reporting how"),
        # pid 1 is alive but not this run's (or not ours to read): never signalled.
        "not-it": (None, "process 1"),
    }
    assert_refused(client, "stop", cases)


def test_retry_refusals(client: TestClient, recorder: Recorder, tmp_path: Path) -> None:
    here = local(client).host
    marker = tmp_path / "pwned"
    forged_command = ["sh", "-c", f"touch {marker}"]
    _record(recorder, "done", "succeeded", source="local", host=here, args=forged_command)
    _record(recorder, "celery-task", "failed", source="celery")
    _record(recorder, "forged", "failed", source="local", host=here, args=forged_command)
    _record(
        recorder,
        "bad-seal",
        "failed",
        source="local",
        host=here,
        args=forged_command,
        labels={"jobdeck.seal": "0" * 64},
    )
    _record(recorder, "elsewhere", "failed", source="local", host="box-9", args=forged_command)
    _record(recorder, "no-command", "failed", source="local", host=here)
    cases = {
        "no-such-run": (404, "no run with id"),
        "done": (409, "succeeded: there is nothing to retry"),
        "celery-task": (422, "Celery task"),
        "forged": (422, "does not carry a valid seal"),
        "bad-seal": (422, "does not carry a valid seal"),
        "elsewhere": (422, f"it ran on box-9, and this server runs commands on {here} only"),
        "no-command": (422, "it has no command to run"),
    }
    assert_refused(client, "retry", cases)
    time.sleep(0.3)
    assert not marker.exists()  # a command anyone could have reported was never run


def test_a_page_of_another_site_cannot_act(client: TestClient, recorder: Recorder) -> None:
    _record(recorder, "celery-task", "started", source="celery")
    for action in ("stop", "retry"):
        for path in (f"/api/v1/runs/celery-task/{action}", f"/fragments/runs/celery-task/{action}"):
            reply = client.post(path, headers={"Sec-Fetch-Site": "cross-site"})
            assert reply.status_code == 403
            assert "other sites" in reply.json()["detail"]
        same = client.post(f"/api/v1/runs/celery-task/{action}", headers={"Sec-Fetch-Site": "same-origin"})
        assert same.status_code == 422


def test_every_action_writes_an_audit_line(
    client: TestClient, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    _record(recorder, "celery-task", "started", source="celery")
    run_id = start(client, "import time; time.sleep(60)")
    with caplog.at_level(logging.INFO, logger="jobdeck.audit"):
        client.post(f"/api/v1/runs/{run_id}/stop")
        client.post("/api/v1/runs/celery-task/retry")
        client.post("/api/v1/runs/celery-task/stop", headers={"Sec-Fetch-Site": "cross-site"})
    lines = [r.getMessage() for r in caplog.records if r.name == "jobdeck.audit"]
    assert len(lines) == 3
    assert f"stop run='{run_id}' by=testclient/api outcome=accepted SIGTERM sent" in lines[0]
    assert "retry run='celery-task' by=testclient/api outcome=refused-422" in lines[1]
    assert (
        "request run='POST /api/v1/runs/celery-task/stop' by=testclient/http outcome=refused-403" in lines[2]
    )
    wait_for_status(client, run_id, {"cancelled"})


def test_run_ids_with_slashes_can_be_acted_on(client: TestClient) -> None:
    run_id = local(client).submit(
        Submission(job="j", args=python("import time; time.sleep(60)"), run_id="a/b c")
    )
    wait_for_status(client, "a/b c", {"running"})
    reply = client.post("/api/v1/runs/a/b c/stop")
    assert reply.status_code == 202
    assert reply.json()["run_id"] == run_id
    wait_for_status(client, "a/b c", {"cancelled"})
