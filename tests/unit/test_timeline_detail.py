"""The timeline's level of detail (pure): bucket steps, which lanes get bars, and the overlap proof."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jobdeck.analytics.overlaps import Interval, sweep
from jobdeck.analytics.timeline import STEPS, bucket_overlaps, bucket_step, overlapped, split_lanes


def test_bucket_step_fits_the_columns() -> None:
    assert bucket_step(30 * 86400, 1000) == 3600  # 720 hour buckets
    assert bucket_step(24 * 3600, 1000) == 120
    assert bucket_step(600, 1000) == 60  # never finer than the minute rollups
    for span in (3600, 86400, 7 * 86400, 30 * 86400, 365 * 86400):
        step = bucket_step(span, 600)
        assert span / step <= 600
        assert all(86400 % s == 0 or s % 86400 == 0 for s in STEPS)


def test_split_lanes_keeps_every_bar_when_the_runs_fit() -> None:
    assert split_lanes({"a": 10, "b": 20}, budget=30, per_lane=5) == (["a", "b"], [])


def test_split_lanes_buckets_the_busy_lanes_only() -> None:
    counts = {"busy": 50_000, "nightly": 30, "hourly": 720, "minutely": 43_200}
    bars, buckets = split_lanes(counts, budget=10_000, per_lane=1000)
    assert bars == ["hourly", "nightly"]
    assert buckets == ["busy", "minutely"]
    # The budget holds across lanes: the quietest go first.
    bars, buckets = split_lanes({"a": 600, "b": 600, "c": 600}, budget=1000, per_lane=1000)
    assert bars == ["a"]
    assert buckets == ["b", "c"]


@given(
    st.lists(
        st.tuples(st.integers(0, 3599), st.integers(0, 5000)),
        min_size=1,
        max_size=30,
    )
)
def test_overlapped_is_only_said_of_buckets_whose_runs_overlap(spans: list[tuple[int, int]]) -> None:
    """Runs starting in an hour bucket: when rollup figures say 'overlapped', a sweep agrees."""
    runs = [Interval(str(i), float(s), float(s + d)) for i, (s, d) in enumerate(spans)]
    cell = {
        "dur_sum": float(sum(d for _, d in spans)),
        "dur_max": float(max(d for _, d in spans)),
        "running": 0,
    }
    if overlapped(cell, 3600):
        assert sweep(runs, max_pairs=1).max_concurrency >= 2


def test_bucket_overlaps_merge_adjacent_buckets_of_a_job() -> None:
    rows = [
        [0, 0, 60, 5, 5, 0, 0, "succeeded", 2.0, 1],
        [0, 60, 120, 5, 5, 0, 0, "succeeded", 2.0, 1],
        [0, 180, 240, 5, 5, 0, 0, "succeeded", 2.0, 1],
        [1, 240, 300, 5, 5, 0, 0, "succeeded", 0.1, 0],
    ]
    assert bucket_overlaps(rows) == [[0, 0, 120], [0, 180, 240]]
