"""The safety sweep on SQLite and PostgreSQL: a run whose heartbeats stopped, or that ran past the
stale threshold, is marked lost (audited, with why on the run); a real outcome after that still wins."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from jobdeck.domain import EventKind
from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.scheduler.safety import REASON_LABEL, Sweeper
from jobdeck.store import Store
from jobdeck.store.runs import get_run

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def started(recorder: Recorder, run_id: str, at: datetime, source: str, job: str = "etl") -> None:
    recorder.record([make_event(run_id, EventKind.STARTED, at, {"job": job, "source": source})])


def status(store: Store, run_id: str) -> str:
    with store.read() as conn:
        run = get_run(conn, run_id)
    assert run is not None
    return str(run["status"])


def test_a_run_without_heartbeats_becomes_lost_and_a_real_outcome_still_wins(
    store: Store, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    sweeper = Sweeper(store, recorder)
    started(recorder, "quiet", NOW - timedelta(minutes=10), "local")
    started(recorder, "beating", NOW - timedelta(minutes=10), "local")
    recorder.record([make_event("beating", EventKind.HEARTBEAT, NOW - timedelta(seconds=30), {"job": "etl"})])
    started(recorder, "celery-task", NOW - timedelta(minutes=10), "celery")  # sends no heartbeats
    with caplog.at_level(logging.INFO, logger="jobdeck.audit"):
        marked = sweeper.sweep(NOW)
    assert [m.run_id for m in marked] == ["quiet"]
    assert "no heartbeat for 600 s" in marked[0].reason
    assert any("mark-lost" in r.message and "'quiet'" in r.message for r in caplog.records)
    with store.read() as conn:
        run = get_run(conn, "quiet")
    assert run is not None
    assert run["status"] == "lost"
    assert "no heartbeat" in run["labels"][REASON_LABEL]
    assert status(store, "beating") == "running"
    assert status(store, "celery-task") == "running"
    assert sweeper.sweep(NOW + timedelta(seconds=1)) == []  # marked once
    # The run was alive after all: its real outcome wins over the sweeper's guess.
    recorder.record([make_event("quiet", EventKind.SUCCEEDED, NOW + timedelta(minutes=1), {"job": "etl"})])
    assert status(store, "quiet") == "succeeded"


def test_runs_past_the_stale_threshold_are_lost_per_job(store: Store, recorder: Recorder) -> None:
    sweeper = Sweeper(store, recorder, stale_after_s=6 * 3600, stale_after_by_job={"backup": 3600})
    started(recorder, "long", NOW - timedelta(hours=7), "celery")
    started(recorder, "not-yet", NOW - timedelta(hours=5), "celery")
    started(recorder, "backup", NOW - timedelta(hours=2), "celery", job="backup")
    marked = {m.run_id: m.reason for m in sweeper.sweep(NOW)}
    assert set(marked) == {"long", "backup"}
    assert "after 6 h" in marked["long"]
    assert "after 1 h" in marked["backup"]


def test_cleanup_stale_and_health_through_the_api(client: TestClient, recorder: Recorder) -> None:
    now = datetime.now(UTC)
    started(recorder, "stuck", now - timedelta(hours=1), "sdk")
    health = client.get("/api/v1/safety/health").json()
    assert health["stuck_runs"]["run_ids"] == ["stuck"]
    assert health["status"] == "degraded"
    assert health["store"]["ok"] is True
    assert "lag_s" in health["scheduler"]
    cleaned = client.post("/api/v1/safety/cleanup-stale").json()
    assert cleaned["count"] == 1
    assert cleaned["marked"][0]["run_id"] == "stuck"
    assert client.get("/api/v1/runs/stuck").json()["status"] == "lost"
    after = client.get("/api/v1/safety/health").json()
    assert after["stuck_runs"]["count"] == 0
    assert after["last_sweep"]["marked"] == ["stuck"]
