"""Log-bucketed duration histograms (DDSketch-style): quantiles with a bounded relative error.

A positive value v falls in bin ceil(log_gamma(v)); every value in bin i lies in
(gamma^(i-1), gamma^i], and the bin's representative 2*gamma^i/(gamma+1) is
within ALPHA of each of them. Bins merge by adding counts, so sketches of
minutes add up to hours, days and any window.
"""

from __future__ import annotations

import bisect
import math
import struct
from collections.abc import Iterable, Mapping

ALPHA = 0.015
GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = math.log(GAMMA)
MIN_VALUE = 1e-6
ZERO_BIN = -(2**20)


def bin_of(value: float) -> int:
    """The bin holding `value`; values at or below MIN_VALUE share the zero bin."""
    if value <= MIN_VALUE:
        return ZERO_BIN
    return math.ceil(math.log(value) / _LOG_GAMMA)


def value_of(bin_index: int) -> float:
    """The representative value of a bin (within ALPHA of every value in it)."""
    if bin_index == ZERO_BIN:
        return 0.0
    return 2 * GAMMA**bin_index / (GAMMA + 1)


def quantile(bins: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (0..1) of the values counted in `bins`, or None when empty."""
    total = sum(bins.values())
    if total <= 0:
        return None
    rank = q * (total - 1)
    seen = 0
    for index in sorted(bins):
        seen += bins[index]
        if seen > rank:
            return value_of(index)
    return value_of(max(bins))


def merge(parts: Iterable[Mapping[int, int]]) -> dict[int, int]:
    """Add sketches together."""
    total: dict[int, int] = {}
    for part in parts:
        add_into(total, part)
    return total


# A sketch as stored: little-endian int64 pairs (bin, count), sorted by bin. Small (a cell holds a
# few dozen bins), cheap to decode, and merged in Python rather than row by row in SQL.


_PAIR = struct.Struct("<qq")


def encode(bins: Mapping[int, int]) -> bytes:
    """The stored form of a sketch (bins with a count of zero are left out)."""
    if len(bins) == 1:  # a cell of one run, or of runs alike: most minute cells
        ((index, n),) = bins.items()
        return _PAIR.pack(index, n) if n else b""
    flat = [x for index in sorted(bins) if bins[index] for x in (index, bins[index])]
    return struct.pack(f"<{len(flat)}q", *flat)


def decode(blob: bytes | None) -> dict[int, int]:
    """A sketch from its stored form; None and empty give an empty sketch."""
    if not blob:
        return {}
    flat = struct.unpack(f"<{len(blob) // 8}q", blob)
    return dict(zip(flat[::2], flat[1::2], strict=True))


def add_into(total: dict[int, int], part: Mapping[int, int]) -> None:
    """Add `part` into `total` in place."""
    for index, n in part.items():
        total[index] = total.get(index, 0) + n


# --- fixed buckets (Prometheus histograms) from a sketch -----------------------------------------

_POSITIONS: dict[tuple[float, ...], dict[int, int]] = {}


def bucket_of(bin_index: int, edges: tuple[float, ...]) -> int:
    """The fixed bucket holding a bin: the first edge at or above its representative value
    (len(edges) past the last). A value within one bin (about 3 %) of an edge may land in the
    neighbouring bucket; every other value lands exactly."""
    positions = _POSITIONS.setdefault(edges, {})
    found = positions.get(bin_index)
    if found is None:
        found = positions[bin_index] = bisect.bisect_left(edges, value_of(bin_index))
    return found


def bucket_counts(bins: Mapping[int, int], edges: tuple[float, ...]) -> list[int]:
    """Counts per fixed bucket (not cumulative): one for each edge and one past the last."""
    counts = [0] * (len(edges) + 1)
    positions = _POSITIONS.setdefault(edges, {})
    for index, n in bins.items():
        position = positions.get(index)
        if position is None:
            position = bucket_of(index, edges)
        counts[position] += n
    return counts
