"""The demo workload: a pure, seedable function of (profiles, seed, time range) to valid events."""

from __future__ import annotations

import itertools
import math
import statistics
from bisect import bisect_right
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from jobdeck.demo.profiles import PROFILES, PROFILES_BY_NAME
from jobdeck.demo.workload import PlannedRun, Stream, plan
from jobdeck.domain import EventKind, Status
from jobdeck.events import EventIn, RunState, fold

START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
DAYS = timedelta(days=4)


@pytest.fixture(scope="module")
def history() -> list[PlannedRun]:
    """Four days of runs, planned once for the module (a fixed clock: no `now` anywhere)."""
    return plan(PROFILES, 7, START, START + DAYS)


@pytest.fixture(scope="module")
def states(history: list[PlannedRun]) -> dict[str, RunState]:
    """Each planned run folded as the recorder would fold it."""
    return {run.run_id: fold(run.run_id, [e.to_event() for e in run.events]) for run in history}


def _at(event: EventIn) -> datetime:
    assert event.at is not None
    return event.at


def _first(run: PlannedRun) -> EventIn:
    return run.events[0]


def test_the_same_seed_gives_the_same_events_and_another_seed_others() -> None:
    end = START + timedelta(hours=6)
    once = [e.model_dump() for e in Stream(START, seed=3).advance(end)]
    again = [e.model_dump() for e in Stream(START, seed=3).advance(end)]
    other = [e.model_dump() for e in Stream(START, seed=4).advance(end)]
    assert once == again
    assert once != other
    assert {e["run_id"] for e in once}.isdisjoint({e["run_id"] for e in other})


def test_streaming_in_steps_gives_what_one_backfill_gives() -> None:
    end = START + timedelta(hours=6)
    whole = Stream(START, seed=11).advance(end)
    stepped = Stream(START, seed=11)
    parts: list[EventIn] = []
    at = START
    while at < end:
        at = min(at + timedelta(seconds=97), end)
        parts += stepped.advance(at)
    assert sorted(e.model_dump_json() for e in parts) == sorted(e.model_dump_json() for e in whole)
    assert all(START <= _at(e) < end for e in whole)
    assert [_at(e) for e in whole] == sorted(_at(e) for e in whole)


def test_a_later_range_continues_runs_still_under_way() -> None:
    stream = Stream(START, seed=5)
    first = stream.advance(START + timedelta(hours=3))
    second = stream.advance(START + timedelta(hours=6))
    begun = {e.run_id for e in first}
    assert any(e.run_id in begun for e in second), "some run spans the boundary"
    assert stream.advance(START + timedelta(hours=6)) == []


def test_all_eight_jobs_run_and_scheduled_jobs_keep_their_interval(history: list[PlannedRun]) -> None:
    assert {run.job for run in history} == {p.name for p in PROFILES}
    assert len(PROFILES) == 8
    for profile in PROFILES:
        if not profile.scheduled:
            continue
        firsts = sorted(
            _at(_first(r)) for r in history if r.job == profile.name and not _first(r).parent_run_id
        )
        assert len(firsts) == DAYS // profile.every
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(firsts)]
        every = profile.every.total_seconds()
        assert all(abs(gap - every) < 1.0 for gap in gaps), profile.name
        # Celery beat sends the task just after the slot begins.
        assert all(0 <= (at - START).total_seconds() % every < 1.0 for at in firsts)


def test_the_named_intervals(history: list[PlannedRun]) -> None:
    minutes = {p.name: p.every.total_seconds() / 60 for p in PROFILES if p.scheduled}
    assert minutes == {
        "hot_score_refresh": 5,
        "trending_score_refresh": 60,
        "clip_sync": 15,
        "reputation_tasks": 360,
        "webhook_retry": 1,
        "inventory_sync": 6,
    }
    counts = defaultdict(int)
    for run in history:
        counts[run.job] += 1
    # The event-driven jobs are frequent too.
    assert counts["embedding_generation"] > 4 * 24 * 60
    assert counts["product_sync"] > 4 * 24 * 10


def _durations(runs: list[PlannedRun], states: dict[str, RunState], job: str) -> list[float]:
    found = []
    for run in runs:
        state = states[run.run_id]
        if run.job == job and state.status is Status.SUCCEEDED and state.attempt == 1:
            assert state.duration_s is not None
            found.append(state.duration_s)
    return found


@pytest.mark.parametrize("job", ["hot_score_refresh", "webhook_retry", "inventory_sync"])
def test_durations_are_log_normal_around_the_profile(
    history: list[PlannedRun], states: dict[str, RunState], job: str
) -> None:
    profile = PROFILES_BY_NAME[job]
    durations = _durations(history, states, job)
    logs = [math.log(d) for d in durations]
    assert abs(statistics.fmean(logs) - math.log(profile.median_s)) < 0.05
    assert abs(statistics.stdev(logs) - profile.sigma) < 0.05
    # Skewed to the right: the mean sits above the median, as with real job durations.
    assert statistics.fmean(durations) > statistics.median(durations)


def test_failures_carry_real_looking_tracebacks(history: list[PlannedRun]) -> None:
    failed = [e for run in history for e in run.events if e.event is EventKind.FAILED]
    assert 0.005 < len(failed) / len(history) < 0.05
    for event in failed:
        assert event.error_type
        assert event.error_message
        assert event.traceback
        assert event.traceback.startswith("Traceback (most recent call last):\n  File ")
        assert event.traceback.rstrip().endswith(f"{event.error_type}: {event.error_message}")
    by_job: dict[str, set[str]] = defaultdict(set)
    messages: dict[str, set[str]] = defaultdict(set)
    for run in history:
        for event in run.events:
            if event.event is EventKind.FAILED and event.error_type:
                by_job[run.job].add(event.error_type)
                messages[event.error_type].add(event.error_message or "")
    assert "httpx.ReadTimeout" in by_job["clip_sync"]
    assert "psycopg.errors.DeadlockDetected" in by_job["inventory_sync"]
    assert by_job["product_sync"] == {"KeyError"}
    # Ids and numbers vary from one occurrence to the next.
    assert len(messages["psycopg.errors.DeadlockDetected"]) > 3


def test_every_event_is_valid_and_every_run_tells_a_whole_story(history: list[PlannedRun]) -> None:
    outcomes = {EventKind.SUCCEEDED, EventKind.FAILED}
    for run in history[::7]:
        for event in run.events:
            # Valid as the API would receive it, in JSON.
            assert EventIn.model_validate_json(event.model_dump_json(exclude_none=True)) == event
        kinds = [e.event for e in run.events]
        assert kinds[0] is EventKind.ENQUEUED
        assert _first(run).job == run.job
        assert kinds[-1] in outcomes
        assert kinds.count(kinds[-1]) == 1
        assert EventKind.STARTED in kinds
        state = fold(run.run_id, [e.to_event() for e in run.events])
        assert state.status in (Status.SUCCEEDED, Status.FAILED)
        assert state.fields["worker"].startswith("celery@worker-")
        items = [state.fields.get(f"items_{k}") for k in ("succeeded", "failed", "skipped")]
        assert all(isinstance(n, int) for n in items)


def test_retries_new_runs_and_under_the_same_id(history: list[PlannedRun]) -> None:
    runs = {run.run_id: run for run in history}
    children = [run for run in history if _first(run).parent_run_id]
    assert children
    for child in children:
        parent = runs[str(_first(child).parent_run_id)]
        assert parent.job == child.job
        assert parent.events[-1].event is EventKind.FAILED
        assert _first(child).eta is not None
        assert _first(child).eta > _at(parent.events[-1])
    inline = [run for run in history if any(e.event is EventKind.RETRYING for e in run.events)]
    assert inline
    for run in inline:
        state = fold(run.run_id, [e.to_event() for e in run.events])
        assert state.attempt == 2
        kinds = [e.event for e in run.events if e.event in (EventKind.STARTED, EventKind.RETRYING)]
        assert kinds == [EventKind.STARTED, EventKind.RETRYING, EventKind.STARTED]


def test_items_overlaps_stuck_runs_and_waiting_runs(
    history: list[PlannedRun], states: dict[str, RunState]
) -> None:
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    enqueued, started = [], []
    for run in history:
        state = states[run.run_id]
        assert state.started_at
        assert state.finished_at
        assert state.created_at
        spans[run.job].append((state.started_at, state.finished_at))
        enqueued.append(state.created_at)
        started.append(min(state.starts))
    enqueued.sort()
    started.sort()
    for job in ("clip_sync", "inventory_sync"):
        ordered = sorted(spans[job])
        overlaps = sum(1 for a, b in itertools.pairwise(ordered) if b[0] < a[1])
        assert overlaps >= 3, job
    longest = max((end - start).total_seconds() for start, end in spans["clip_sync"])
    assert longest >= PROFILES_BY_NAME["clip_sync"].time_limit_s, "a stuck clip_sync hit its time limit"
    # At a moment picked every 7 minutes, runs are usually waiting in a queue.
    moments = [START + timedelta(minutes=7 * i) for i in range(1, 1400)]
    waiting = [bisect_right(enqueued, t) - bisect_right(started, t) for t in moments]
    assert statistics.fmean(waiting) >= 1.0
    skipped = [e.items_skipped for run in history for e in run.events if e.event is EventKind.SUCCEEDED]
    assert any(skipped)


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Stream(datetime(2026, 1, 1), seed=1)
