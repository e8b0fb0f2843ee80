"""A whole run's record folded straight into a run is the run its events fold to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from jobdeck.events import RunState, fold
from jobdeck.importing.records import Record, events_of, run_of

BASE = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
times = st.one_of(
    st.none(),
    st.integers(0, 600).map(lambda s: (BASE + timedelta(seconds=s)).isoformat()),
    st.integers(0, 600).map(
        lambda s: (
            (BASE + timedelta(seconds=s)).astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
        )
    ),
)
optional = st.fixed_dictionaries(
    {},
    optional={
        "queue": st.sampled_from(["default", "high"]),
        "worker": st.sampled_from(["w1", "w2"]),
        "priority": st.sampled_from(["3", "7"]),
        "error_type": st.just("KeyError"),
        "error_message": st.sampled_from(["order 7 not found", "boom"]),
        "items_succeeded": st.sampled_from(["4", "12"]),
        "attempt": st.sampled_from(["1", "3"]),
        "labels": st.dictionaries(st.sampled_from(["env", "team"]), st.sampled_from(["a", "b"]), max_size=2),
        "duration_s": st.sampled_from(["2.5", "60"]),
    },
)


@st.composite
def whole_runs(draw: st.DrawFn) -> Record:
    fields: dict[str, Any] = {
        "run_id": "r1",
        "job": "sync",
        "status": draw(
            st.sampled_from(["completed", "failed", "running", "pending", "retry", "revoked", "lost"])
        ),
        **{k: v for k, v in draw(optional).items()},
    }
    for name in ("created_at", "started_at", "finished_at"):
        value = draw(times)
        if value is not None:
            fields[name] = value
    if not any(name in fields for name in ("created_at", "started_at", "finished_at")):
        fields["created_at"] = BASE.isoformat()
    return Record(2, fields, 0)


def _whole(s: RunState) -> tuple[Any, ...]:
    return (
        s.status, s.created_at, s.created_by_enqueue, s.started_at, s.finished_at, s.heartbeat_at,
        s.starts, s.attempt, s.fields, s.keys, s.label_keys, s.top_key,
    )  # fmt: skip


@given(whole_runs())
def test_a_whole_run_folds_straight_to_what_its_events_fold_to(record: Record) -> None:
    state, count = run_of(record)
    events = events_of(record, BASE)
    assert count == len(events)
    assert _whole(state) == _whole(fold("r1", events))
