"""What runs add to the rollups: a run's contribution, and a transaction's deltas summed per cell."""

from __future__ import annotations

from typing import Any, NamedTuple

from jobdeck.analytics import sketch
from jobdeck.store.rollups.cells import DURATION, GRANULARITIES, STATUSES, WAIT, Cell

_STATUS_AT = {status: i for i, status in enumerate(STATUSES)}


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
    """What a transaction adds to one cell: counters, the extremes of added durations, sketches.

    Counters are integers but for the two sums of seconds, so they stay exact with nothing to round.
    """

    __slots__ = (
        "dur_count",
        "dur_sum",
        "high",
        "items_failed",
        "items_skipped",
        "items_succeeded",
        "low",
        "recompute",
        "runs",
        "sketches",
        "statuses",
        "wait_count",
        "wait_sum",
    )

    def __init__(self) -> None:
        self.runs = 0
        self.statuses = [0] * len(STATUSES)  # in STATUSES order
        self.dur_count = 0
        self.dur_sum: float = 0
        self.wait_count = 0
        self.wait_sum: float = 0
        self.items_succeeded = 0
        self.items_failed = 0
        self.items_skipped = 0
        self.low: float | None = None
        self.high: float | None = None
        self.sketches: tuple[dict[int, int], dict[int, int]] = ({}, {})  # DURATION, WAIT
        self.recompute = False  # a duration was taken away: min and max come from the runs again

    @property
    def values(self) -> list[Any]:
        """The counters in cells.COUNTERS order (the columns they are added to)."""
        return [
            self.runs,
            *self.statuses,
            self.dur_count,
            self.dur_sum,
            self.wait_count,
            self.wait_sum,
            self.items_succeeded,
            self.items_failed,
            self.items_skipped,
        ]


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
            delta.runs += sign
            delta.statuses[status_at] += sign
            if succeeded:
                delta.items_succeeded += sign * succeeded
            if failed:
                delta.items_failed += sign * failed
            if skipped:
                delta.items_skipped += sign * skipped
            if duration is not None:
                delta.dur_count += sign
                delta.dur_sum += sign * duration
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
                delta.wait_count += sign
                delta.wait_sum += sign * wait
                waits = delta.sketches[WAIT]
                waits[wait_bin] = waits.get(wait_bin, 0) + sign

    def change(self, old: Contribution | None, new: Contribution | None) -> None:
        if old == new:
            return
        if old is not None:
            self.add(old, -1)
        if new is not None:
            self.add(new, +1)
