"""The exported metric names and histogram buckets: the board, the rules and the collector share them."""

from __future__ import annotations

EXECUTIONS = "job_execution_total"
DURATION = "job_execution_duration_seconds"
LAST_SUCCESS = "job_last_success_timestamp_seconds"
ITEMS = "job_items_processed_total"
QUEUE_SIZE = "job_queue_size"
QUEUE_WAIT = "job_queue_wait_seconds"
RUNNING = "job_running"

# The samples a scrape holds (a histogram's as its _bucket, _sum and _count series).
SERIES = (
    EXECUTIONS,
    *(f"{DURATION}{suffix}" for suffix in ("_bucket", "_sum", "_count")),
    LAST_SUCCESS,
    ITEMS,
    QUEUE_SIZE,
    *(f"{QUEUE_WAIT}{suffix}" for suffix in ("_bucket", "_sum", "_count")),
    RUNNING,
)

# Buckets fit for jobs, 1 s to 2 h, with the duration rules' thresholds (300 s, 600 s) as edges.
DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0)
WAIT_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

# Canonical run statuses as the exported `status` label, and item counters likewise.
EXECUTION_STATUSES = {"succeeded": "success", "failed": "failed", "cancelled": "cancelled", "lost": "lost"}
ITEM_STATUSES = {"items_succeeded": "success", "items_failed": "failed", "items_skipped": "skipped"}
