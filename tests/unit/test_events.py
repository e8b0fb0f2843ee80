"""The fold: order-tolerant, idempotent, and right about timings and status."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobdeck.domain import EventKind, Status
from jobdeck.events import EventIn, RunState, fold, join, make_event
from jobdeck.store import run_writes
from tests.strategies import BASE, run_events


def _snapshot(events: list) -> tuple:  # type: ignore[type-arg]
    return _snapshot_of(fold("run-1", events))


def _snapshot_of(s: RunState) -> tuple:  # type: ignore[type-arg]
    return (
        s.status,
        s.created_at,
        s.started_at,
        s.finished_at,
        s.duration_s,
        s.attempt,
        s.fields,
        s.top_key,
    )


@given(run_events(), st.randoms(use_true_random=False), st.integers(0, 3))
def test_any_order_and_duplication_folds_to_the_same_run(events, rnd, dups):  # type: ignore[no-untyped-def]
    expected = _snapshot(events)
    shuffled = events + [rnd.choice(events) for _ in range(dups)]
    rnd.shuffle(shuffled)
    assert _snapshot(shuffled) == expected


@given(run_events(), st.randoms(use_true_random=False), st.integers(1, 6))
def test_folding_in_parts_equals_folding_at_once(events, rnd, cut):  # type: ignore[no-untyped-def]
    # A stored run folded onto later: whatever part came first, the run is the same.
    shuffled = list(events)
    rnd.shuffle(shuffled)
    head, tail = shuffled[:cut], shuffled[cut:]
    assert _snapshot_of(fold("run-1", tail, fold("run-1", head))) == _snapshot(events)


def test_succeeded_before_started_gives_one_correct_run() -> None:
    started = make_event("r", "started", BASE, {"job": "j", "worker": "w1"})
    done = make_event("r", "succeeded", BASE + timedelta(seconds=12), {"items_succeeded": 4})
    state = fold("r", [done, started])
    assert state.status is Status.SUCCEEDED
    assert state.started_at == BASE
    assert state.duration_s == 12
    assert state.fields["worker"] == "w1"


def test_terminal_status_never_reverts_to_running() -> None:
    done = make_event("r", "failed", BASE + timedelta(seconds=5), {"job": "j"})
    late_heartbeat = make_event("r", "heartbeat", BASE + timedelta(seconds=60), {})
    assert fold("r", [done, late_heartbeat]).status is Status.FAILED


def test_real_outcome_overrules_lost() -> None:
    lost = make_event("r", "lost", BASE + timedelta(hours=1), {"job": "j"})
    done = make_event("r", "succeeded", BASE + timedelta(seconds=30), {})
    started = make_event("r", "started", BASE, {})
    state = fold("r", [lost, done, started])
    assert state.status is Status.SUCCEEDED
    assert state.duration_s == 30


def test_celery_retry_under_the_same_id_raises_attempt() -> None:
    evs = [
        make_event("r", "started", BASE, {"job": "j"}),
        make_event("r", "retrying", BASE + timedelta(seconds=1), {}),
        make_event("r", "started", BASE + timedelta(seconds=10), {}),
        make_event("r", "succeeded", BASE + timedelta(seconds=13), {}),
    ]
    state = fold("r", evs)
    assert state.attempt == 2
    assert state.started_at == BASE + timedelta(seconds=10)
    assert state.duration_s == 3


def test_started_after_the_outcome_does_not_count_as_the_start() -> None:
    evs = [
        make_event("r", "started", BASE, {"job": "j"}),
        make_event("r", "started", BASE + timedelta(seconds=20), {}),
        make_event("r", "failed", BASE + timedelta(seconds=15), {}),
    ]
    assert fold("r", evs).started_at == BASE


def test_created_at_is_the_earliest_enqueue() -> None:
    evs = [
        make_event("r", "started", BASE, {"job": "j"}),
        make_event("r", "enqueued", BASE + timedelta(seconds=2), {}),
        make_event("r", "enqueued", BASE + timedelta(seconds=1), {}),
    ]
    assert fold("r", evs).created_at == BASE + timedelta(seconds=1)


def test_counters_take_the_maximum_not_the_sum() -> None:
    evs = [
        make_event("r", "progress", BASE, {"job": "j", "items_succeeded": 10}),
        make_event("r", "progress", BASE + timedelta(seconds=1), {"items_succeeded": 25}),
        make_event("r", "succeeded", BASE + timedelta(seconds=2), {"items_succeeded": 25}),
    ]
    assert fold("r", evs).fields["items_succeeded"] == 25


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        make_event("r", EventKind.STARTED, BASE.replace(tzinfo=None), {})
    with pytest.raises(ValueError, match="timezone"):
        EventIn.model_validate({"run_id": "r", "event": "started", "at": "2026-01-01T00:00:00"})


def test_event_in_rejects_unknown_fields_and_oversized_values() -> None:
    with pytest.raises(ValueError, match="colour"):
        EventIn.model_validate({"run_id": "r", "event": "started", "colour": "red"})
    with pytest.raises(ValueError, match="at most 65536 characters"):
        EventIn.model_validate({"run_id": "r", "event": "started", "args": ["x" * 70_000]})


@given(run_events(), st.dictionaries(st.text(max_size=8), st.integers(0, 2**62), max_size=3))
def test_fold_state_text_is_the_json_of_the_fold_state(events, labels):  # type: ignore[no-untyped-def]
    state = fold("run-1", events)
    state.label_keys.update(labels)  # label names are anyone's text: quotes, backslashes, unicode
    saved = run_writes.fold_state_of(state)
    assert json.loads(run_writes.fold_state_text(saved)) == json.loads(json.dumps(saved))


@given(
    st.dictionaries(
        st.text(max_size=5),
        st.one_of(st.integers(), st.booleans(), st.floats(allow_nan=False), st.text(max_size=5)),
        max_size=4,
    )
)
def test_json_text_is_json_and_never_mixes_true_with_one(value):  # type: ignore[no-untyped-def]
    for _ in range(2):  # the second time from the cache
        assert json.loads(run_writes.json_text(value)) == value
        assert run_writes.json_text(value) == json.dumps(value)
    assert run_writes.json_text({"x": 1}) == '{"x": 1}'
    assert run_writes.json_text({"x": True}) == '{"x": true}'


def _whole(s: RunState) -> tuple:  # type: ignore[type-arg]
    return (*_snapshot_of(s), s.keys, s.label_keys, s.starts, s.created_by_enqueue, s.heartbeat_at)


@given(run_events(), run_events(), st.randoms(use_true_random=False))
def test_joining_two_folds_is_folding_both(first, second, rnd):  # type: ignore[no-untyped-def]
    both = first + second
    rnd.shuffle(both)
    joined = fold("run-1", first)
    join(joined, fold("run-1", second))
    assert _whole(joined) == _whole(fold("run-1", both))
    # Joining what is already in changes nothing, and says so.
    again = fold("run-1", both)
    assert not join(again, fold("run-1", second))
    assert _whole(again) == _whole(fold("run-1", both))
