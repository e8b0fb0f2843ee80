"""Locks on keys that may not have a row yet (a run being created, a rollup cell), on PostgreSQL.

A row lock (`SELECT … FOR UPDATE`) cannot hold a row that does not exist, so two writers creating
the same run at once would both read "new" and one would fail on the unique key. Writers take a
transaction-scoped advisory lock per key first instead, always in the same order (by the key's
hash), so they queue behind each other rather than deadlock; the locks go with the transaction.
SQLite needs none: one writer at a time holds its write lock.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

# The first of pg_advisory_xact_lock's two keys: which kind of key the second one hashes.
RUNS = 0x6A64_0001
ROLLUP_CELLS = 0x6A64_0002

_LOCK = (
    "SELECT pg_advisory_xact_lock(%s, h) FROM "
    "(SELECT DISTINCT hashtext(k) AS h FROM unnest(%s::text[]) AS k ORDER BY h) AS ordered"
)


def lock(conn: Connection, space: int, keys: Iterable[str]) -> None:
    """Hold these keys of `space` until the transaction ends (PostgreSQL; nothing elsewhere).
    Two keys with one hash share a lock: that only makes their writers take turns."""
    if conn.dialect.name != "postgresql":
        return
    keys = list(keys)
    if keys:
        conn.exec_driver_sql(_LOCK, (space, keys))
