"""The control center: running runs against their job's usual duration; no buttons where no executor acts."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.web.pages.control import progress
from tests.run_data import NOW, record_history


def test_progress_against_p50_and_p95() -> None:
    assert progress(5, None, None) == {"percent": None, "state": "unknown"}
    assert progress(5, 10, 20) == {"percent": 50, "state": "normal"}
    assert progress(15, 10, 20) == {"percent": 100, "state": "over"}
    assert progress(25, 10, 20) == {"percent": 100, "state": "late"}


def test_control_center_lists_running_runs_longest_first(client: TestClient, recorder: Recorder) -> None:
    record_history(recorder)  # finished runs take 3 s: both live runs are past p95
    recorder.record([make_event("new-job", "started", NOW, {"job": "never_finished"})])
    text = client.get("/control").text
    order = [text.index(f'href="/runs/{rid}"') for rid in ("live-0", "live-1", "new-job")]
    assert order == sorted(order)
    assert text.count("past p95 (3.0 s)") == 2
    assert "No finished runs to compare with yet" in text
    assert 'Running</div><div class="jd-stat-value jd-stat-value--info">3<' in text
    assert 'p95</div><div class="jd-stat-value jd-stat-value--bad">2<' in text
    # Only actions with something real behind them: no executor can act on runs whose source is not
    # known, so they have no Stop or Retry, and each says why instead of showing a button that fails.
    assert ">View</a>" in text
    assert not re.search(r">\s*(Stop|Retry)\s*</(a|button)>", text)
    assert text.count("No stop or retry: its source does not say how it was started.") == 3
    assert "<html" not in client.get("/fragments/control").text


def test_control_center_empty_state(client: TestClient, recorder: Recorder) -> None:
    recorder.record([make_event("done", "succeeded", NOW - timedelta(minutes=1), {"job": "j"})])
    assert "Nothing is running right now." in client.get("/control").text
