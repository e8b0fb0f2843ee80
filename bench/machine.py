"""How fast this shared machine is right now: a fixed piece of pure Python, timed.

The 2-core machine the benchmarks run on is shared and its speed drifts (seen here: the same
code 30-40 % slower an hour later, with the load average unchanged). Every benchmark prints this
figure beside its results, so figures taken at different times can be compared.
"""

from __future__ import annotations

import statistics
import time


def speed_ms(repeat: int = 5) -> float:
    """Median milliseconds of a fixed loop; smaller is faster."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i * i
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def describe() -> str:
    return f"speed index {speed_ms():.0f} ms (a fixed Python loop; smaller is faster)"
