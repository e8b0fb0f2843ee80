"""A Celery app's beat schedule becomes each beat task's expectation without configuration:
`instrument(app)` declares it through the SDK (HTTP, POST /api/v1/expectations), the store holds it,
and BackgroundJobMissed / BackgroundJobNotRunning judge the tasks by it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from celery.schedules import crontab
from fastapi.testclient import TestClient

from jobdeck.integrations.celery.instrumentation import instrument, uninstrument
from jobdeck.recorder import Recorder
from jobdeck.sdk import HttpTransport, configure, shutdown
from jobdeck.store import Store
from tests.integration.test_alert_rules import Clock, run, state

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


@pytest.fixture
def sdk(client: TestClient, tmp_path: Path) -> Iterator[None]:
    configure(
        transport=HttpTransport("http://testserver", client=client),
        spool_dir=tmp_path,
        heartbeat_interval_s=0,
    )  # type: ignore[arg-type]
    yield
    shutdown(timeout=2)


def declared(client: TestClient) -> dict[str, dict[str, Any]]:
    reply = client.get("/api/v1/expectations")
    assert reply.status_code == 200, reply.text
    return {e["job"]: e for e in reply.json()["expectations"]}


def test_instrument_declares_the_beat_schedule_and_the_alerts_use_it(
    sdk: None, client: TestClient, store: Store, recorder: Recorder
) -> None:
    app = Celery("beat_app", broker="memory://", set_as_current=False)
    app.conf.timezone = "Europe/Berlin"
    app.conf.beat_schedule = {
        "hourly report": {"task": "tasks.report", "schedule": crontab(minute=0)},
        "sync": {"task": "tasks.sync", "schedule": timedelta(hours=6), "args": (1,)},
    }
    instrumentation = instrument(app)
    try:
        assert instrumentation.beat.thread is not None
        instrumentation.beat.thread.join(15)
        found = declared(client)
        report, sync = found["tasks.report"], found["tasks.sync"]
        assert (report["schedule"], report["timezone"], report["source"]) == (
            "0 * * * *",
            "Europe/Berlin",
            "celery-beat",
        )
        assert (sync["interval_s"], sync["source"]) == (21600.0, "celery-beat")
        assert instrumentation.beat.soon() is None  # the same schedule is not declared twice
    finally:
        uninstrument(app)

    # The hourly task: missed once its hour passed with no run, past the grace (a tenth: 6 min).
    recorder.record(run("tasks.report", NOW - timedelta(hours=1), 30))
    clock = Clock(store)
    clock.at(NOW + timedelta(minutes=5))
    assert state(store, "BackgroundJobMissed", "tasks.report") == "ok"
    clock.at(NOW + timedelta(minutes=7))
    assert state(store, "BackgroundJobMissed", "tasks.report") == "firing"
    recorder.record(run("tasks.report", NOW + timedelta(minutes=8), 30))
    clock.at(NOW + timedelta(minutes=9))
    assert state(store, "BackgroundJobMissed", "tasks.report") == "resolved"

    # The 6-hourly task: not late at the fixed 2 h, late after 6 h and its grace (36 min).
    recorder.record(run("tasks.sync", NOW - timedelta(hours=1), 30))
    clock.at(NOW + timedelta(hours=2))
    assert state(store, "BackgroundJobNotRunning", "tasks.sync") == "ok"
    clock.at(NOW + timedelta(hours=5, minutes=37))
    assert state(store, "BackgroundJobNotRunning", "tasks.sync") == "firing"


def test_a_bad_declaration_is_a_422_naming_the_field(client: TestClient) -> None:
    body = {"expectations": [{"job": "a", "schedule": "@daily"}, {"job": "b", "schedule": "61 * * * *"}]}
    reply = client.post("/api/v1/expectations", json=body)
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["body", "expectations", 1, "schedule"]
    assert declared(client) == {}  # nothing stored
    ok = client.post(
        "/api/v1/expectations", json={"expectations": [{"job": "a", "schedule": "@daily", "grace": "10m"}]}
    )
    assert ok.json() == {"declared": ["a"]}
    assert (declared(client)["a"]["schedule"], declared(client)["a"]["grace_s"]) == ("0 0 * * *", 600.0)


def test_the_celery_beat_command_declares_them(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from jobdeck.cli.main import app as cli
    from jobdeck.store import alerts as store_alerts

    url = f"sqlite:///{tmp_path / 'beat.db'}"
    result = CliRunner().invoke(cli, ["celery-beat", "tests.celery_beat_app:app", "--db", url])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.split()[:6] == ["tasks.morning", "30", "7", "*", "*", "1-5"]
    assert first.split()[6] == "America/New_York"
    store = Store(url)
    with store.read() as conn:
        found = store_alerts.expectations(conn)
    store.close()
    assert (found["tasks.morning"]["schedule"], found["tasks.sync"]["interval_s"]) == ("30 7 * * 1-5", 900.0)
    bad = CliRunner().invoke(cli, ["celery-beat", "tests.no_such_module:app", "--dry-run"])
    assert bad.exit_code == 2
    assert "cannot load" in bad.output
