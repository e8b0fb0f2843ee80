"""Recomputing rollups from raw runs and comparing them with the stored ones."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, select

from jobdeck.store import rollups
from jobdeck.store.schema import runs

_FIELDS = ("job", "status", "run_at", "duration_s", "started_at", "created_at", "fold_state")
_ITEMS = ("items_succeeded", "items_failed", "items_skipped")


def expected_changes(conn: Connection, batch: int = 10_000) -> rollups.Changes:
    """The rollups the raw runs call for, as if every run were recorded afresh."""
    changes = rollups.Changes.empty()
    query = select(*(runs.c[name] for name in _FIELDS + _ITEMS)).execution_options(yield_per=batch)
    for row in conn.execute(query):
        changes.add(rollups.contribution_of(row._mapping), +1)
    return changes


def differences(conn: Connection, limit: int = 20) -> list[str]:
    """Where the stored rollups disagree with the raw runs (empty when they agree)."""
    expected = expected_changes(conn)
    problems: list[str] = []
    stored_cells = {(r["granularity"], r["bucket"], r["job"]): r for r in rollups.all_cells(conn)}
    for cell, values in expected.cells.items():
        row = stored_cells.pop(cell, None)
        if row is None:
            problems.append(f"missing rollup {cell}")
            continue
        for name, value in zip(rollups.COUNTERS, values, strict=True):
            if not math.isclose(float(row[name]), value, rel_tol=1e-9, abs_tol=1e-6):
                problems.append(f"{cell} {name}: stored {row[name]}, runs say {value}")
        lo_hi: tuple[float | None, float | None] = expected.extremes.get(cell, (None, None))
        for name, extreme in zip(("dur_min", "dur_max"), lo_hi, strict=True):
            if not _same(row[name], extreme):
                problems.append(f"{cell} {name}: stored {row[name]}, runs say {extreme}")
    problems.extend(f"extra rollup {cell}" for cell in stored_cells)
    stored_bins = {
        (r["granularity"], r["bucket"], r["job"], r["metric"], r["bin"]): r["n"]
        for r in rollups.all_bins(conn)
    }
    for key, n in expected.bins.items():
        if stored_bins.pop(key, 0) != n:
            problems.append(f"histogram bin {key}: runs say {n}")
    problems.extend(f"extra histogram bin {key}" for key in _nonzero(stored_bins))
    return problems[:limit]


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)


def _nonzero(bins: dict[Any, int]) -> Iterator[Any]:
    return (key for key, n in bins.items() if n)
