"""Locks on keys that may not have a row yet (a run being created, a rollup cell), on PostgreSQL.

A row lock (`SELECT … FOR UPDATE`) cannot hold a row that does not exist, so two writers creating
the same run at once would both read "new" and one would fail on the unique key. Writers take
transaction-scoped advisory locks on the keys first instead, always in the same order, so they
queue behind each other rather than deadlock; the locks go with the transaction.

A key's lock is one of SLOTS per kind (its hash modulo SLOTS): advisory locks live in PostgreSQL's
shared lock table (max_locks_per_transaction times max_connections entries, 6,400 by default), which a
batch of 50,000 new runs would overflow with a lock each. Two keys in one slot only make their
writers take turns, as writers of the same jobs and hours do anyway on the rollup cells they share.
SQLite needs none: one writer at a time holds its write lock.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from jobdeck.store import bulk

# The first of pg_advisory_xact_lock's two keys: which kind of key the second one hashes.
RUNS = 0x6A64_0001
ROLLUP_CELLS = 0x6A64_0002
SLOTS = 256  # locks per kind at most, whatever the batch's size

_LOCK = (
    "SELECT pg_advisory_xact_lock(%s, h) FROM "
    "(SELECT DISTINCT hashtext(k) & %s AS h FROM unnest(%s::text[]) AS k ORDER BY h) AS ordered"
)


def lock(conn: Connection, space: int, keys: Iterable[str]) -> None:
    """Hold these keys of `space` until the transaction ends (PostgreSQL; nothing elsewhere)."""
    if conn.dialect.name != "postgresql":
        return
    bulk.run(conn, lock_statements(conn, space, keys))


def lock_statements(conn: Connection, space: int, keys: Iterable[str]) -> list[bulk.Statement]:
    """The statement `lock` runs, to send with others (bulk.run); none on SQLite or for no keys."""
    keys = list(keys)
    if conn.dialect.name != "postgresql" or not keys:
        return []
    return [bulk.Statement(_LOCK, (space, SLOTS - 1, keys))]
