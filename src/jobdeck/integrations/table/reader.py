"""Reading a foreign jobs table, never writing to it: SQLite opened with `mode=ro`, PostgreSQL in
read-only transactions. These are reads of someone else's database (SQLAlchemy Core, no text SQL);
jobdeck's own store keeps its SQL under store/."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, MetaData, Table, create_engine, inspect, or_, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import NoSuchTableError

from jobdeck.integrations.table.mapping import COLUMNS, TIMES, BadMapping, TableMapping

PAGE_ROWS = 5_000
IDS_PER_QUERY = 500


def split_target(target: str) -> tuple[str, str]:
    """`URL#TABLE` as (url, table); BadMapping when either is missing."""
    url, sep, table = target.rpartition("#")
    if not sep or not url.strip() or not table.strip():
        raise BadMapping(
            f"--source-table {target!r}: give it as URL#TABLE, e.g. sqlite:///app.db#background_jobs"
        )
    return url.strip(), table.strip()


def read_only_engine(url: str) -> Engine:
    """An engine that cannot write: SQLite through a `mode=ro` URI, PostgreSQL with every
    transaction read-only."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = parsed.database
        if not path or path == ":memory:":
            raise BadMapping(f"{url!r}: a source table in SQLite needs a file")

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=5)

        return create_engine("sqlite://", creator=connect, pool_pre_ping=True)
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
        options = {"options": "-c default_transaction_read_only=on", "connect_timeout": 5}
        return create_engine(parsed, connect_args=options, pool_pre_ping=True, pool_size=1, max_overflow=1)
    raise BadMapping(f"{url!r}: a source table is read from SQLite or PostgreSQL, not {backend}")


def _redacted(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


class TableReader:
    """One foreign table: its columns checked against the mapping, its rows read by time and by id."""

    def __init__(self, url: str, table: str, mapping: TableMapping) -> None:
        self.url, self.table_name, self.mapping = url, table, mapping
        self.where = f"{table} in {_redacted(url)}"
        self.engine = read_only_engine(url)
        self.table: Table | None = None

    def close(self) -> None:
        self.engine.dispose()

    def check(self) -> Table:
        """Reflect the table and check every mapped column is there and every status word in it is
        known; BadMapping names the column or word. OperationalError when the database is not reached."""
        schema, _, name = self.table_name.rpartition(".")
        try:
            with self.engine.connect() as conn:
                found = inspect(conn).get_columns(name, schema=schema or None)
        except NoSuchTableError:
            found = []
        if not found:
            raise BadMapping(f"source table {self.where}: there is no such table")
        names = {column["name"] for column in found}
        for ours in COLUMNS:
            theirs = self.mapping.column(ours)
            if theirs is not None and theirs not in names:
                listed = ", ".join(sorted(names))
                raise BadMapping(
                    f"source table {self.where}: no column {theirs!r} for {ours} (it has {listed}); "
                    "map its columns with --source-map"
                )
        wanted = [c for c in (self.mapping.column(o) for o in COLUMNS) if c is not None]
        self.table = Table(name, MetaData(), *(Column(c) for c in wanted), schema=schema or None)
        self.check_words(self.status_words())
        return self.table

    def check_words(self, words: Iterable[Any]) -> None:
        for word in words:
            if word is not None and self.mapping.status_of(word) is None:
                known = ", ".join(sorted(self.mapping.statuses))
                raise BadMapping(
                    f"source table {self.where}: unknown status word {str(word)!r} in column "
                    f"{self.mapping.column('status')!r} (known: {known}); "
                    "map it under [statuses] in --source-map"
                )

    def status_words(self) -> list[Any]:
        table = self._table()
        status = table.c[self._required("status")]
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(select(status).distinct())]

    def _required(self, ours: str) -> str:
        theirs = self.mapping.column(ours)
        assert theirs is not None  # the mapping refuses to leave a required column out
        return theirs

    def _table(self) -> Table:
        if self.table is None:
            return self.check()
        return self.table

    def _select(self) -> Any:
        table = self._table()
        return select(*(table.c[c].label(ours) for ours, c in self._pairs()))

    def _pairs(self) -> list[tuple[str, str]]:
        return [(ours, theirs) for ours in COLUMNS if (theirs := self.mapping.column(ours)) is not None]

    def rows_after_id(self, last_id: Any, limit: int = PAGE_ROWS) -> list[dict[str, Any]]:
        """A page of rows in id order, after `last_id` (from the start when None)."""
        table = self._table()
        id_column = table.c[self._required("id")]
        query = self._select().order_by(id_column).limit(limit)
        if last_id is not None:
            query = query.where(id_column > last_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def rows_since(self, since: datetime | str | float) -> list[dict[str, Any]]:
        """Rows with any of their times at or after `since` (in the table's own representation)."""
        table = self._table()
        times = [table.c[c] for c in (self.mapping.column(t) for t in TIMES) if c is not None]
        query = self._select().where(or_(*(column >= since for column in times)))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def rows_by_id(self, ids: Sequence[Any]) -> list[dict[str, Any]]:
        table = self._table()
        id_column = table.c[self._required("id")]
        found: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            for start in range(0, len(ids), IDS_PER_QUERY):
                chunk = list(ids[start : start + IDS_PER_QUERY])
                found += [
                    dict(row._mapping) for row in conn.execute(self._select().where(id_column.in_(chunk)))
                ]
        return found
