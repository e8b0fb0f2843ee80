"""rollups.cover splits a window into whole buckets that tile it exactly, coarsest in the middle."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jobdeck.store.rollups import cover

YEAR = 365 * 86_400


@given(st.integers(0, YEAR), st.integers(1, 40 * 86_400))
def test_cover_tiles_the_minute_resolved_window(start: int, length: int) -> None:
    since, until = 1_700_000_000 + start, 1_700_000_000 + start + length
    ranges = cover(since, until)
    lo = since - since % 60
    hi = until if until % 60 == 0 else until - until % 60 + 60
    position = lo
    for g, a, b in ranges:
        assert a == position, "ranges are contiguous and ordered"
        assert a % g == 0, "whole, aligned buckets"
        assert b % g == 0, "whole, aligned buckets"
        assert a < b, "whole, aligned buckets"
        position = b
    assert position == hi
    # Few ranges, and few minute buckets: at most two runs of under an hour each.
    assert len(ranges) <= 5
    assert sum((b - a) // 60 for g, a, b in ranges if g == 60) <= 2 * 59


def test_a_month_reads_mostly_days() -> None:
    ranges = cover(1_700_000_123, 1_700_000_123 + 30 * 86_400)
    buckets = sum((b - a) // g for g, a, b in ranges)
    assert buckets < 29 + 2 * 23 + 2 * 59
