"""A past window's figures are of that window: the last runs before its end, no live runs of now, and
the overview leaves out its present-state columns (both backends)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store, reports
from jobdeck.store.runs import latest_by_job
from tests.run_data import NOW

DAY_AGO = NOW - timedelta(days=1)


def record(recorder: Recorder) -> None:
    """`sync`: a success a day ago, a failure 23 h ago, and one running now."""
    recorder.record(
        [
            make_event("s-1", "started", DAY_AGO, {"job": "sync"}),
            make_event("s-1", "succeeded", DAY_AGO + timedelta(seconds=5), {}),
            make_event("s-2", "started", DAY_AGO + timedelta(hours=1), {"job": "sync"}),
            make_event("s-2", "failed", DAY_AGO + timedelta(hours=1, seconds=5), {}),
            make_event("s-3", "started", NOW - timedelta(minutes=1), {"job": "sync"}),
        ]
    )


def test_latest_runs_before_a_time(store: Store, recorder: Recorder) -> None:
    record(recorder)
    with store.read() as conn:
        now = latest_by_job(conn, ["sync"])["sync"]
        past = latest_by_job(conn, ["sync"], DAY_AGO + timedelta(minutes=30))["sync"]
        before_all = latest_by_job(conn, ["sync"], DAY_AGO - timedelta(hours=1))["sync"]
        summary = reports.job_summaries(
            conn, DAY_AGO - timedelta(hours=1), DAY_AGO + timedelta(hours=2), present=False
        )
    assert now["last_status"] == "running"
    assert now["last_success_at"] == DAY_AGO + timedelta(seconds=5)
    assert past == {
        "last_run_at": DAY_AGO,
        "last_status": "succeeded",
        "last_success_at": past["last_success_at"],
    }
    assert past["last_success_at"] == DAY_AGO + timedelta(seconds=5)
    assert before_all == {"last_run_at": None, "last_status": None, "last_success_at": None}
    assert summary[0]["running"] == 0
    assert summary[0]["last_status"] == "failed"


def test_overview_of_a_past_range_has_no_present_columns(client: TestClient, recorder: Recorder) -> None:
    record(recorder)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    since, until = (DAY_AGO - timedelta(hours=1)).strftime(fmt), (DAY_AGO + timedelta(hours=2)).strftime(fmt)
    page = client.get("/", params={"from": since, "to": until}).text
    assert "Last run in range" in page
    assert "Since last success" not in page
    assert "(a past range: no &#34;now&#34; columns)" in page or 'a past range: no "now" columns' in page
    assert "Since last success" in client.get("/").text
