"""The overlap sweep against brute-force oracles."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from jobdeck.analytics.overlaps import Interval, Overlap, lanes, regions, sweep

# Small integer times make ties (shared starts, touching ends) common.
spans = st.lists(
    st.tuples(st.integers(0, 40), st.integers(0, 15)).map(lambda p: (float(p[0]), float(p[0] + p[1]))),
    max_size=30,
)


def intervals_of(pairs: list[tuple[float, float]]) -> list[Interval]:
    return [Interval(f"r{i}", s, e) for i, (s, e) in enumerate(pairs)]


def brute_pairs(ivs: list[Interval]) -> set[tuple[frozenset[str], float, float]]:
    found = set()
    for i, a in enumerate(ivs):
        for b in ivs[i + 1 :]:
            start, end = max(a.start, b.start), min(a.end, b.end)
            if start < end:
                found.add((frozenset((a.key, b.key)), start, end))
    return found


def running_at(ivs: list[Interval], t: float) -> int:
    return sum(1 for iv in ivs if iv.start <= t < iv.end)


@given(spans)
def test_pairs_match_brute_force(pairs: list[tuple[float, float]]) -> None:
    ivs = intervals_of(pairs)
    result = sweep(ivs)
    got = [(frozenset((o.a, o.b)), o.start, o.end) for o in result.overlaps]
    assert len(got) == len(set(got))
    assert set(got) == brute_pairs(ivs)
    assert not result.truncated


@given(spans)
def test_concurrency_matches_brute_force(pairs: list[tuple[float, float]]) -> None:
    ivs = intervals_of(pairs)
    result = sweep(ivs)
    points = sorted({iv.start for iv in ivs} | {iv.end for iv in ivs})
    assert result.max_concurrency == max((running_at(ivs, t) for t in points), default=0)
    # The curve is a step function: from each point on, until the next, this many run.
    curve = result.concurrency
    for t in points:
        before = [n for at, n in curve if at <= t]
        assert (before[-1] if before else 0) == running_at(ivs, t)
    assert all(a[1] != b[1] for a, b in pairwise(curve))


@given(spans)
def test_lanes_never_overlap_and_use_the_peak(pairs: list[tuple[float, float]]) -> None:
    ivs = intervals_of(pairs)
    assigned = lanes(ivs)
    for i, a in enumerate(ivs):
        for j, b in enumerate(ivs):
            if i < j and assigned[i] == assigned[j]:
                assert not max(a.start, b.start) < min(a.end, b.end)
    # Greedy partitioning is optimal: runs of positive length need exactly as many lanes as the peak.
    positive = [iv for iv in ivs if iv.end > iv.start]
    if positive:
        assert max(lanes(positive)) + 1 == sweep(positive).max_concurrency


@given(spans)
def test_regions_cover_exactly_the_overlapping_times(pairs: list[tuple[float, float]]) -> None:
    ivs = intervals_of(pairs)
    found = regions(sweep(ivs).concurrency)
    for t in [x / 2 for x in range(0, 2 * 56)]:
        inside = any(start <= t < end for start, end, _ in found)
        assert inside == (running_at(ivs, t) >= 2)


def test_example_and_truncation() -> None:
    ivs = [Interval("a", 0, 10), Interval("b", 5, 15), Interval("c", 10, 12), Interval("d", 20, 20)]
    result = sweep(ivs)
    assert result.overlaps == [Overlap("a", "b", 5, 10), Overlap("b", "c", 10, 12)]
    assert result.overlaps[0].seconds == 5
    assert result.max_concurrency == 2
    # At 10 "a" ends as "c" starts: two run before and after, so no point there.
    assert result.concurrency == [(0, 1), (5, 2), (12, 1), (15, 0)]
    limited = sweep(ivs, max_pairs=1)
    assert limited.truncated
    assert len(limited.overlaps) == 1
    assert lanes(ivs)[:3] == [0, 1, 0]
