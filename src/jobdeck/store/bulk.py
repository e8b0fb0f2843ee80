"""Writing many rows in few statements, below SQLAlchemy's per-row parameter processing.

The recorder writes thousands of rows a batch; SQLAlchemy's bind processing costs more than
SQLite's own insert. Rows are turned into plain tuples here, the way the column types would
store them (UTCDateTime: naive UTC text on SQLite; JSONValue: JSON text), and handed to the
driver: `executemany` on SQLite, `COPY` or a pipelined `executemany` on PostgreSQL. Driver
errors are raised as SQLAlchemy's, so callers handle one family of exceptions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    exc,
)

from jobdeck.store.types import JSONValue, UTCDateTime

_ZERO = timedelta(0)


def sqlite_time(value: datetime | None) -> str | None:
    """An aware datetime as SQLAlchemy stores it on SQLite: naive UTC, microseconds always shown."""
    if value is None:
        return None
    if value.tzinfo is not UTC:  # most times are UTC already: no offset to look up
        offset = value.utcoffset()
        if offset is None:
            raise ValueError("naive datetime: jobdeck stores only timezone-aware times")
        if offset != _ZERO:
            value = value.astimezone(UTC)
    # Fixed width for years 1000-9999: "YYYY-MM-DD HH:MM:SS.ffffff" (the offset, +00:00, is cut off).
    return value.isoformat(" ", "microseconds")[:26]


def pg_time(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetime: jobdeck stores only timezone-aware times")
    return value


def json_text(value: Any) -> str | None:
    """JSON text for a JSON column; None stays SQL NULL."""
    return None if value is None else json.dumps(value)


def converters(conn: Connection, table: Table, columns: Sequence[str]) -> list[Callable[[Any], Any] | None]:
    """Per column, the function that turns a Python value into what the driver should get (None: as is)."""
    time = sqlite_time if conn.dialect.name == "sqlite" else pg_time
    result: list[Callable[[Any], Any] | None] = []
    for name in columns:
        kind = table.c[name].type
        if isinstance(kind, UTCDateTime | DateTime):
            result.append(time)
        elif isinstance(kind, JSONValue):
            result.append(json_text)
        else:
            result.append(None)
    return result


def tuples(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], convert: Sequence[Callable[[Any], Any] | None]
) -> list[tuple[Any, ...]]:
    """Rows as tuples in column order, each value converted for the driver."""
    fixes = [(i, f) for i, f in enumerate(convert) if f is not None]
    result = []
    for row in rows:
        values = [row.get(c) for c in columns]
        for i, f in fixes:
            value = values[i]
            if value is not None:
                values[i] = f(value)
        result.append(tuple(values))
    return result


def placeholder(conn: Connection) -> str:
    return "?" if conn.dialect.name == "sqlite" else "%s"


@contextmanager
def driver_errors(statement: str) -> Iterator[None]:
    """Raise a driver's integrity and operational errors as SQLAlchemy's (with `.orig` kept)."""
    try:
        yield
    except Exception as error:
        name = type(error).__mro__
        if any(k.__name__ == "IntegrityError" for k in name):
            raise exc.IntegrityError(statement, None, error) from error
        if any(k.__name__ == "OperationalError" for k in name):
            raise exc.OperationalError(statement, None, error) from error
        raise


class Statement(NamedTuple):
    """One statement for `run` (in the driver's placeholder style): `many` runs it once per tuple of
    `params`, `rows` keeps what it returns."""

    sql: str
    params: Any = None
    many: bool = False
    rows: bool = False


def run(conn: Connection, statements: Sequence[Statement]) -> list[Any]:
    """Run statements in order in the connection's transaction, on the driver's own cursor (below
    SQLAlchemy's per-statement work); the rows of those that keep theirs, in order. On PostgreSQL
    they go to the server together (psycopg's pipeline mode): one round trip, not one each. Engine
    listeners of `before_cursor_execute` see each statement, as from `exec_driver_sql`."""
    if not statements:
        return []
    driver: Any = conn.connection.driver_connection
    listeners = conn.dispatch.before_cursor_execute
    found: list[Any] = []
    with driver_errors(statements[0].sql):
        if conn.dialect.name != "postgresql":
            cursor = driver.cursor()
            try:
                for statement in statements:
                    if listeners:
                        listeners(conn, cursor, statement.sql, statement.params, None, statement.many)
                    if statement.many:
                        cursor.executemany(statement.sql, statement.params)
                    else:
                        cursor.execute(statement.sql, statement.params or ())
                    if statement.rows:
                        found += cursor.fetchall()
            finally:
                cursor.close()
            return found
        cursors = []
        with driver.pipeline():
            for statement in statements:
                cursor = driver.cursor()
                cursors.append(cursor)
                if listeners:
                    listeners(conn, cursor, statement.sql, statement.params, None, statement.many)
                if statement.many:
                    cursor.executemany(statement.sql, statement.params)
                else:
                    cursor.execute(statement.sql, statement.params)
        # The pipeline's end waited for every result (a fetch inside it would wait once more).
        for cursor, statement in zip(cursors, statements, strict=True):
            if statement.rows:
                found += cursor.fetchall()
            cursor.close()
    return found


SMALL_INSERT_ROWS = 20


def insert(conn: Connection, table: Table, columns: Sequence[str], params: Sequence[tuple[Any, ...]]) -> None:
    """Insert many rows: executemany on SQLite, COPY on PostgreSQL."""
    run(conn, insert_statements(conn, table, columns, params))


def insert_statements(
    conn: Connection, table: Table, columns: Sequence[str], params: Sequence[tuple[Any, ...]]
) -> list[Statement]:
    """The statement inserting many rows, for `run`: an executemany on SQLite, one INSERT of a few
    rows on PostgreSQL. More rows than that go to PostgreSQL by COPY, at once (a COPY cannot join a
    pipeline), and there is nothing left to run."""
    if not params:
        return []
    names = ", ".join(columns)
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" * len(columns))
        return [Statement(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", list(params), many=True)]
    if len(params) <= SMALL_INSERT_ROWS:
        # A COPY costs a few round trips of its own: a few rows go as one INSERT.
        marks = f"({', '.join(['%s'] * len(columns))})"
        statement = f"INSERT INTO {table.name} ({names}) VALUES {', '.join([marks] * len(params))}"
        return [Statement(statement, tuple(value for values in params for value in values))]
    # Binary COPY: psycopg's C dumpers write each value in its wire form, no text to parse.
    statement = f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with driver_errors(statement), cursor, cursor.copy(statement) as copy:
        copy.set_types([pg_type_name(table.c[name].type) for name in columns])
        for values in params:
            copy.write_row(values)
    return []


# Most specific first: BigInteger and SmallInteger are Integers, every type here is a String's kin.
_PG_COPY_TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (JSONValue, "jsonb"),
    ((UTCDateTime, DateTime), "timestamptz"),
    (BigInteger, "int8"),
    (SmallInteger, "int2"),
    (Integer, "int4"),
    (Float, "float8"),
    (LargeBinary, "bytea"),
    (String, "text"),
)


def pg_type_name(column_type: Any) -> str:
    """The PostgreSQL type a column's driver values are written as in a binary COPY."""
    for kind, name in _PG_COPY_TYPES:
        if isinstance(column_type, kind):
            return name
    raise TypeError(f"no COPY type for {column_type!r}")


def analyze(conn: Connection) -> None:
    """Refresh the planner's statistics (after a bulk load, as autovacuum would in time)."""
    conn.exec_driver_sql("ANALYZE")
