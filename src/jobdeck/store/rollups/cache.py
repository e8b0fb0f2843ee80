"""Cell versions, and a cache of what was merged from a range of cells, kept while their versions stay.

Every write to a cell gives it a new random version, so the count and sum of the versions in a
range (its range version) change whenever anything in it does. Checking them costs one small
query; merging the range again costs thousands of rows.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, func, select

from jobdeck.store.schema import rollups

_VERSION_BITS = 40
_VERSION_MOD = 2**_VERSION_BITS

RangeVersion = tuple[int, int]  # (cells, sum of their versions modulo 2**40)
T = TypeVar("T")


def new_version() -> int:
    """A fresh cell version: random, so a cell deleted and made again never reuses an old one."""
    return random.getrandbits(_VERSION_BITS) | 1


class RangeCache:
    """Values computed from a range of rollup cells, each kept with the range version it was computed
    at and returned only while that is unchanged. A few entries are kept."""

    def __init__(self, size: int = 96) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[RangeVersion, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: RangeVersion) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, version: RangeVersion, value: Any) -> None:
        with self._lock:
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


range_cache = RangeCache()


def range_version(conn: Connection, g: int, lo: int, hi: int, job: str | None = None) -> RangeVersion:
    """(cells, sum of their versions) over [lo, hi) at granularity g: changes whenever a cell does."""
    # Versions are summed modulo 2**40 so a sum over millions of cells stays within 64 bits.
    query = select(func.count(), func.coalesce(func.sum(rollups.c.version % _VERSION_MOD), 0)).where(
        rollups.c.granularity == g, rollups.c.bucket >= lo, rollups.c.bucket < hi
    )
    if job is not None:
        query = query.where(rollups.c.job == job)
    count, total = conn.execute(query).one()
    return int(count), int(total)


def versions_by_bucket(conn: Connection, g: int, lo: int, hi: int) -> dict[int, RangeVersion]:
    """The range version of each bucket's cells (every job's) at granularity g over [lo, hi)."""
    query = (
        select(rollups.c.bucket, func.count(), func.coalesce(func.sum(rollups.c.version % _VERSION_MOD), 0))
        .where(rollups.c.granularity == g, rollups.c.bucket >= lo, rollups.c.bucket < hi)
        .group_by(rollups.c.bucket)
    )
    return {int(bucket): (int(count), int(total)) for bucket, count, total in conn.execute(query)}


def cached(
    conn: Connection, kind: Hashable, g: int, lo: int, hi: int, job: str | None, compute: Callable[[], T]
) -> T:
    """`compute()` for the cells [lo, hi) of granularity g (and job), reused while they are unchanged."""
    if lo >= hi:
        return compute()
    current = range_version(conn, g, lo, hi, job)
    key = (conn.engine.url, kind, g, lo, hi, job)
    value = range_cache.get(key, current)
    if value is None:
        value = compute()
        range_cache.put(key, current, value)
    return cast(T, value)
