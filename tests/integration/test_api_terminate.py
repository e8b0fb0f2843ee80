"""Terminate (SIGKILL now) through the API and the pages, for local runs: a real process killed at
once, recorded cancelled, audited; refusals for finished and unknown runs; the button asks first."""

from __future__ import annotations

import re
import sys
import time

import pytest
from fastapi.testclient import TestClient

from jobdeck.store import Store
from jobdeck.store import audit as audit_rows
from tests.integration.test_api_control import start, wait_for_status

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and signals")

TERMINATE = re.compile(
    r'<button[^>]*data-jd-action="terminate"[^>]*hx-post="([^"]+)"[^>]*hx-confirm="([^"]+)"[^>]*>Terminate</button>',
    re.S,
)


def test_terminate_kills_a_running_local_run_at_once(client: TestClient, store: Store) -> None:
    # A command that ignores SIGTERM: only SIGKILL ends it, and at once (no grace period).
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    run_id = start(client, code)
    asked = time.monotonic()
    reply = client.post(f"/api/v1/runs/{run_id}/terminate")
    assert reply.status_code == 202, reply.text
    assert reply.json()["run_id"] == run_id
    assert reply.json()["detail"].startswith("SIGKILL sent to process ")
    run = wait_for_status(client, run_id, {"cancelled"}, timeout=5)
    assert time.monotonic() - asked < 3  # well under the 10 s grace period a stop waits
    assert run["error_message"] == "stopped with SIGKILL (asked for in jobdeck)"
    assert run["result"] == {"exit_code": -9}
    again = client.post(f"/api/v1/runs/{run_id}/terminate")
    assert again.status_code == 409
    assert "is cancelled: only a pending or running run can be terminated" in again.json()["detail"]
    assert client.post("/api/v1/runs/no-such-run/terminate").status_code == 404
    done = [(e.action, e.target, e.result) for e in audit_rows.entries(store, action="terminate")]
    assert (("terminate", run_id, "accepted")) in done
    assert ("terminate", run_id, "refused-409") in done
    assert ("terminate", "no-such-run", "refused-404") in done


def test_the_run_page_offers_terminate_with_a_confirmation(client: TestClient) -> None:
    run_id = start(client, "import time; time.sleep(60)")
    page = client.get(f"/runs/{run_id}").text
    found = TERMINATE.findall(page)
    assert found, page
    url, confirm = found[0]
    assert url == f"/fragments/runs/{run_id}/terminate"
    assert confirm.startswith(f"Terminate run {run_id} of nightly_export now? It is sent SIGKILL at once")
    control = client.get("/control").text
    assert f"/fragments/runs/{run_id}/terminate" in control
    done = client.post(url)
    assert done.status_code == 202
    assert 'data-outcome="terminating"' in done.text
    assert "SIGKILL sent to process" in done.text
    wait_for_status(client, run_id, {"cancelled"}, timeout=5)
    refused = client.post(url)
    assert refused.status_code == 409
    assert 'role="alert"' in refused.text
    assert re.search(r'hx-post="/fragments/runs/[^"]+/terminate"[^>]*>Try again</button>', refused.text)
    assert not TERMINATE.findall(client.get(f"/runs/{run_id}").text)


def test_retry_failed_takes_local_runs_too_and_checks_its_window(client: TestClient, store: Store) -> None:
    failed = [start(client, "import sys; sys.exit(4)", job="flaky_local") for _ in range(2)]
    for run_id in failed:
        wait_for_status(client, run_id, {"failed"})
    reply = client.post("/api/v1/jobs/flaky_local/retry-failed", params={"hours": 2})
    assert reply.status_code == 202, reply.text
    body = reply.json()
    assert (body["retried"], body["refused"]) == (2, 0)
    assert body["detail"] == "2 of 2 failed runs of flaky_local in the last 2 hours retried"
    for outcome in body["runs"]:
        new = wait_for_status(client, outcome["new_run_id"], {"failed"})
        assert new["parent_run_id"] == outcome["run_id"]
    assert client.post("/api/v1/jobs/no_such_job/retry-failed").json()["detail"] == (
        "no failed run of no_such_job in the last 24 hours"
    )
    for hours in ("0", "-1", "nan"):
        assert (
            client.post("/api/v1/jobs/flaky_local/retry-failed", params={"hours": hours}).status_code == 422
        )
    entries = [(e.target, e.result) for e in audit_rows.entries(store, action="retry-failed")]
    assert entries == [("no_such_job", "accepted"), ("flaky_local", "accepted")]
