"""Percentiles as summaries show them: nearest rank over few values, estimates clamped to [min, max]."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from jobdeck.analytics import sketch
from jobdeck.analytics.percentiles import clamp, nearest_rank

durations = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)
quantiles = st.floats(0, 1)


def test_two_runs_have_their_max_as_p95() -> None:
    assert nearest_rank([0.300, 0.301], 0.95) == 0.301
    assert nearest_rank([0.300, 0.301], 0.5) == 0.300
    assert nearest_rank([], 0.5) is None
    assert nearest_rank([7.0], 0.0) == nearest_rank([7.0], 1.0) == 7.0


@given(st.lists(durations, min_size=1, max_size=200), quantiles)
def test_nearest_rank_is_one_of_the_values_at_its_rank(values: list[float], q: float) -> None:
    ordered = sorted(values)
    p = nearest_rank(ordered, q)
    assert p in ordered
    # At least q of the values are at or below it, and fewer than q are strictly below it.
    assert sum(v <= p for v in ordered) >= q * len(ordered)
    assert sum(v < p for v in ordered) < max(q * len(ordered), 1)
    assert ordered[0] <= p <= ordered[-1]


@given(st.lists(durations, min_size=1, max_size=200), quantiles)
def test_a_clamped_sketch_answer_never_leaves_min_and_max(values: list[float], q: float) -> None:
    bins: dict[int, int] = {}
    for v in values:
        bins[sketch.bin_of(v)] = bins.get(sketch.bin_of(v), 0) + 1
    answer = clamp(sketch.quantile(bins, q), min(values), max(values))
    assert answer is not None
    assert min(values) <= answer <= max(values)


@given(st.one_of(st.none(), durations), st.one_of(st.none(), durations), st.one_of(st.none(), durations))
def test_clamp_keeps_inside_values_and_moves_outside_ones(
    value: float | None, low: float | None, high: float | None
) -> None:
    result = clamp(value, low, high)
    if value is None:
        assert result is None
        return
    assert result is not None
    if low is not None and high is not None and low <= high:
        assert low <= result <= high
        assert result == value or not (low <= value <= high)
    if low is None and high is None:
        assert math.isclose(result, value)
