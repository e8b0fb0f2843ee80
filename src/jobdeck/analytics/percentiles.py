"""Percentiles as the summaries show them: exact by nearest rank over few values, and any estimate
kept within the values' [min, max] (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def nearest_rank(ordered: Sequence[float], q: float) -> float | None:
    """The q-quantile (0..1) by nearest rank: the value at rank ceil(q * n) of the sorted values.

    Always one of the values: p95 of [0.300, 0.301] is 0.301, and p100 is the maximum."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def clamp(value: float | None, low: float | None, high: float | None) -> float | None:
    """`value` moved into [low, high] (either bound may be unknown); None stays None."""
    if value is None:
        return None
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    return value
