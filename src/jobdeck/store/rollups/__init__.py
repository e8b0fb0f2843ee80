"""Per-job rollups by minute, hour and day, kept by adding each run's contribution.

The recorder calls `apply_changes` in the same transaction as the runs it writes: for every run
that changed, its old contribution is taken away and its new one added. A cell holds counters, the
duration extremes and two log-bucketed sketches (duration and queue wait) as small binary values.
A batch's deltas are summed per cell in Python (contributions.py), merged into the stored cells
(write.py), read back over any window (reads.py) and reused while a range is unchanged (cache.py).
"""

from __future__ import annotations

from jobdeck.store.rollups.cache import (
    RangeCache,
    RangeVersion,
    cached,
    new_version,
    range_cache,
    range_version,
    versions_by_bucket,
)
from jobdeck.store.rollups.cells import COUNTERS, DURATION, GRANULARITIES, HISTOGRAMS, WAIT, Cell, epoch
from jobdeck.store.rollups.contributions import Changes, Contribution, Delta
from jobdeck.store.rollups.reads import all_cells, bins_by_job, cover, totals_by_job
from jobdeck.store.rollups.write import apply_changes, sqlite_cells_query

__all__ = [
    "COUNTERS",
    "DURATION",
    "GRANULARITIES",
    "HISTOGRAMS",
    "WAIT",
    "Cell",
    "Changes",
    "Contribution",
    "Delta",
    "RangeCache",
    "RangeVersion",
    "all_cells",
    "apply_changes",
    "bins_by_job",
    "cached",
    "cover",
    "epoch",
    "new_version",
    "range_cache",
    "range_version",
    "sqlite_cells_query",
    "totals_by_job",
    "versions_by_bucket",
]
