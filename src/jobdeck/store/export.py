"""Streaming runs out of the store: a server-side cursor, so a million rows never sit in memory."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from jobdeck.store.runs import SUMMARY_COLUMNS
from jobdeck.store.search import RunFilter, runs_query
from jobdeck.store.store import Store

EXPORT_COLUMNS: tuple[str, ...] = (
    *SUMMARY_COLUMNS,
    "run_at",
    "source",
    "host",
    "schedule_id",
    "max_retries",
    "args",
    "kwargs",
    "labels",
)
BATCH_ROWS = 1000


def stream_runs(
    store: Store, where: RunFilter, columns: Sequence[str] = EXPORT_COLUMNS
) -> Iterator[dict[str, Any]]:
    """Every run matching the filter, newest first, fetched `BATCH_ROWS` at a time.

    The read transaction stays open while the caller iterates; close the generator to end it early.
    """
    with store.read() as conn:
        query = runs_query(conn.dialect.name, where, columns)
        result = conn.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(query)
        try:
            for row in result:
                mapping = row._mapping
                yield {name: mapping[name] for name in columns}
        finally:
            result.close()
