"""Overlapping runs, by one sweep over start and end points (O(n log n) plus the pairs reported).

Intervals are half-open, [start, end): a run that ends exactly when another starts does not overlap
it, and a run of zero length overlaps nothing. Times are plain numbers (epoch seconds) so the module
stays pure; callers convert datetimes at the edge.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Interval:
    """One run's time span; `key` names it (the run id)."""

    key: str
    start: float
    end: float


@dataclass(frozen=True)
class Overlap:
    """Two runs that ran at the same time: `a` started first (or together with `b`)."""

    a: str
    b: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Sweep:
    """What a sweep found: the overlapping pairs (at most `max_pairs`), the peak and the step curve."""

    overlaps: list[Overlap]
    max_concurrency: int
    concurrency: list[tuple[float, int]]
    truncated: bool


# At one instant ends sort before starts, so touching intervals do not overlap.
_END, _START = 0, 1


def _points(intervals: Sequence[Interval]) -> list[tuple[float, int, int]]:
    points = []
    for i, iv in enumerate(intervals):
        if iv.end > iv.start:
            points.append((iv.start, _START, i))
            points.append((iv.end, _END, i))
    points.sort()
    return points


def sweep(intervals: Sequence[Interval], max_pairs: int | None = None) -> Sweep:
    """Every overlapping pair, the highest number running at once, and [(t, running from t on)]."""
    active: dict[int, None] = {}  # insertion-ordered: the earliest started first
    overlaps: list[Overlap] = []
    truncated = False
    curve: list[tuple[float, int]] = []
    peak = 0
    for t, kind, i in _points(intervals):
        if kind == _END:
            del active[i]
        else:
            new = intervals[i]
            for j in active:
                if max_pairs is not None and len(overlaps) >= max_pairs:
                    truncated = True
                    break
                other = intervals[j]
                overlaps.append(Overlap(other.key, new.key, new.start, min(other.end, new.end)))
            active[i] = None
            peak = max(peak, len(active))
        if curve and curve[-1][0] == t:
            curve[-1] = (t, len(active))
        else:
            curve.append((t, len(active)))
    return Sweep(overlaps, peak, _without_repeats(curve), truncated)


def _without_repeats(curve: list[tuple[float, int]]) -> list[tuple[float, int]]:
    kept: list[tuple[float, int]] = []
    for point in curve:
        if not kept or kept[-1][1] != point[1]:
            kept.append(point)
    return kept


def regions(curve: Sequence[tuple[float, int]], at_least: int = 2) -> list[tuple[float, float, int]]:
    """The spans where at least `at_least` run at once, from a concurrency curve: (start, end, peak)."""
    spans: list[tuple[float, float, int]] = []
    start: float | None = None
    peak = 0
    for t, n in curve:
        if n >= at_least:
            if start is None:
                start, peak = t, n
            peak = max(peak, n)
        elif start is not None:
            spans.append((start, t, peak))
            start = None
    return spans


def lanes(intervals: Sequence[Interval]) -> list[int]:
    """A sub-lane per interval so that no two in one lane overlap, using as few lanes as the peak."""
    order = sorted(range(len(intervals)), key=lambda i: (intervals[i].start, intervals[i].end))
    assigned = [0] * len(intervals)
    busy: list[tuple[float, int]] = []  # (end, lane) of the lanes in use
    free: list[int] = []
    count = 0
    for i in order:
        iv = intervals[i]
        while busy and busy[0][0] <= iv.start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            lane = heapq.heappop(free)
        else:
            lane, count = count, count + 1
        assigned[i] = lane
        heapq.heappush(busy, (max(iv.end, iv.start), lane))
    return assigned
