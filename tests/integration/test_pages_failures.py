"""The failures page: groups with counts, times, affected jobs, a sparkline and a sample traceback."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from tests.run_data import record_history


def test_failures_page_groups_what_broke(client: TestClient, recorder: Recorder) -> None:
    record_history(recorder)
    page = client.get("/failures", params={"hours": 6})
    assert page.status_code == 200
    text = page.text
    assert "3 kinds of failure, 30 failed runs in the last 6 hours." in text
    assert text.count('<li class="jd-panel jd-failure">') == 3
    assert text.count("order &lt;n&gt; not found") == 3
    assert text.count("<polyline") == 3
    assert "KeyError: 1145" in text  # the newest sample's traceback
    assert "Also in" in text
    assert 'href="/runs/run-00145"' in text
    assert 'href="/jobs/clip_sync"' in text
    assert "/api/v1/export/failures?hours=6&amp;format=csv" in text
    one = client.get("/failures", params={"hours": 6, "job": "clip_sync"}).text
    assert one.count('<li class="jd-panel jd-failure">') == 1


def test_failures_page_empty_and_bad_window(client: TestClient) -> None:
    page = client.get("/failures")
    assert page.status_code == 200
    assert "No failures in the last 24 hours." in page.text
    assert client.get("/failures", params={"hours": -3}).status_code == 422
    fragment = client.get("/fragments/failures", params={"hours": 1}).text
    assert "<html" not in fragment
    assert "No failures in the last 1 hour." in fragment


def test_a_failure_many_jobs_share_names_five_and_counts_the_rest(
    client: TestClient, recorder: Recorder
) -> None:
    now = datetime.now(UTC)
    recorder.record(
        [
            make_event(
                f"r{i}", "failed", now, {"job": f"job{i}", "error_type": "IOError", "error_message": "disk"}
            )
            for i in range(8)
        ]
    )
    text = client.get("/failures").text
    first = text.split('<li class="jd-panel jd-failure">')[1]
    also = first.split("<dt>Also in</dt>")[1].split("</dd>")[0]
    assert also.count("<a ") == 5
    assert also.endswith(" and 2 more jobs")
