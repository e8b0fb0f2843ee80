"""Finding runs: filters and indexed text search, newest first with keyset pagination.

Text search finds runs whose id starts with the text, and runs whose error type, error message,
args or kwargs contain it (any case). Both go through indexes: run ids through their unique index (a range
scan in byte order), the rest through FTS5 trigram on SQLite and a pg_trgm GIN index on PostgreSQL
(migration 0009). The substring index needs at least three characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression

from jobdeck.store.rollups import GRANULARITIES
from jobdeck.store.runs import SUMMARY_COLUMNS, keyset_page
from jobdeck.store.schema import rollups, runs

MIN_SEARCH_CHARS = 3
MAX_SEARCH_CHARS = 200

# Must equal the expression of the ix_runs_search index (migration 0009), or PostgreSQL ignores it.
PG_SEARCH_TEXT: ColumnElement[str] = literal_column(
    "(coalesce(error_type, '') || ' ' || coalesce(error_message, '') || ' ' || coalesce(args::text, '')"
    " || ' ' || coalesce(kwargs::text, ''))"
)
# Above every character: a run id starts with the text exactly when it sorts in [text, text + this).
_AFTER_ALL = "\U0010ffff"
_runs_fts = table("runs_fts", column("rowid"))


@dataclass(frozen=True)
class RunFilter:
    """What a run list shows: any of job, statuses, queue, a time range and a search text."""

    job: str | None = None
    statuses: tuple[str, ...] = ()
    queue: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        if self.text is not None:
            check_search_text(self.text)


def check_search_text(text: str) -> None:
    """Raise ValueError when a search text cannot use the index."""
    if len(text.strip()) < MIN_SEARCH_CHARS:
        raise ValueError(f"search needs at least {MIN_SEARCH_CHARS} characters")
    if len(text) > MAX_SEARCH_CHARS:
        raise ValueError(f"search takes at most {MAX_SEARCH_CHARS} characters")
    if any(ord(char) < 32 or char == "\x7f" for char in text):
        # SQLite's query parser ends a phrase at a NUL ("unterminated string"), PostgreSQL refuses
        # it in text: bad input, not a store that is unavailable.
        raise ValueError("search must not contain control characters")


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def text_match(dialect: str, text: str) -> ColumnElement[bool]:
    """The indexed condition for runs whose id starts with `text` or whose error, args or kwargs
    contain it."""
    text = text.strip()
    by_id = and_(runs.c.run_id >= text, runs.c.run_id < text + _AFTER_ALL)
    if dialect == "sqlite":
        phrase = '"' + text.replace('"', '""') + '"'
        matching = select(_runs_fts.c.rowid).where(literal_column("runs_fts").op("MATCH")(phrase))
        return or_(by_id, runs.c.id.in_(matching.scalar_subquery()))
    return or_(by_id, PG_SEARCH_TEXT.ilike(_like_pattern(text), escape="\\"))


def _unindexed(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The column behind SQLite's unary +, which keeps the planner off its indexes."""
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)


def conditions(dialect: str, where: RunFilter) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a filter."""
    job: ColumnElement[Any] = runs.c.job
    status: ColumnElement[Any] = runs.c.status
    run_at: ColumnElement[Any] = runs.c.run_at
    if where.text and dialect == "sqlite":
        # Start from the search index, so a search costs what it matches, not what the job or
        # status has accumulated over the years (SQLite would otherwise walk those indexes).
        job, status, run_at = _unindexed(job), _unindexed(status), _unindexed(run_at)
    found: list[ColumnElement[bool]] = []
    if where.job is not None:
        found.append(job == where.job)
    if where.statuses:
        found.append(status.in_(where.statuses))
    if where.queue is not None:
        found.append(runs.c.queue == where.queue)
    if where.since is not None:
        found.append(run_at >= where.since)
    if where.until is not None:
        found.append(run_at <= where.until)
    if where.text:
        found.append(text_match(dialect, where.text))
    return found


def runs_query(dialect: str, where: RunFilter, columns: Sequence[str]) -> Select[Any]:
    """Runs matching a filter, newest first by (run_at, id); selects id and run_at too."""
    picked = [runs.c[name] for name in columns if name not in ("id", "run_at")]
    return (
        select(runs.c.id, runs.c.run_at, *picked)
        .where(*conditions(dialect, where))
        .order_by(runs.c.run_at.desc(), runs.c.id.desc())
    )


def find_runs(
    conn: Connection,
    where: RunFilter,
    *,
    limit: int = 50,
    cursor: str | None = None,
    columns: Sequence[str] = SUMMARY_COLUMNS,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of matching runs and the cursor of the next page (None on the last)."""
    return keyset_page(conn, runs_query(conn.dialect.name, where, columns), limit, cursor, columns)


COUNT_CAP = 10_000


def count_runs(conn: Connection, where: RunFilter, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many runs match, counted up to `cap`: (count, True) when there are more than `cap`, so a
    list can say "more than 10,000" without counting millions of rows."""
    matching = select(runs.c.id).where(*conditions(conn.dialect.name, where)).limit(cap + 1).subquery()
    n = int(conn.execute(select(func.count()).select_from(matching)).scalar_one())
    return min(n, cap), n > cap


def job_names(conn: Connection) -> list[str]:
    """Every job ever seen, for filter menus: from the daily rollups, a few rows a day."""
    daily = GRANULARITIES[-1]
    query = select(rollups.c.job).where(rollups.c.granularity == daily).distinct().order_by(rollups.c.job)
    return list(conn.execute(query).scalars())
