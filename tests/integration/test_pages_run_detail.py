"""The run page: every field, the traceback, and the chain of retries."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from fastapi.testclient import TestClient
from markupsafe import escape

from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from tests.run_data import NOW

TRACE = 'Traceback (most recent call last):\n  File "billing.py", line 40, in export\n<ConnectionError> x'


def test_run_page_shows_every_field_and_the_traceback(client: TestClient, recorder: Recorder) -> None:
    recorder.record(
        [
            make_event(
                "first",
                "enqueued",
                NOW - timedelta(minutes=10),
                {"job": "invoice_export", "queue": "billing", "priority": 5},
            ),
            make_event(
                "first", "started", NOW - timedelta(minutes=9), {"worker": "w-7", "host": "box", "pid": 41}
            ),
            make_event(
                "first",
                "failed",
                NOW - timedelta(minutes=8),
                {
                    "error_type": "ConnectionError",
                    "error_message": "db-7 refused",
                    "traceback": TRACE,
                    "args": [{"invoice": 77}],
                    "kwargs": {"dry_run": False},
                    "labels": {"team": "billing"},
                    "items_succeeded": 12,
                },
            ),
            make_event(
                "second",
                "enqueued",
                NOW - timedelta(minutes=5),
                {"job": "invoice_export", "parent_run_id": "first"},
            ),
            make_event("second", "succeeded", NOW - timedelta(minutes=4), {"result": {"rows": 1200}}),
        ]
    )
    page = client.get("/runs/first")
    assert page.status_code == 200
    text = page.text
    pre = '<pre class="jd-pre jd-traceback" tabindex="0" aria-label="Traceback">'
    assert f"{pre}{escape(TRACE)}</pre>" in text
    for shown in (
        "ConnectionError",
        "db-7 refused",
        "billing",
        "w-7",
        "box / 41",
        "&#34;invoice&#34;: 77",
        "dry_run",
        "team",
    ):
        assert shown in text, shown
    assert "1 m 0 s" in text  # waited in the queue
    # The chain: this run, then the run that retried it, linked.
    assert "(this run)" in text
    assert 'href="/runs/second"' in text
    second = client.get("/runs/second").text
    assert 'href="/runs/first"' in second
    assert "&#34;rows&#34;: 1200" in second


def test_unknown_run_is_a_404_page_that_offers_a_search(client: TestClient) -> None:
    page = client.get("/runs/not-there")
    assert page.status_code == 404
    assert "No run has the id" in page.text
    assert "q=not-there" in page.text


def test_run_ids_with_slashes_and_spaces_link_and_open(client: TestClient, recorder: Recorder) -> None:
    odd = "celery/tasks 7?x#y"
    recorder.record([make_event(odd, "started", NOW, {"job": "odd"})])
    listing = client.get("/runs").text
    assert f'href="/runs/{quote(odd, safe="")}"' in listing
    assert client.get(f"/runs/{quote(odd, safe='')}").status_code == 200
