"""The alerts, rules and channels pages; their forms (silence, add a channel) and the firing count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from jobdeck.alerts.evaluator import Evaluator
from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)


def test_alerts_page_shows_firing_alerts_and_the_count(
    client: TestClient, store: Store, recorder: Recorder
) -> None:
    at = NOW - timedelta(hours=30)
    recorder.record([make_event("s1", "started", at, {"job": "sync"}), make_event("s1", "succeeded", at, {})])
    assert client.get("/fragments/alerts/count").text.strip() == ""
    Evaluator(store, every_s=1).run_once(NOW)
    page = client.get("/alerts")
    assert page.status_code == 200
    assert "BackgroundJobCriticallyStale" in page.text
    assert 'href="/jobs/sync"' in page.text
    assert ">2<" in client.get("/fragments/alerts/count").text
    assert 'id="jd-alert-count"' in client.get("/").text  # the overview loads the count beside "Alerts"
    rules = client.get("/alerts/rules").text
    assert 'id="backgroundjobnotrunning"' in rules
    assert "What to do" in rules


def test_silence_form(client: TestClient) -> None:
    made = client.post(
        "/alerts/silences",
        content="rule=BackgroundJobFailing&job=sync&hours=4&comment=deploy",
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    (silence,) = client.get("/api/v1/alerts").json()["silences"]
    assert silence["rule"] == "BackgroundJobFailing"
    assert silence["job"] == "sync"
    assert silence["active"]
    refused = client.post(
        "/alerts/silences", content="hours=-1", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert refused.status_code == 422
    other_site = client.post(
        f"/alerts/silences/{silence['id']}/delete",
        headers={"sec-fetch-site": "cross-site"},
        follow_redirects=False,
    )
    assert other_site.status_code == 403
    assert client.post(f"/alerts/silences/{silence['id']}/delete", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/alerts").json()["silences"] == []


def test_channel_form_refuses_a_bad_url_and_adds_a_good_one(client: TestClient) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    bad = client.post("/alerts/channels", content="type=webhook&name=ops&target=ftp%3A%2F%2Fx", headers=form)
    assert bad.status_code == 422
    assert "http:// or https://" in bad.text
    good = client.post(
        "/alerts/channels",
        content="type=slack&name=ops&target=https%3A%2F%2Fhooks.example.com%2Fx",
        headers=form,
        follow_redirects=False,
    )
    assert good.status_code == 303
    page = client.get("/alerts/channels").text
    assert "ops" in page
    assert "Send test" in page
    assert "https://hooks.example.com/x" in page
