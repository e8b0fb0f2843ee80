"""The chain of retries a run belongs to: the run it retried, and the runs that retried it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from jobdeck.store.schema import runs

MAX_ANCESTORS = 50
MAX_CHAIN = 200
_CHAIN_COLUMNS = (runs.c.run_id, runs.c.parent_run_id, runs.c.status, runs.c.attempt, runs.c.created_at)


def retry_chain(conn: Connection, run_id: str) -> list[dict[str, Any]]:
    """Every run of the chain from its first run, parents before children, each with its depth.

    Empty when the run is unknown. Walks at most MAX_ANCESTORS up and MAX_CHAIN runs in all.
    """
    root = conn.execute(select(*_CHAIN_COLUMNS).where(runs.c.run_id == run_id)).first()
    if root is None:
        return []
    seen = {root.run_id}
    for _ in range(MAX_ANCESTORS):
        if root.parent_run_id is None or root.parent_run_id in seen:
            break
        parent = conn.execute(select(*_CHAIN_COLUMNS).where(runs.c.run_id == root.parent_run_id)).first()
        if parent is None:
            break
        seen.add(parent.run_id)
        root = parent
    chain: list[dict[str, Any]] = []
    visited: set[str] = set()
    _descend(conn, dict(root._mapping), 0, chain, visited)
    return chain


def _descend(
    conn: Connection, run: dict[str, Any], depth: int, chain: list[dict[str, Any]], visited: set[str]
) -> None:
    if run["run_id"] in visited or len(chain) >= MAX_CHAIN:
        return
    visited.add(run["run_id"])
    chain.append({**run, "depth": depth})
    children = conn.execute(
        select(*_CHAIN_COLUMNS).where(runs.c.parent_run_id == run["run_id"]).order_by(runs.c.created_at)
    )
    for child in list(children):
        _descend(conn, dict(child._mapping), depth + 1, chain, visited)
