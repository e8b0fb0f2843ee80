"""Pings: `/ping/{job}` and its start, fail, log and exit-code forms, with and without `rid`, their
bodies as output, the schedules they declare, the job's learned interval, and who may send them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobdeck.alerts import rules
from jobdeck.alerts.evaluator import Evaluator, read_snapshot
from jobdeck.config import Settings
from jobdeck.integrations.pings import signals
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.store import alerts as store_alerts
from jobdeck.web.app import create_app
from tests.auth_helpers import add_token


def runs_of(client: TestClient, job: str) -> list[dict[str, Any]]:
    """The job's runs, oldest first, whole."""
    listed = client.get("/api/v1/runs", params={"job": job, "hours": 1}).json()["runs"]
    return [client.get(f"/api/v1/runs/{run['run_id']}").json() for run in reversed(listed)]


def test_a_success_ping_alone_creates_the_job_with_a_run_of_zero_duration(client: TestClient) -> None:
    answer = client.get("/ping/backup-db")
    assert answer.status_code == 200
    assert answer.text == "OK"
    assert answer.headers["content-type"].startswith("text/plain")
    (run,) = runs_of(client, "backup-db")
    assert run["status"] == "succeeded"
    assert run["source"] == "ping"
    assert run["duration_s"] == 0
    assert run["run_id"].startswith("ping:")
    assert run["labels"] == {"ping.from": "testclient"}


def test_start_then_end_without_rid_pairs_with_the_latest_open_start(client: TestClient) -> None:
    assert client.post("/ping/nightly/start").text == "OK"
    assert client.post("/ping/nightly/start").text == "OK"
    assert client.post("/ping/nightly", content=b"rows: 12\n").text == "OK"
    first, second = runs_of(client, "nightly")
    assert first["status"] == "running"  # the older start is left open
    assert second["status"] == "succeeded"
    assert second["traceback"] == "rows: 12\n"
    page = client.get(f"/runs/{second['run_id']}")
    assert '<h2 id="output-title">Output</h2>' in page.text  # a run that succeeded shows its output too
    assert "rows: 12" in page.text
    assert second["duration_s"] >= 0
    assert client.get("/ping/nightly/fail").text == "OK"  # now ends the older one
    first, second = runs_of(client, "nightly")
    assert first["status"] == "failed"
    assert first["error_type"] == "PingFail"
    assert client.get("/ping/nightly/fail").text == "OK"  # nothing open: a run of zero duration
    assert [run["status"] for run in runs_of(client, "nightly")] == ["failed", "succeeded", "failed"]


def test_rid_pairs_starts_and_ends_of_concurrent_runs(client: TestClient) -> None:
    for rid in ("a", "b"):
        assert client.get("/ping/etl/start", params={"rid": rid}).status_code == 200
    assert (
        client.post("/ping/etl/fail", params={"rid": "a"}, content=b"boom\nKeyError: 'x'\n").status_code
        == 200
    )
    assert client.get("/ping/etl", params={"rid": "b"}).status_code == 200
    a = client.get("/api/v1/runs/ping:etl:a").json()
    b = client.get("/api/v1/runs/ping:etl:b").json()
    assert a["status"] == "failed"
    assert a["error_message"] == "reported failed by a ping: KeyError: 'x'"
    assert a["traceback"] == "boom\nKeyError: 'x'\n"
    assert b["status"] == "succeeded"
    assert len(runs_of(client, "etl")) == 2
    # An end whose rid never started is a run of zero duration under that rid.
    assert client.get("/ping/etl/0", params={"rid": "c"}).status_code == 200
    c = client.get("/api/v1/runs/ping:etl:c").json()
    assert (c["status"], c["duration_s"], c["result"]) == ("succeeded", 0, {"exit_code": 0})


def test_exit_codes(client: TestClient) -> None:
    assert client.get("/ping/cmd/0").text == "OK"
    assert client.post("/ping/cmd/3", content=b"disk full\n").text == "OK"
    ok, failed = runs_of(client, "cmd")
    assert ok["status"] == "succeeded"
    assert failed["status"] == "failed"
    assert failed["result"] == {"exit_code": 3}
    assert failed["error_type"] == "NonZeroExit"
    assert failed["error_message"] == "exit code 3: disk full"


@pytest.mark.parametrize(
    ("path", "params", "says"),
    [
        ("/ping/cmd/256", {}, "bad exit code '256'"),
        ("/ping/cmd/-1", {}, "bad exit code '-1'"),
        ("/ping/cmd/finish", {}, "start, fail, log or an exit code from 0 to 255"),
        ("/ping/" + "j" * 201, {}, "the job name must be 1 to 200 characters"),
        ("/ping/%20", {}, "the job name must be 1 to 200 characters"),
        ("/ping/cmd", {"schedule": "every blue moon"}, "schedule"),
        ("/ping/cmd", {"schedule": "61 * * * *"}, "not a cron expression"),
        ("/ping/cmd", {"schedule": "*/5 * * * *", "tz": "Mars/Olympus"}, "unknown timezone"),
        ("/ping/cmd", {"schedule": "-5"}, "schedule"),
        ("/ping/cmd", {"tz": "UTC"}, "tz and grace go with schedule"),
        ("/ping/cmd", {"schedule": "@reboot"}, "not a cron expression"),
        ("/ping/cmd", {"schedule": "0 3 * * *", "tz": "Europe"}, "unknown timezone 'Europe'"),
    ],
)
def test_bad_pings_are_a_422_with_a_message(
    client: TestClient, path: str, params: dict[str, str], says: str
) -> None:
    answer = client.get(path, params=params)
    assert answer.status_code == 422, answer.text
    assert says in answer.json()["detail"]
    assert client.get("/api/v1/runs", params={"job": "cmd", "hours": 1}).json()["runs"] == []


def test_a_log_ping_adds_output_to_the_open_run_without_ending_it(client: TestClient) -> None:
    client.get("/ping/import/start")
    assert client.post("/ping/import/log", content=b"halfway: 5000 rows").text == "OK"
    (run,) = runs_of(client, "import")
    assert run["status"] == "running"
    assert run["traceback"] == "halfway: 5000 rows"
    client.get("/ping/import")  # an end without a body keeps the logged output
    (run,) = runs_of(client, "import")
    assert (run["status"], run["traceback"]) == ("succeeded", "halfway: 5000 rows")
    client.post("/ping/import/log", content=b"nothing open")  # neither success nor failure
    logged = runs_of(client, "import")[-1]
    assert logged["status"] == "cancelled"
    assert logged["error_type"] == "LogOnly"
    assert logged["traceback"] == "nothing open"


def test_a_large_body_is_cut_with_a_note_and_bytes_that_are_not_utf8_are_escaped(client: TestClient) -> None:
    big = b"x" * 150_000
    assert client.post("/ping/big", content=big).text == "OK"
    (run,) = runs_of(client, "big")
    assert run["traceback"].startswith("x" * 100_000 + "\n")
    assert run["traceback"].endswith("[cut: the body was 150000 bytes; the first 100000 are kept]")
    assert client.post("/ping/latin", content="café\n".encode("latin-1") + b"\x00end").text == "OK"
    (run,) = runs_of(client, "latin")
    assert run["traceback"] == "caf\\xe9\n\ufffdend"


def test_a_cut_that_falls_inside_a_character_keeps_the_text_whole() -> None:
    body = b"a" * (signals.MAX_BODY_BYTES - 1) + "é".encode() * 10
    output = signals.output_of(body[: signals.MAX_BODY_BYTES + 1], len(body))
    assert output is not None
    assert output.startswith("a" * (signals.MAX_BODY_BYTES - 1) + "\n… [cut: the body was")


def test_a_schedule_declares_the_jobs_expectation(client: TestClient, store: Store) -> None:
    assert client.get("/ping/report", params={"schedule": "*/5 * * * *", "tz": "Europe/Berlin"}).text == "OK"
    assert client.get("/ping/every", params={"schedule": "300", "grace": "2m"}).text == "OK"
    assert client.get("/ping/nightly", params={"schedule": "@daily"}).text == "OK"
    with store.read() as conn:
        declared = store_alerts.expectations(conn)
    assert declared["report"]["schedule"] == "*/5 * * * *"
    assert declared["report"]["timezone"] == "Europe/Berlin"
    assert declared["report"]["source"] == "ping"
    assert declared["every"]["interval_s"] == 300
    assert declared["every"]["grace_s"] == 120
    assert declared["nightly"]["schedule"] == "0 0 * * *"


def test_a_job_known_only_from_pings_learns_its_interval_and_is_late_after_it(
    store: Store, recorder: Recorder
) -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    ping = signals.parse("heartbeat-job", None, None)
    for i in range(8):
        at = now - timedelta(minutes=10 * (8 - i))
        recorder.record(
            signals.events_of(ping, signals.run_id_for("heartbeat-job", None), False, at, None, None)
        )
    with store.read() as conn:
        figures = read_snapshot(conn, now).jobs["heartbeat-job"]
    assert rules.expected_interval(figures, now) == (600.0, "learned")
    evaluator = Evaluator(store, every_s=1)
    last = now - timedelta(minutes=10)
    assert evaluator.run_once(last + timedelta(minutes=10, seconds=59)).claimed
    with store.read() as conn:
        assert ("BackgroundJobNotRunning", "heartbeat-job") not in store_alerts.states(conn)
    assert evaluator.run_once(last + timedelta(minutes=11, seconds=1)).claimed  # 600 s + a minute's grace
    with store.read() as conn:
        assert store_alerts.states(conn)[("BackgroundJobNotRunning", "heartbeat-job")]["state"] == "firing"


def test_with_auth_on_a_ping_needs_an_ingest_token(store: Store) -> None:
    token = add_token(store, "cron", "ingest")
    with TestClient(create_app(Settings(database_url=store.url, auth=True), store)) as client:
        refused = client.get("/ping/secure")
        assert refused.status_code == 401
        allowed = client.get("/ping/secure", headers={"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200
        assert allowed.text == "OK"
