"""Hypothesis strategies: the events of one run, with fields that differ from event to event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from jobdeck.domain import EventKind
from jobdeck.events import Event, make_event

BASE = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

field_values = st.fixed_dictionaries(
    {},
    optional={
        "queue": st.sampled_from(["default", "high", "low"]),
        "worker": st.sampled_from(["w1", "w2"]),
        "error_message": st.sampled_from(["boom", "timeout after 30s"]),
        "items_succeeded": st.integers(0, 50),
        "items_failed": st.integers(0, 5),
        "attempt": st.integers(1, 4),
        "labels": st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["x", "y"]), max_size=2),
        "result": st.sampled_from([{"n": 1}, [1, 2], "ok"]),
    },
)


@st.composite
def run_events(draw: st.DrawFn, run_id: str = "run-1", job: str = "sync") -> list[Event]:
    """A run's distinct events: the first names the job; times within a few minutes, ties allowed."""
    count = draw(st.integers(1, 7))
    result = []
    for i in range(count):
        kind = draw(st.sampled_from(list(EventKind)))
        at = BASE + timedelta(seconds=draw(st.integers(0, 300)))
        data: dict[str, Any] = draw(field_values)
        if i == 0:
            data["job"] = job
        result.append(make_event(run_id, kind, at, data))
    return result
