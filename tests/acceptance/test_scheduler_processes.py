"""`jobdeck scheduler` processes on one PostgreSQL store: an every-second schedule fires each second
once (none twice, none missed) with two and three schedulers, and with one killed by SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from jobdeck.scheduler import book
from jobdeck.scheduler.loop import MAX_SLEEP_S
from jobdeck.scheduler.spec import ScheduleSpec
from jobdeck.store import Store
from jobdeck.store import schedules as rows
from jobdeck.store.schema import runs
from tests.acceptance.test_cli import JOBDECK, _env
from tests.services import fresh_pg_database

pytestmark = pytest.mark.slow

SECONDS = 20  # the suite's length; bench/scheduler_processes.py runs a minute
# The schedule is made once the processes are ready, and starts after their longest sleep (a
# schedule made by another process is seen when a scheduler next wakes).
LEAD_S = MAX_SLEEP_S + 1


@pytest.fixture
def pg_store() -> Iterator[Store]:
    with fresh_pg_database() as url:
        store = Store(url)
        store.migrate()
        yield store
        store.close()


@contextmanager
def schedulers(url: str, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes = [
        subprocess.Popen([JOBDECK, "scheduler", "--db", url], env=_env(), stderr=subprocess.PIPE)
        for _ in range(count)
    ]
    try:
        for process in processes:  # ready once it says so (start-up is slow on a loaded machine)
            assert process.stderr is not None
            assert b"running" in process.stderr.readline()
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr is not None:
                process.stderr.close()


def every_second(store: Store) -> tuple[str, datetime]:
    start = (datetime.now(UTC) + timedelta(seconds=LEAD_S)).replace(microsecond=0)
    spec = ScheduleSpec.model_validate(
        {
            "name": "every second",
            "kind": "interval",
            "every_s": 1,
            "start_at": start.isoformat(),
            "end_at": (start + timedelta(seconds=SECONDS - 1)).isoformat(),
            "misfire": "catch_up",
            "target": {"type": "command", "command": ["true"]},
        }
    )
    return book.create(store, spec)["id"], start


def wait_for_firings(store: Store, schedule_id: str, start: datetime) -> list[datetime]:
    deadline = start + timedelta(seconds=SECONDS + 30)
    while datetime.now(UTC) < deadline:
        with store.read() as conn:
            times = rows.fired_times(conn, schedule_id, ["pending", "started"])
        if len(times) >= SECONDS and datetime.now(UTC) > start + timedelta(seconds=SECONDS + 1):
            return times
        time.sleep(0.5)
    return times


def check_each_second_once(store: Store, schedule_id: str, start: datetime) -> list[dict[str, object]]:
    times = wait_for_firings(store, schedule_id, start)
    assert times == [start + timedelta(seconds=s) for s in range(SECONDS)]  # none twice, none missed
    with store.read() as conn:
        fired = rows.history(conn, schedule_id, 1000)
        linked = conn.execute(runs.select().where(runs.c.schedule_id == schedule_id)).all()
    assert len({f["run_id"] for f in fired}) == SECONDS == len(linked)
    return fired


@pytest.mark.parametrize("count", [2, 3])
def test_schedulers_fire_each_second_once(pg_store: Store, count: int) -> None:
    with schedulers(pg_store.url, count):
        schedule_id, start = every_second(pg_store)
        fired = check_each_second_once(pg_store, schedule_id, start)
    lags = [(f["fired_at"] - f["scheduled_at"]).total_seconds() for f in fired]
    assert max(lags) < 1, lags


def test_a_scheduler_killed_mid_loop_loses_no_firing(pg_store: Store) -> None:
    with schedulers(pg_store.url, 2) as processes:
        schedule_id, start = every_second(pg_store)
        time.sleep(LEAD_S + SECONDS / 3)
        os.kill(processes[0].pid, signal.SIGKILL)
        processes[0].wait()
        # A replacement comes up in its place, as a supervisor would start it.
        processes.append(
            subprocess.Popen(
                [JOBDECK, "scheduler", "--db", pg_store.url], env=_env(), stderr=subprocess.DEVNULL
            )
        )
        fired = check_each_second_once(pg_store, schedule_id, start)
    # A firing the killed one claimed but had not started yet is started by another after its lease.
    assert sum(f["state"] == "pending" for f in fired) <= 1
