"""The app's one lifespan: every background service starts once, in the stated order, and stops once,
in reverse; when one fails to start, those before it are stopped and none after it starts."""

from __future__ import annotations

import logging
import threading

import pytest
from fastapi.testclient import TestClient

from jobdeck.config import Settings
from jobdeck.services import Services
from jobdeck.store import Store
from jobdeck.web.app import create_app


def stated_order(store: Store) -> list[str]:
    """What create_app's docstring states: the store's upkeep, live updates, the alert evaluator and
    its sender, the control plane; then the queue sampler (web/api/queues.install)."""
    upkeep = ["wal checkpoint"] if store.backend == "sqlite" else []
    return [
        *upkeep,
        "retention cleanup",
        "live updates",
        "alert evaluation",
        "alert delivery",
        "control plane",
        "queue sampler",
    ]


def service_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "jobdeck.services"]


def loop_threads() -> set[str]:
    return {
        t.name
        for t in threading.enumerate()
        if t.name in ("jobdeck-wal checkpoint", "jobdeck-retention cleanup")
    }


class CannotStart:
    name = "cannot start"

    async def start(self) -> None:
        raise RuntimeError("this service cannot start")

    async def stop(self) -> None:
        raise AssertionError("a service that did not start is not stopped")


def test_every_service_starts_once_in_order_and_stops_once_in_reverse(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jobdeck.services")
    app = create_app(Settings(database_url=store.url, retention_days=30), store)
    names = stated_order(store)
    assert app.state.services.names == names
    with TestClient(app) as client:
        assert service_lines(caplog) == [f"started {name}" for name in names]
        assert client.get("/api/health").status_code == 200
        assert loop_threads() == {
            f"jobdeck-{name}" for name in names if name.endswith(("checkpoint", "cleanup"))
        }
        assert not app.state.live.closed
    assert service_lines(caplog) == [f"started {name}" for name in names] + [
        f"stopped {name}" for name in reversed(names)
    ]
    assert app.state.live.closed
    assert not loop_threads()


@pytest.mark.parametrize("position", [0, 2, 4])
def test_a_service_that_fails_to_start_stops_those_before_it(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture, position: int
) -> None:
    caplog.set_level(logging.INFO, logger="jobdeck.services")
    app = create_app(Settings(database_url=sqlite_store.url, retention_days=30), sqlite_store)
    real = list(app.state.services)
    app.state.services = Services(*real[:position], CannotStart(), *real[position:])
    before = [service.name for service in real[:position]]
    with pytest.raises(RuntimeError, match="this service cannot start"), TestClient(app):
        pytest.fail("the app must not serve")
    assert service_lines(caplog) == [f"started {name}" for name in before] + [
        f"stopped {name}" for name in reversed(before)
    ]
    assert not loop_threads()
    # Live updates start third: a failure before them leaves the broadcaster never run; after, closed.
    assert app.state.live.closed == (position > 2)
