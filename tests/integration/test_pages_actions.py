"""Stop and Retry in the pages: buttons only where an executor can act, why not elsewhere, and the
fragments the buttons post to (the outcome, or the error with a way to try again)."""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from tests.integration.test_api_control import local, start, wait_for_status
from tests.run_data import NOW

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and signals")

STOP = re.compile(r'<button[^>]*data-jd-action="stop"[^>]*hx-post="([^"]+)"[^>]*>Stop</button>', re.S)
RETRY = re.compile(r'<button[^>]*data-jd-action="retry"[^>]*hx-post="([^"]+)"[^>]*>Retry</button>', re.S)


def _record(recorder: Recorder, run_id: str, kind: str, **fields: Any) -> None:
    recorder.record([make_event(run_id, kind, NOW - timedelta(seconds=30), {"job": "j", **fields})])


def row_of(page: str, run_id: str) -> str:
    start = page.index(f'href="/runs/{run_id}"')
    end = page.find("</tr>", start)
    return page[start:end]


def test_the_control_center_offers_stop_and_retry_only_where_they_work(
    client: TestClient, recorder: Recorder
) -> None:
    run_id = start(client, "import time; time.sleep(60)")
    _record(recorder, "celery-task", "started", source="celery")
    page = client.get("/control").text
    mine = row_of(page, run_id)
    assert STOP.findall(mine) == [f"/fragments/runs/{run_id}/stop"]
    assert RETRY.findall(mine) == [f"/fragments/runs/{run_id}/retry"]
    assert 'hx-confirm="Stop run' in mine
    assert "is still running. Start another run" in mine
    assert 'hx-target="#jd-action-result"' in mine
    assert 'id="jd-action-result"' in page
    celery = row_of(page, "celery-task")
    assert not STOP.findall(celery)
    assert not RETRY.findall(celery)
    assert "No stop or retry: it is a Celery task, and no Celery broker is configured" in celery
    assert client.post(f"/api/v1/runs/{run_id}/stop").status_code == 202
    wait_for_status(client, run_id, {"cancelled"})


def test_the_run_page_offers_retry_on_a_failed_local_run(client: TestClient, recorder: Recorder) -> None:
    failed = start(client, "import sys; sys.exit(1)")
    wait_for_status(client, failed, {"failed"})
    page = client.get(f"/runs/{failed}").text
    assert not STOP.findall(page)
    assert RETRY.findall(page) == [f"/fragments/runs/{failed}/retry?follow=1"]
    assert "hx-confirm" not in page.split('data-jd-action="retry"')[1].split(">")[0]
    # Finished well, nothing to retry and nothing to explain; failed without an executor, it says why.
    _record(recorder, "fine", "succeeded", source="local", host=local(client).host)
    _record(recorder, "celery-failed", "failed", source="celery")
    fine = client.get("/runs/fine").text
    assert not RETRY.findall(fine)
    assert "No retry" not in fine
    assert "No stop" not in fine
    celery = client.get("/runs/celery-failed").text
    assert not RETRY.findall(celery)
    assert "No retry: it is a Celery task" in celery
    assert "No stop" not in celery  # a finished run is not expected to be stoppable


def test_the_stop_fragment_says_what_was_done_or_why_not(client: TestClient, recorder: Recorder) -> None:
    run_id = start(client, "import time; time.sleep(60)")
    done = client.post(f"/fragments/runs/{run_id}/stop")
    assert done.status_code == 202
    assert "<html" not in done.text
    assert 'data-outcome="stopping"' in done.text
    assert "SIGTERM sent to process" in done.text
    assert f'href="/runs/{run_id}"' in done.text
    wait_for_status(client, run_id, {"cancelled"})
    refused = client.post(f"/fragments/runs/{run_id}/stop")
    assert refused.status_code == 409
    assert 'role="alert"' in refused.text
    assert "is cancelled: only a pending or running run can be stopped" in refused.text
    assert re.search(r'hx-post="/fragments/runs/[^"]+/stop"[^>]*>Try again</button>', refused.text)


def test_the_retry_fragment_links_the_new_run_or_opens_it(client: TestClient) -> None:
    failed = start(client, "import sys; sys.exit(1)")
    wait_for_status(client, failed, {"failed"})
    shown = client.post(f"/fragments/runs/{failed}/retry")
    assert shown.status_code == 202
    assert 'data-outcome="retried"' in shown.text
    new = re.findall(r'new run <a class="[^"]+" href="/runs/([^"]+)"', shown.text)
    assert len(new) == 1
    assert f'a retry of <a class="jd-mono jd-wrap-anywhere" href="/runs/{failed}"' in shown.text
    followed = client.post(f"/fragments/runs/{failed}/retry?follow=1")
    assert followed.status_code == 202
    assert followed.headers["HX-Redirect"].startswith("/runs/")
    for run_id in (new[0], followed.headers["HX-Redirect"].removeprefix("/runs/")):
        assert wait_for_status(client, run_id, {"failed"})["parent_run_id"] == failed
    missing = client.post("/fragments/runs/nope/retry?follow=1")
    assert missing.status_code == 404
    assert "No run with id &#39;nope&#39;." in missing.text
    assert "HX-Redirect" not in missing.headers
    assert "/fragments/runs/nope/retry?follow=1" in missing.text  # Try again keeps the same action
