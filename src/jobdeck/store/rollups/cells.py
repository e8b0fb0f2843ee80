"""What a rollup cell holds: its granularities, counters and sketches, keyed by (granularity, bucket, job)."""

from __future__ import annotations

from datetime import UTC, datetime

GRANULARITIES = (60, 3600, 86400)
DURATION, WAIT = 0, 1
HISTOGRAMS = ("dur_hist", "wait_hist")  # the column of each sketch metric
STATUSES = ("pending", "running", "retrying", "succeeded", "failed", "cancelled", "lost")
ITEMS = ("items_succeeded", "items_failed", "items_skipped")
# The counter columns, in the order a cell's values are read and written.
COUNTERS = ("runs", *STATUSES, "dur_count", "dur_sum", "wait_count", "wait_sum", *ITEMS)

Cell = tuple[int, int, str]  # (granularity, bucket, job)


def epoch(seconds: int) -> datetime:
    """The aware UTC datetime of epoch seconds."""
    return datetime.fromtimestamp(seconds, tz=UTC)
