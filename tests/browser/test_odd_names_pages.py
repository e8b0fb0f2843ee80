"""A job named `etl/daily` and a run id holding `/` and `#`, in Chromium: from the overview to the
job's page, its runs, the run's page and back to the job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from playwright.sync_api import expect

from jobdeck.events import make_event
from tests.browser.conftest import LiveServer
from tests.run_data import NOW

JOB = "etl/daily"
RUN = "batch/7#2"


def test_a_job_named_with_a_slash_and_a_run_id_with_a_hash(live_server: LiveServer, page: Any) -> None:
    started = NOW - timedelta(minutes=30)
    live_server.record(
        [
            make_event(RUN, "started", started, {"job": JOB, "worker": "w1"}),
            make_event(
                RUN, "failed", started + timedelta(seconds=40), {"error_type": "Boom", "error_message": "odd"}
            ),
        ]
    )
    page.goto(live_server.path("/"))
    page.get_by_role("link", name=JOB, exact=True).first.click()  # the overview's table of jobs
    page.wait_for_url("**/jobs/etl%2Fdaily*")
    expect(page.get_by_role("heading", level=1)).to_contain_text(JOB)
    runs = page.locator("#jd-job-runs-table tbody tr")
    expect(runs).to_have_count(1)
    expect(runs.first.locator("td").first).to_have_text(RUN)
    page.click('.jd-chip:has-text("failed")')  # the runs fragment, fetched for this job
    expect(runs).to_have_count(1)
    runs.first.get_by_role("link", name=RUN).click()
    page.wait_for_url("**/runs/batch%2F7%232")
    expect(page.get_by_role("heading", level=1)).to_have_text(RUN)
    page.locator(".jd-crumbs").get_by_role("link", name=JOB).click()
    page.wait_for_url("**/jobs/etl%2Fdaily")
    expect(page.get_by_role("heading", level=1)).to_contain_text(JOB)
    assert page.jd_errors == []
