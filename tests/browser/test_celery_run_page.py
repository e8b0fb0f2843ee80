"""A Celery task's run page in Chromium, with a real worker on Redis db 6: Stop and Terminate offered
while it runs, Terminate asked first and done through the worker, the run shown cancelled; a failed task
whose args cannot be sent again says why it has no Retry. Screenshots (light and dark, desktop and
phone) of both go to the temporary directory's shots-celery-control/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import expect

from jobdeck.config import Settings
from tests.browser.conftest import LiveServer, filled_store, serve
from tests.browser.test_control_actions import status_of
from tests.browser.test_terminate_action import screenshots
from tests.celery_worker_process import BROKER, Worker, celery_worker, flush, redis_or_skip
from tests.integration.test_celery_actions import wait_active

pytestmark = pytest.mark.filterwarnings(
    "ignore:Call to 'get_connection' function with deprecated:DeprecationWarning"
)


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    redis_or_skip()
    flush()
    with celery_worker(tmp_path_factory.mktemp("celery-browser")) as worker:
        yield worker
    flush()


@pytest.fixture(scope="module")
def celery_server(tmp_path_factory: pytest.TempPathFactory, worker: Worker) -> Iterator[LiveServer]:
    store = filled_store(tmp_path_factory.mktemp("celery-browser-store"), [])
    with serve(store, settings=Settings(database_url=store.url, celery_brokers=[BROKER])) as server:
        yield server
    store.close()


@pytest.fixture(scope="module")
def shoot(browser: Any) -> Any:
    return partial(screenshots, browser)


def report(server: LiveServer, run_id: str, event: str, job: str, **fields: Any) -> None:
    body = {"run_id": run_id, "event": event, "job": job, "source": "celery", "queue": "celery", **fields}
    assert httpx.post(server.path("/api/v1/events"), json=body).status_code == 202


def test_a_running_celery_task_is_terminated_from_its_page(
    celery_server: LiveServer, worker: Worker, page: Any, shoot: Any, tmp_path: Path
) -> None:
    from celery import Celery

    sender = Celery("sender", broker=BROKER, set_as_current=False)
    try:
        result = sender.send_task("control.sleep", args=[120])
    finally:
        sender.close()
    report(celery_server, result.id, "enqueued", "control.sleep", args="(120,)", kwargs="{}")
    wait_active(worker, result.id)
    report(celery_server, result.id, "started", "control.sleep", worker=worker.name)
    shoot(celery_server.path(f"/runs/{result.id}"), "celery-run-running")
    page.goto(celery_server.path(f"/runs/{result.id}"))
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    asked: list[str] = []

    def confirm(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", confirm)
    page.get_by_role("button", name="Terminate").click()
    expect(page.locator("#jd-action-result")).to_contain_text(
        f"Terminating {result.id}: SIGKILL sent to task {result.id} on worker {worker.name}"
    )
    assert asked[0].startswith(f"Terminate run {result.id} of control.sleep now?")
    status_of(celery_server, result.id, "cancelled")
    expect(page.locator("header .jd-status")).to_have_text("cancelled", timeout=5000)
    # Two reports of the end race: jobdeck's own (once the pool process is gone, polled every 0.5 s)
    # and the worker's task-revoked event; on a loaded machine the worker's may come first.
    expect(page.locator("#jd-run")).to_contain_text(
        re.compile(r"stopped with SIGKILL \(asked for in jobdeck\)|terminated by its worker \(signal 9\)")
    )
    # Cancelled, with its args known: it can be sent again.
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    assert page.jd_errors == []


def test_a_failed_task_whose_args_cannot_be_sent_again_says_why(
    celery_server: LiveServer, page: Any, shoot: Any
) -> None:
    args = "(<Order id=17 at 0x7f3a2c1b0>,)"
    report(celery_server, "celery-failed-1", "started", "shop.charge", worker="celery@shop", args=args)
    report(
        celery_server,
        "celery-failed-1",
        "failed",
        "shop.charge",
        error_type="CardDeclined",
        error_message="card declined",
        traceback="Traceback (most recent call last):\nCardDeclined: card declined\n",
    )
    shoot(celery_server.path("/runs/celery-failed-1"), "celery-run-unretryable")
    page.goto(celery_server.path("/runs/celery-failed-1"))
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
    expect(page.locator("#jd-run")).to_contain_text(
        "No retry: its args were reported by Celery as the text '(<Order id=17 at 0x7f3a2c1b0>,)', which is "
        "not made of Python literals"
    )
    assert page.jd_errors == []
