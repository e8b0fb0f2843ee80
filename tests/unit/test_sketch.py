"""The log-bucket sketch answers any quantile within 2 % of the exact one, and merges by adding."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from jobdeck.analytics import sketch

durations = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)


def sketch_of(values: list[float]) -> dict[int, int]:
    bins: dict[int, int] = {}
    for value in values:
        index = sketch.bin_of(value)
        bins[index] = bins.get(index, 0) + 1
    return bins


# No deadline: the suite shares two cores with servers and other suites.
@settings(deadline=None)
@given(st.lists(durations, min_size=1, max_size=300), st.floats(0, 1))
def test_any_quantile_is_within_two_percent_of_the_exact_one(values: list[float], q: float) -> None:
    exact = sorted(values)[math.floor(q * (len(values) - 1))]
    estimate = sketch.quantile(sketch_of(values), q)
    assert estimate is not None
    assert abs(estimate - exact) <= 0.02 * exact
    assert abs(estimate - exact) <= sketch.ALPHA * exact * (1 + 1e-9)


@settings(deadline=None)
@given(st.lists(durations, max_size=100), st.lists(durations, max_size=100))
def test_merged_sketches_equal_the_sketch_of_all_values(a: list[float], b: list[float]) -> None:
    assert sketch.merge([sketch_of(a), sketch_of(b)]) == sketch_of(a + b)


def test_tiny_values_share_the_zero_bin_and_empty_has_no_quantile() -> None:
    assert sketch.quantile(sketch_of([0.0, 1e-9]), 0.5) == 0.0
    assert sketch.quantile({}, 0.5) is None


@given(st.dictionaries(st.integers(-(2**20), 2**20), st.integers(-5, 10**12), max_size=40))
def test_stored_sketches_decode_to_what_was_encoded(bins):  # type: ignore[no-untyped-def]
    assert sketch.decode(sketch.encode(bins)) == {index: n for index, n in bins.items() if n}
    assert sketch.decode(None) == {}
    assert sketch.decode(b"") == {}
