"""What runs add to the rollups: a run's contribution, and a transaction's deltas summed per cell."""

from __future__ import annotations

from typing import Any, NamedTuple

from jobdeck.analytics import sketch
from jobdeck.store.rollups.cells import COUNTERS, DURATION, GRANULARITIES, ITEMS, STATUSES, WAIT, Cell

RUNS = COUNTERS.index("runs")
DUR_COUNT, DUR_SUM = COUNTERS.index("dur_count"), COUNTERS.index("dur_sum")
WAIT_COUNT, WAIT_SUM = COUNTERS.index("wait_count"), COUNTERS.index("wait_sum")
ITEMS_SUCCEEDED, ITEMS_FAILED, ITEMS_SKIPPED = (COUNTERS.index(name) for name in ITEMS)

_STATUS_AT = {status: COUNTERS.index(status) for status in STATUSES}


class Contribution(NamedTuple):
    """What one run adds to the rollups."""

    job: str
    at: int  # epoch seconds of run_at
    status: str
    duration: float | None
    wait: float | None
    items: tuple[int, int, int]  # succeeded, failed, skipped
    failure: str | None = None  # a failed run's fingerprint


class Delta:
    """What a transaction adds to one cell: counters, the extremes of added durations, sketches."""

    __slots__ = ("counters", "high", "low", "recompute", "sketches")

    def __init__(self) -> None:
        # In COUNTERS order, read by the names below. Integers but for the two sums of seconds:
        # counters stay exact, nothing to round. (A list, not an attribute each: the write reads
        # them all at once, for thousands of cells a batch.)
        self.counters: list[Any] = [0] * len(COUNTERS)
        self.low: float | None = None
        self.high: float | None = None
        self.sketches: tuple[dict[int, int], dict[int, int]] = ({}, {})  # DURATION, WAIT
        self.recompute = False  # a duration was taken away: min and max come from the runs again


class Changes:
    """Accumulated rollup deltas for one transaction: each contribution goes straight into its
    minute, hour and day cells."""

    def __init__(self) -> None:
        self.cells: dict[Cell, Delta] = {}
        # (granularity, bucket, fingerprint) -> [job, failed runs added]
        self.failures: dict[tuple[int, int, str], list[Any]] = {}

    @classmethod
    def empty(cls) -> Changes:
        return cls()

    def copy(self) -> Changes:
        """Changes of their own with the same deltas (adding to one leaves the other as it is)."""
        copied = Changes()
        for key, delta in self.cells.items():
            twin = copied.cells[key] = Delta()
            twin.counters = delta.counters.copy()
            twin.low, twin.high, twin.recompute = delta.low, delta.high, delta.recompute
            twin.sketches = (delta.sketches[0].copy(), delta.sketches[1].copy())
        copied.failures = {key: found.copy() for key, found in self.failures.items()}
        return copied

    def add(self, c: Contribution, sign: int) -> None:
        job, at, status, duration, wait, items, failure = c
        if failure is not None:
            failures = self.failures
            for g in GRANULARITIES:
                key = (g, at - at % g, failure)
                found = failures.get(key)
                if found is None:
                    failures[key] = [job, sign]
                else:
                    found[1] += sign
        status_at = _STATUS_AT[status]
        succeeded, failed, skipped = items
        duration_bin = sketch.bin_of(duration) if duration is not None else 0
        wait_bin = sketch.bin_of(wait) if wait is not None else 0
        cells = self.cells
        for g in GRANULARITIES:
            key = (g, at - at % g, job)
            delta = cells.get(key)
            if delta is None:
                delta = cells[key] = Delta()
            counters = delta.counters
            counters[RUNS] += sign
            counters[status_at] += sign
            if succeeded:
                counters[ITEMS_SUCCEEDED] += sign * succeeded
            if failed:
                counters[ITEMS_FAILED] += sign * failed
            if skipped:
                counters[ITEMS_SKIPPED] += sign * skipped
            if duration is not None:
                counters[DUR_COUNT] += sign
                counters[DUR_SUM] += sign * duration
                durations = delta.sketches[DURATION]
                durations[duration_bin] = durations.get(duration_bin, 0) + sign
                if sign < 0:
                    delta.recompute = True
                elif delta.low is None or delta.high is None:
                    delta.low = delta.high = duration
                elif duration < delta.low:
                    delta.low = duration
                elif duration > delta.high:
                    delta.high = duration
            if wait is not None:
                counters[WAIT_COUNT] += sign
                counters[WAIT_SUM] += sign * wait
                waits = delta.sketches[WAIT]
                waits[wait_bin] = waits.get(wait_bin, 0) + sign

    def change(self, old: Contribution | None, new: Contribution | None) -> None:
        if old == new:
            return
        if old is not None:
            self.add(old, -1)
        if new is not None:
            self.add(new, +1)
