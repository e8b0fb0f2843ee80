"""The scheduler loop on SQLite and PostgreSQL, with a controlled clock: misfire policies after a
downtime, overlap policies, limits, `after`, and each firing a run linked to its schedule."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobdeck.domain import EventKind
from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.scheduler import book
from jobdeck.scheduler.launch import Launcher
from jobdeck.scheduler.loop import LEASE_S, Scheduler
from jobdeck.scheduler.spec import ScheduleSpec
from jobdeck.store import Store
from jobdeck.store import schedules as rows
from jobdeck.store.runs import get_run

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Held(Launcher):
    """Starts nothing: each run stays pending (live) until a test records its outcome."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__(recorder.record)
        self.launched: list[str] = []

    def launch(self, run_id: str, spec: ScheduleSpec) -> None:
        self.launched.append(run_id)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def held(recorder: Recorder) -> Held:
    return Held(recorder)


@pytest.fixture
def scheduler(store: Store, recorder: Recorder, held: Held, clock: Clock) -> Iterator[Scheduler]:
    return Scheduler(store, recorder, held, clock=clock)


def every(seconds: float, **fields: Any) -> ScheduleSpec:
    return ScheduleSpec.model_validate(
        {
            "name": "tick",
            "kind": "interval",
            "every_s": seconds,
            "target": {"type": "command", "command": ["true"]},
        }
        | fields
    )


def firings(store: Store, schedule_id: str) -> list[dict[str, Any]]:
    with store.read() as conn:
        return sorted(rows.history(conn, schedule_id, 10_000), key=lambda f: f["scheduled_at"])


def finish(recorder: Recorder, run_id: str, at: datetime, job: str = "tick") -> None:
    recorder.record([make_event(run_id, EventKind.SUCCEEDED, at, {"job": job})])


# --- misfire policies after a downtime ------------------------------------------------------------


@pytest.mark.parametrize(("policy", "runs"), [("skip", 1), ("once", 2), ("catch_up", 10)])
def test_misfire_policy_after_downtime(
    store: Store, scheduler: Scheduler, held: Held, clock: Clock, policy: str, runs: int
) -> None:
    schedule = book.create(store, every(60, misfire=policy, misfire_grace_s=60), T0)
    assert schedule["next_run_at"] == T0 + timedelta(seconds=60)
    # Down for ten minutes: times 1..9 are past the grace period, time 10 is not.
    clock.at = T0 + timedelta(seconds=605)
    done = scheduler.run_once()
    assert done.fired == runs == len(held.launched)
    states = [f["state"] for f in firings(store, schedule["id"])]
    assert states.count("started") == runs
    assert states.count("skipped") == (1 if policy == "skip" else 0)
    stored = book.get(store, schedule["id"])
    assert stored is not None
    assert stored["next_run_at"] == T0 + timedelta(seconds=660)
    assert not scheduler.run_once()  # nothing more is due


# --- overlap policies -----------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["allow", "skip", "queue"])
def test_overlap_policy(
    store: Store, recorder: Recorder, scheduler: Scheduler, held: Held, clock: Clock, policy: str
) -> None:
    schedule = book.create(store, every(60, overlap=policy), T0)
    clock.at = T0 + timedelta(seconds=60)
    assert scheduler.run_once().fired == 1
    first = held.launched[0]
    clock.at = T0 + timedelta(seconds=120)  # the first run is still pending
    done = scheduler.run_once()
    states = [f["state"] for f in firings(store, schedule["id"])]
    if policy == "allow":
        assert done.fired == 1
        assert states == ["started", "started"]
    elif policy == "skip":
        assert done.skipped == 1
        assert states == ["started", "skipped"]
        assert "still live" in firings(store, schedule["id"])[1]["detail"]
    else:
        assert done.queued == 1
        assert states == ["started", "queued"]
        assert not scheduler.run_once()  # still live: it waits
        finish(recorder, first, clock.at)
        assert scheduler.run_once().dequeued == 1
        assert [f["state"] for f in firings(store, schedule["id"])] == ["started", "started"]
        second = firings(store, schedule["id"])[1]
        assert second["scheduled_at"] == T0 + timedelta(seconds=120)
        assert second["run_id"] == held.launched[1]


# --- limits ---------------------------------------------------------------------------------------


def test_max_executions_end_and_pause(store: Store, scheduler: Scheduler, held: Held, clock: Clock) -> None:
    limited = book.create(store, every(60, name="limited", max_executions=2), T0)
    ending = book.create(store, every(60, name="ending", end_at=(T0 + timedelta(seconds=90)).isoformat()), T0)
    paused = book.create(store, every(60, name="paused", paused=True), T0)
    assert paused["next_run_at"] is None
    clock.at = T0 + timedelta(seconds=300)
    scheduler.run_once()
    assert len(firings(store, limited["id"])) == 2
    assert len(firings(store, ending["id"])) == 1
    assert firings(store, paused["id"]) == []
    for schedule in (limited, ending):
        stored = book.get(store, schedule["id"])
        assert stored is not None
        assert stored["next_run_at"] is None


def test_skip_dates(store: Store, scheduler: Scheduler, held: Held, clock: Clock) -> None:
    spec = every(3600, skip_dates=["2026-06-01"], timezone="Europe/Berlin", misfire="catch_up")
    schedule = book.create(store, spec, T0)
    # 2026-06-02 00:00 in Berlin is 22:00 UTC on the 1st: the first time after the skipped date.
    assert schedule["next_run_at"] == datetime(2026, 6, 1, 22, tzinfo=UTC)


# --- runs, after, run now, refusals ---------------------------------------------------------------


def test_a_firing_is_a_run_linked_to_its_schedule(
    store: Store, scheduler: Scheduler, held: Held, clock: Clock
) -> None:
    schedule = book.create(store, every(60, job="nightly"), T0)
    clock.at = T0 + timedelta(seconds=61)
    scheduler.run_once()
    with store.read() as conn:
        run = get_run(conn, held.launched[0])
    assert run is not None
    assert (run["job"], run["schedule_id"], run["status"], run["source"]) == (
        "nightly",
        schedule["id"],
        "pending",
        "local",
    )
    assert run["eta"] == T0 + timedelta(seconds=60)


def test_after_fires_once_per_success(
    store: Store, recorder: Recorder, scheduler: Scheduler, held: Held, clock: Clock
) -> None:
    spec = ScheduleSpec.model_validate(
        {"name": "report", "after": "etl", "target": {"type": "command", "command": ["true"]}}
    )
    schedule = book.create(store, spec, T0)
    assert schedule["next_run_at"] is None
    recorder.record([make_event("etl-1", EventKind.STARTED, T0 + timedelta(seconds=5), {"job": "etl"})])
    assert scheduler.run_once().fired == 0
    finish(recorder, "etl-1", T0 + timedelta(seconds=9), "etl")
    recorder.record([make_event("etl-2", EventKind.FAILED, T0 + timedelta(seconds=9), {"job": "etl"})])
    assert scheduler.run_once().fired == 1
    assert scheduler.run_once().fired == 0
    assert [f["scheduled_at"] for f in firings(store, schedule["id"])] == [T0 + timedelta(seconds=9)]


def test_run_now_ignores_times_and_paused(store: Store, scheduler: Scheduler, held: Held) -> None:
    schedule = book.create(store, every(3600, paused=True), T0)
    fired = scheduler.fire_now(schedule["id"])
    assert fired is not None
    assert held.launched == [fired.run_id]
    assert scheduler.fire_now("no-such-schedule") is None


def test_celery_targets_without_a_broker_are_refused_with_a_reason(
    store: Store, scheduler: Scheduler, clock: Clock
) -> None:
    spec = every(60, target={"type": "celery", "task": "app.tasks.sync"})
    schedule = book.create(store, spec, T0)
    clock.at = T0 + timedelta(seconds=60)
    assert scheduler.run_once().refused == 1
    [firing] = firings(store, schedule["id"])
    assert firing["state"] == "refused"
    assert "no Celery broker is configured" in firing["detail"]
    assert firing["run_id"] is None


def test_a_firing_claimed_by_a_dead_scheduler_is_started(
    store: Store, recorder: Recorder, held: Held, clock: Clock
) -> None:
    schedule = book.create(store, every(60), T0)

    class Dies(Held):
        def launch(self, run_id: str, spec: ScheduleSpec) -> None:
            raise SystemExit("killed between the claim and the start")

    clock.at = T0 + timedelta(seconds=60)
    with pytest.raises(SystemExit):
        Scheduler(store, recorder, Dies(recorder), clock=clock).run_once()
    [firing] = firings(store, schedule["id"])
    assert firing["state"] == "pending"
    other = Scheduler(store, recorder, held, clock=clock)
    clock.at += timedelta(seconds=LEASE_S / 2)
    assert other.run_once().recovered == 0  # its lease has not run out
    clock.at += timedelta(seconds=LEASE_S)
    assert other.run_once().recovered == 1
    assert held.launched == [firing["run_id"]]
    assert next(f["state"] for f in firings(store, schedule["id"])) == "started"


def test_two_schedulers_fire_each_time_once(store: Store, recorder: Recorder, clock: Clock) -> None:
    schedule = book.create(store, every(1, misfire="catch_up", misfire_grace_s=3600), T0)
    clock.at = T0 + timedelta(seconds=300)
    launchers = [Held(recorder), Held(recorder)]
    schedulers = [Scheduler(store, recorder, launcher, clock=clock, batch=1) for launcher in launchers]
    threads = [threading.Thread(target=s.run_once) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times = [f["scheduled_at"] for f in firings(store, schedule["id"])]
    assert times == [T0 + timedelta(seconds=s) for s in range(1, 301)]
    assert sum(len(launcher.launched) for launcher in launchers) == 300
