"""Any stream of events over many runs, in any order and batching, leaves rollups equal to the raw runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from jobdeck.domain import EventKind
from jobdeck.events import Event, make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store, verify
from jobdeck.store.schema import metadata
from tests.strategies import BASE


@st.composite
def streams(draw: st.DrawFn) -> list[Event]:
    """Events of up to 6 runs of 2 jobs, spread over hours so runs move between minute and hour cells."""
    result: list[Event] = []
    for run in range(draw(st.integers(1, 6))):
        rid, job = f"r{run}", draw(st.sampled_from(["a", "b"]))
        for i in range(draw(st.integers(1, 5))):
            kind = draw(st.sampled_from(list(EventKind)))
            at = BASE + timedelta(seconds=draw(st.integers(0, 3 * 3600)))
            data: dict[str, Any] = {"job": job} if i == 0 else {}
            if draw(st.booleans()):
                data["items_succeeded"] = draw(st.integers(0, 9))
            result.append(make_event(rid, kind, at, data))
    return result


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(evs=streams(), rnd=st.randoms(use_true_random=False), batches=st.integers(1, 5))
def test_random_streams_keep_rollups_equal_to_the_runs(
    store: Store, evs: list[Event], rnd: Any, batches: int
) -> None:
    with store.write() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))
    # Each run's job-naming event goes first in the stream; the rest arrive in any order, some twice.
    firsts = [e for e in evs if "job" in e.data]
    rest = [e for e in evs if "job" not in e.data] + rnd.sample(evs, min(3, len(evs)))
    rnd.shuffle(rest)
    stream = firsts + rest
    size = max(1, len(stream) // batches)
    recorder = Recorder(store)
    for start in range(0, len(stream), size):
        recorder.record(stream[start : start + size])
    with store.read() as conn:
        assert verify.differences(conn) == []
