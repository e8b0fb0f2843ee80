"""Each native alert rule fires and resolves on crafted runs, evaluated with a controlled clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobdeck.alerts import rules
from jobdeck.alerts.evaluator import Evaluator
from jobdeck.events import Event, make_event
from jobdeck.recorder import Recorder
from jobdeck.scheduler import book
from jobdeck.scheduler.spec import ScheduleSpec
from jobdeck.store import Store
from jobdeck.store import alerts as store_alerts
from jobdeck.store import channels as store_channels

NOW = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
_ids = iter(range(10**9))


def run(
    job: str,
    start: datetime,
    duration: float | None = 1.0,
    status: str = "succeeded",
    queue: str | None = None,
    **fields: Any,
) -> list[Event]:
    """One run's events; `duration` None leaves it running; status 'pending' only enqueues it."""
    rid = f"{job}-{next(_ids)}"
    if status == "pending":
        return [make_event(rid, "enqueued", start, {"job": job, "queue": queue})]
    events = [make_event(rid, "started", start, {"job": job, "queue": queue})]
    if duration is not None:
        events.append(make_event(rid, status, start + timedelta(seconds=duration), fields))
    return events


def state(store: Store, rule: str, subject: str) -> str:
    with store.read() as conn:
        found = store_alerts.states(conn).get((rule, subject))
    return found["state"] if found else "ok"


class Clock:
    """Evaluations at chosen times, each a fresh turn of the evaluation slot."""

    def __init__(self, store: Store) -> None:
        self.evaluator = Evaluator(store, every_s=1)

    def at(self, when: datetime) -> None:
        assert self.evaluator.run_once(when).claimed


def test_failure_rates_fire_and_resolve(store: Store, recorder: Recorder) -> None:
    events = []
    for i in range(10):
        events += run(
            "sync", NOW - timedelta(minutes=4, seconds=-10 * i), 2, "failed" if i < 6 else "succeeded"
        )
    recorder.record(events)
    clock = Clock(store)
    clock.at(NOW)
    assert state(store, "BackgroundJobCriticalFailureRate", "sync") == "firing"  # critical: at once
    assert state(store, "BackgroundJobFailing", "sync") == "pending"  # a warning holds first
    clock.at(NOW + timedelta(minutes=3))
    assert state(store, "BackgroundJobFailing", "sync") == "pending"
    clock.at(NOW + timedelta(minutes=5, seconds=1))
    assert state(store, "BackgroundJobFailing", "sync") == "firing"
    recorder.record(run("sync", NOW + timedelta(minutes=20), 2))
    clock.at(NOW + timedelta(minutes=21))
    assert state(store, "BackgroundJobFailing", "sync") == "resolved"
    assert state(store, "BackgroundJobCriticalFailureRate", "sync") == "resolved"
    with store.read() as conn:
        changes = [(h["rule"], h["state"]) for h in store_alerts.history(conn) if h["subject"] == "sync"]
    assert changes.count(("BackgroundJobFailing", "firing")) == 1  # deduplicated: one firing, not one a pass


def test_a_six_hourly_job_is_late_after_its_interval_plus_grace_not_after_two_hours(
    store: Store, recorder: Recorder
) -> None:
    last = NOW - timedelta(hours=1)
    events = []
    for i in range(8):
        events += run("report", last - timedelta(hours=6 * i), 30)
    events += run("irregular", NOW - timedelta(hours=1), 30)  # no history to learn from: fixed 2 h
    recorder.record(events)
    clock = Clock(store)
    clock.at(last + timedelta(hours=2, minutes=5))
    assert state(store, "BackgroundJobNotRunning", "report") == "ok"
    assert state(store, "BackgroundJobNotRunning", "irregular") == "firing"
    clock.at(last + timedelta(hours=6, minutes=30))  # within 6 h + grace (36 min)
    assert state(store, "BackgroundJobNotRunning", "report") == "ok"
    clock.at(last + timedelta(hours=6, minutes=37))
    assert state(store, "BackgroundJobNotRunning", "report") == "firing"
    recorder.record(run("report", last + timedelta(hours=6, minutes=38), 30))
    clock.at(last + timedelta(hours=6, minutes=40))
    assert state(store, "BackgroundJobNotRunning", "report") == "resolved"


def test_a_job_with_a_jobdeck_schedule_is_late_by_its_schedule(store: Store, recorder: Recorder) -> None:
    """No history to learn from, no declaration: its jobdeck schedule (every 6 h, and a cron one that
    is paused) gives the interval; a declaration from code would win over it."""

    def schedule(name: str, **fields: Any) -> ScheduleSpec:
        target = {"type": "command", "command": ["true"]}
        return ScheduleSpec.model_validate({"name": name, "job": "export", "target": target, **fields})

    made = NOW - timedelta(days=1)
    book.create(store, schedule("export every 6h", kind="interval", every_s=6 * 3600), made)
    book.create(store, schedule("paused", kind="cron", cron="* * * * *", paused=True), made)
    recorder.record(run("export", NOW - timedelta(hours=1), 30))
    clock = Clock(store)
    clock.at(NOW + timedelta(hours=2))
    assert state(store, "BackgroundJobNotRunning", "export") == "ok"  # not the fixed 2 h
    clock.at(NOW + timedelta(hours=5, minutes=30))  # 6 h 30 min after: within 6 h + grace (36 min)
    assert state(store, "BackgroundJobNotRunning", "export") == "ok"
    clock.at(NOW + timedelta(hours=5, minutes=37))
    assert state(store, "BackgroundJobNotRunning", "export") == "firing"
    with store.read() as conn:
        detail = store_alerts.states(conn)[("BackgroundJobNotRunning", "export")]
    assert "scheduled interval 6" in detail["message"], detail["message"]


def test_critically_stale_fires_at_once(store: Store, recorder: Recorder) -> None:
    recorder.record(run("old", NOW - timedelta(hours=25), 5))
    clock = Clock(store)
    clock.at(NOW)
    assert state(store, "BackgroundJobCriticallyStale", "old") == "firing"
    recorder.record(run("old", NOW + timedelta(minutes=1), 5))
    clock.at(NOW + timedelta(minutes=2))
    assert state(store, "BackgroundJobCriticallyStale", "old") == "resolved"


def test_duration_rules_fire_and_resolve(store: Store, recorder: Recorder) -> None:
    recorder.record(
        run("slow", NOW - timedelta(minutes=14), 700) + run("slow", NOW - timedelta(minutes=20), 650)
    )
    clock = Clock(store)
    clock.at(NOW)
    assert state(store, "BackgroundJobCriticalDuration", "slow") == "firing"
    assert state(store, "BackgroundJobHighDuration", "slow") == "pending"
    recorder.record(run("slow", NOW + timedelta(minutes=1), 20))
    clock.at(NOW + timedelta(minutes=15))
    assert state(store, "BackgroundJobCriticalDuration", "slow") == "resolved"
    assert state(store, "BackgroundJobHighDuration", "slow") == "ok"  # never held long enough


def test_item_failures_and_consecutive_failures(store: Store, recorder: Recorder) -> None:
    events = run("items", NOW - timedelta(minutes=2), 1, items_succeeded=70, items_failed=30)
    for i in range(3):
        events += run("flaky", NOW - timedelta(minutes=9 - i), 1, "failed")
    recorder.record(events)
    clock = Clock(store)
    clock.at(NOW)
    assert state(store, "BackgroundJobHighItemFailureRate", "items") == "pending"
    assert state(store, "BackgroundJobConsecutiveFailures", "flaky") == "firing"
    clock.at(NOW + timedelta(minutes=5))
    assert state(store, "BackgroundJobHighItemFailureRate", "items") == "firing"
    recorder.record(run("flaky", NOW + timedelta(minutes=6), 1) + run("items", NOW + timedelta(minutes=6), 1))
    clock.at(NOW + timedelta(minutes=17))
    assert state(store, "BackgroundJobConsecutiveFailures", "flaky") == "resolved"
    assert state(store, "BackgroundJobHighItemFailureRate", "items") == "resolved"


def test_too_short_too_frequent_and_overrunning(store: Store, recorder: Recorder) -> None:
    events = []
    for i in range(12):
        start = NOW - timedelta(hours=12 - i)
        events += run("hourly", start, 100)
        events += run("steady", start + timedelta(minutes=5), 60)
    events += run("hourly", NOW - timedelta(minutes=50), 0.1)  # "succeeded" at once, 10 min after the last
    events += run("steady", NOW - timedelta(seconds=200), None)  # still running after 200 s (p99 ~ 60 s)
    recorder.record(events)
    clock = Clock(store)
    clock.at(NOW)
    assert state(store, "BackgroundJobTooShort", "hourly") == "firing"
    assert state(store, "BackgroundJobTooFrequent", "hourly") == "firing"
    assert state(store, "BackgroundJobOverrunning", "steady") == "firing"
    assert state(store, "BackgroundJobTooShort", "steady") == "ok"
    with store.read() as conn:
        message = store_alerts.states(conn)[("BackgroundJobOverrunning", "steady")]["message"]
    assert message.startswith("run steady-")
    events = run("hourly", NOW + timedelta(minutes=10), 100)
    recorder.record(events)
    clock.at(NOW + timedelta(minutes=12))
    assert state(store, "BackgroundJobTooShort", "hourly") == "resolved"
    assert state(store, "BackgroundJobTooFrequent", "hourly") == "resolved"


def test_queue_rules(store: Store, recorder: Recorder) -> None:
    clock = Clock(store)
    recorder.record(
        [
            e
            for i in range(150)
            for e in run("enqueue", NOW - timedelta(minutes=1), status="pending", queue="mail")
        ]
    )
    clock.at(NOW)
    recorder.record([e for i in range(20) for e in run("enqueue", NOW, status="pending", queue="mail")])
    clock.at(NOW + timedelta(minutes=1))
    assert state(store, "BackgroundJobQueueGrowing", "mail") == "pending"
    recorder.record([e for i in range(900) for e in run("enqueue", NOW, status="pending", queue="mail")])
    clock.at(NOW + timedelta(minutes=2))
    assert state(store, "BackgroundJobCriticalQueueSize", "mail") == "firing"


def test_a_declared_schedule_flags_a_missed_run(store: Store, recorder: Recorder) -> None:
    due = NOW.replace(minute=0)
    with store.write() as conn:
        store_alerts.set_expectation(
            conn,
            {
                "job": "nightly",
                "schedule": "0 * * * *",
                "timezone": "Europe/Berlin",
                "grace_s": 300,
                "updated_at": NOW,
            },
        )
    recorder.record(run("nightly", due - timedelta(hours=1), 30))
    clock = Clock(store)
    clock.at(due + timedelta(minutes=4))
    assert state(store, "BackgroundJobMissed", "nightly") == "ok"
    clock.at(due + timedelta(minutes=6))
    assert state(store, "BackgroundJobMissed", "nightly") == "firing"
    recorder.record(run("nightly", due + timedelta(minutes=7), 30))
    clock.at(due + timedelta(minutes=8))
    assert state(store, "BackgroundJobMissed", "nightly") == "resolved"


def test_a_silence_holds_notifications_but_not_state(store: Store, recorder: Recorder) -> None:
    with store.write() as conn:
        store_channels.add_channel(conn, "webhook", "ops", "http://127.0.0.1:9/hook", NOW)
        store_alerts.add_silence(
            conn,
            {
                "job": "quiet",
                "starts_at": NOW - timedelta(hours=1),
                "ends_at": NOW + timedelta(hours=1),
                "created_at": NOW,
            },
        )
    recorder.record(run("quiet", NOW - timedelta(hours=25), 1) + run("loud", NOW - timedelta(hours=25), 1))
    result = Evaluator(store, every_s=1).run_once(NOW)
    assert state(store, "BackgroundJobCriticallyStale", "quiet") == "firing"
    assert state(store, "BackgroundJobCriticallyStale", "loud") == "firing"
    with store.read() as conn:
        sent_about = {d["subject"] for d in store_channels.deliveries(conn)}
    assert sent_about == {"loud"}
    assert result.notifications == 2


def test_replicas_take_turns(store: Store, recorder: Recorder) -> None:
    recorder.record(run("old", NOW - timedelta(hours=25), 5))
    first, second = Evaluator(store, every_s=60), Evaluator(store, every_s=60)
    assert first.run_once(NOW).claimed
    assert not second.run_once(NOW + timedelta(seconds=1)).claimed
    assert second.run_once(NOW + timedelta(seconds=60)).claimed
    with store.read() as conn:
        firing = [h for h in store_alerts.history(conn) if h["state"] == "firing"]
    assert len(firing) == len({(h["rule"], h["subject"]) for h in firing})


def test_replicas_evaluating_at_once_claim_one_turn(store: Store, recorder: Recorder) -> None:
    recorder.record(run("old", NOW - timedelta(hours=25), 5))
    evaluators = [Evaluator(store, every_s=60) for _ in range(4)]
    barrier = threading.Barrier(len(evaluators))
    claimed: list[bool] = []

    def evaluate(evaluator: Evaluator) -> None:
        barrier.wait()
        claimed.append(evaluator.run_once(NOW).claimed)

    threads = [threading.Thread(target=evaluate, args=(e,)) for e in evaluators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(claimed) == [False, False, False, True]
    with store.read() as conn:
        assert (
            len([h for h in store_alerts.history(conn) if h["rule"] == "BackgroundJobCriticallyStale"]) == 1
        )


def test_a_rule_that_fails_does_not_stop_the_others(
    store: Store, recorder: Recorder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> rules.Check:
        raise ZeroDivisionError("odd data")

    monkeypatch.setitem(rules.JOB_RULES, "BackgroundJobFailing", broken)
    recorder.record(run("old", NOW - timedelta(hours=25), 5))
    result = Evaluator(store, every_s=1).run_once(NOW)
    assert result.claimed
    assert ("BackgroundJobCriticallyStale", "old", "firing") in result.changes
    assert "alert rule BackgroundJobFailing failed for job old" in caplog.text
