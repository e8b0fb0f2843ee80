"""verify-rollups costs what the data holds: runs at the far ends of the time range add two days to
walk, not the two hundred thousand between them."""

from __future__ import annotations

import time
from datetime import timedelta

from jobdeck.events import EARLIEST_TIME, LATEST_TIME, make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store, verify
from tests.strategies import BASE


def _verify_all(store: Store) -> tuple[float, int]:
    """Seconds to verify every day that holds data (as `jobdeck verify-rollups` does), and the days."""
    began = time.perf_counter()
    with store.read() as conn:
        days = verify.days_to_check(conn)
        for day in days:
            assert verify.differences(conn, since=day, until=day + verify.DAY) == []
    return time.perf_counter() - began, len(days)


def test_runs_at_the_time_bounds_cost_verify_two_days_more(store: Store, recorder: Recorder) -> None:
    recorder.record(
        [
            make_event(f"r{i}", "succeeded", BASE + timedelta(hours=i), {"job": f"j{i % 3}"})
            for i in range(24 * 5)
        ]
    )
    plain_s, plain_days = _verify_all(store)
    recorder.record(
        [
            make_event("first", "succeeded", EARLIEST_TIME, {"job": "old"}),
            make_event("last", "succeeded", LATEST_TIME - timedelta(seconds=1), {"job": "new"}),
        ]
    )
    bounded_s, bounded_days = _verify_all(store)
    assert bounded_days == plain_days + 2
    # Walking the span between 1900 and 2500 day by day took minutes; a generous factor for a busy machine.
    assert bounded_s < 3 * plain_s + 1.0, (plain_s, bounded_s)
