"""Cleanup deletes old finished runs in batches, keeps hour and day rollups, and verification still holds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from jobdeck.background import retention as retention_loop
from jobdeck.cli import app
from jobdeck.config import Settings
from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store, reports, verify
from jobdeck.store.retention import cleanup, horizon
from jobdeck.store.schema import rollups, runs
from jobdeck.web.app import create_app

NOW = datetime.now(UTC).replace(microsecond=0)


def record_days(recorder: Recorder, days: int = 10) -> None:
    batch = []
    for day in range(days):
        for i in range(7):
            rid, start = f"d{day}-{i}", NOW - timedelta(days=day, minutes=10 * i)
            batch += [
                make_event(rid, "started", start, {"job": f"job{i % 2}"}),
                make_event(rid, "succeeded", start + timedelta(seconds=i + 1), {}),
            ]
    # A run stuck for weeks is live: cleanup leaves it for the stale-run sweeper.
    batch.append(make_event("stuck", "started", NOW - timedelta(days=9), {"job": "job0"}))
    recorder.record(batch)


def count(store: Store, table: object, *where: object) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]


def test_cleanup_keeps_hour_rollups_and_verification(store: Store, recorder: Recorder) -> None:
    record_days(recorder)
    with store.read() as conn:
        before = reports.stats(conn, NOW - timedelta(days=30), NOW)
    cleaned = cleanup(store, NOW - timedelta(days=5), batch_size=4)
    cutoff = int((NOW - timedelta(days=5)).timestamp()) // 86400 * 86400
    assert cleaned.runs > 4
    assert cleaned.minute_rollups > 0
    assert count(store, runs, runs.c.run_at < datetime.fromtimestamp(cutoff, UTC)) == 1  # the stuck one
    assert count(store, runs) == 71 - cleaned.runs
    assert count(store, rollups, rollups.c.granularity == 60, rollups.c.bucket < cutoff) == 0
    with store.read() as conn:
        assert horizon(conn) == cutoff
        assert verify.differences(conn) == []
        # Long-range counts survive from the hour and day rollups.
        after = reports.stats(conn, NOW - timedelta(days=30), NOW)
    assert after["total"] == before["total"] == 71


def test_cli_and_the_retention_step(store: Store, recorder: Recorder) -> None:
    record_days(recorder, days=3)
    result = CliRunner().invoke(app, ["cleanup", "--older-than", "1d", "--db", store.url])
    assert result.exit_code == 0, result.output
    assert "deleted" in result.output
    assert CliRunner().invoke(app, ["cleanup", "--older-than", "soon", "--db", store.url]).exit_code != 0
    ok = CliRunner().invoke(app, ["verify-rollups", "--db", store.url])
    assert ok.exit_code == 0, ok.output
    assert retention_loop.run_once(store, Settings(database_url=store.url)) is None
    cleaned = retention_loop.run_once(store, Settings(database_url=store.url, retention_days=0.5), now=NOW)
    assert cleaned is not None
    cutoff = int((NOW - timedelta(days=0.5)).timestamp()) // 86400 * 86400
    old = runs.c.run_at < datetime.fromtimestamp(cutoff, UTC)
    assert count(store, runs, old, runs.c.status == "succeeded") == 0
    assert count(store, runs, runs.c.status == "succeeded") >= 7


def test_verify_rollups_reports_a_difference(store: Store, recorder: Recorder) -> None:
    record_days(recorder, days=1)
    with store.write() as conn:
        conn.execute(rollups.update().where(rollups.c.granularity == 3600).values(runs=rollups.c.runs + 1))
    result = CliRunner().invoke(app, ["verify-rollups", "--db", store.url])
    assert result.exit_code == 1
    assert "differs" in result.output


def test_the_app_runs_cleanup_in_the_background_when_retention_is_set(
    store: Store, recorder: Recorder
) -> None:
    record_days(recorder, days=4)
    settings = Settings(database_url=store.url, retention_days=2, cleanup_interval_s=3600)
    with TestClient(create_app(settings, store)):
        for _ in range(100):
            with store.read() as conn:
                if horizon(conn) is not None:
                    break
            time.sleep(0.05)
    with store.read() as conn:
        assert horizon(conn) is not None
        assert verify.differences(conn) == []
