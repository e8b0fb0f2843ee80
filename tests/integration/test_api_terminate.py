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
