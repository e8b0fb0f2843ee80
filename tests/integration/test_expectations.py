"""Expectations declared from code: @track's schedule fields reach the server on the start event,
create the job's expectation, and a missed run alerts against it; bad declarations are 422s."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import jobdeck
from jobdeck.alerts import expectations
from jobdeck.alerts.evaluator import Evaluator
from jobdeck.sdk import configure, shutdown, track
from jobdeck.sdk.transport import EventDict
from jobdeck.store import Store
from jobdeck.store import alerts as store_alerts


class ToServer:
    """An SDK transport that posts each batch to the test app."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def send(self, events: Sequence[EventDict]) -> None:
        assert self.client.post("/api/v1/events", json=list(events)).status_code == 202

    def close(self) -> None:
        pass


@pytest.fixture
def sdk(client: TestClient, tmp_path: Path) -> Iterator[None]:
    configure(transport=ToServer(client), spool_dir=tmp_path, heartbeat_interval_s=0)
    yield
    shutdown(timeout=2)


def expectation(store: Store, job: str) -> dict[str, object] | None:
    with store.read() as conn:
        return store_alerts.expectations(conn).get(job)


def test_track_declares_the_expectation_and_a_missed_run_alerts(sdk: None, store: Store) -> None:
    @track("nightly", schedule="0 2 * * *", timezone="Europe/Berlin", grace="10m", max_runtime="1h")
    def nightly() -> None:
        pass

    nightly()
    assert jobdeck.flush(5)
    found = expectation(store, "nightly")
    assert found is not None
    assert (found["schedule"], found["timezone"], found["grace_s"], found["max_runtime_s"]) == (
        "0 2 * * *", "Europe/Berlin", 600.0, 3600.0,
    )  # fmt: skip
    # A later declaration updates it.
    with track.run("nightly", schedule="every 6h", grace=120):
        pass
    assert jobdeck.flush(5)
    found = expectation(store, "nightly")
    assert found is not None
    assert found["schedule"] is None
    assert found["interval_s"] == 6 * 3600
    # Due 6 h after the run just made, missed 2 minutes later.
    now = datetime.now(UTC)
    evaluator = Evaluator(store, every_s=1)
    evaluator.run_once(now + timedelta(hours=6, minutes=1))
    with store.read() as conn:
        assert ("BackgroundJobMissed", "nightly") not in store_alerts.states(conn)
    evaluator.run_once(now + timedelta(hours=6, minutes=3))
    with store.read() as conn:
        assert store_alerts.states(conn)[("BackgroundJobMissed", "nightly")]["state"] == "firing"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"schedule": "every day at 2"}, "schedule"),
        ({"schedule": "0 2 * * *", "timezone": "Europe/Nowhere"}, "timezone"),
        ({"schedule": "0 2 * * *", "grace": "ten minutes"}, "grace"),
        ({"schedule": "0 2 * * *", "max_runtime": -5}, "max_runtime"),
    ],
)
def test_bad_declarations_are_refused(
    client: TestClient, store: Store, fields: dict[str, object], field: str
) -> None:
    event = {"run_id": "r1", "event": "started", "job": "nightly", **fields}
    refused = client.post("/api/v1/events", json=[event])
    assert refused.status_code == 422
    assert f"field '{field}'" in refused.json()["detail"]
    assert expectation(store, "nightly") is None
    assert client.get("/api/v1/runs/r1").status_code == 404


def test_durations() -> None:
    assert expectations.seconds_of("1h30m", "grace") == 5400
    assert expectations.seconds_of(90, "grace") == 90
    with pytest.raises(expectations.BadExpectation):
        expectations.seconds_of("5 parsecs", "grace")
