"""search kwargs: the text search index covers a run's kwargs as it covers its args

A run's keyword arguments were stored but not searched (a value passed as `customer="acme-kw-777"`
was not found). SQLite's FTS5 table gets a kwargs column (dropped, created and filled again, with
its triggers); PostgreSQL's pg_trgm expression (jobdeck.store.search.PG_SEARCH_TEXT) gains
`kwargs::text`. The recorder's insert (jobdeck.store.run_writes.insert_statements) names the same
columns.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _sqlite(columns: tuple[str, ...]) -> list[str]:
    """The FTS5 table and its triggers over `columns` (as migration 0005 made them, for other columns)."""
    searched = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in columns)
    old_text = "(" + " OR ".join(f"old.{c} IS NOT NULL" for c in columns) + ")"
    new_text = "(" + " OR ".join(f"new.{c} IS NOT NULL" for c in columns) + ")"
    has_text = " OR ".join(f"{c} IS NOT NULL" for c in columns)
    return [
        "DROP TRIGGER IF EXISTS trg_runs_fts_update",
        "DROP TRIGGER IF EXISTS trg_runs_fts_delete",
        "DROP TRIGGER IF EXISTS trg_runs_fts_insert",
        "DROP TABLE IF EXISTS runs_fts",
        f"CREATE VIRTUAL TABLE runs_fts USING fts5({searched}, "
        "content='runs', content_rowid='id', tokenize='trigram', columnsize=0)",
        f"""CREATE TRIGGER trg_runs_fts_delete AFTER DELETE ON runs WHEN {old_text} BEGIN
            INSERT INTO runs_fts(runs_fts, rowid, {searched}) VALUES ('delete', old.id, {old});
        END""",
        # The old entry goes before the new one comes: in the other order a word in both is lost.
        f"""CREATE TRIGGER trg_runs_fts_update AFTER UPDATE OF {searched} ON runs WHEN {changed} BEGIN
            INSERT INTO runs_fts(runs_fts, rowid, {searched}) SELECT 'delete', old.id, {old} WHERE {old_text};
            INSERT INTO runs_fts(rowid, {searched}) SELECT new.id, {new} WHERE {new_text};
        END""",
        f"INSERT INTO runs_fts(rowid, {searched}) SELECT id, {searched} FROM runs WHERE {has_text}",
    ]


def _pg(parts: tuple[str, ...]) -> list[str]:
    expression = " || ' ' || ".join(parts)
    return [
        "DROP INDEX IF EXISTS ix_runs_search",
        f"CREATE INDEX ix_runs_search ON runs USING gin (({expression}) gin_trgm_ops)",
    ]


_BEFORE = ("error_type", "error_message", "args")
_PG_BEFORE = ("coalesce(error_type, '')", "coalesce(error_message, '')", "coalesce(args::text, '')")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        statements = _sqlite((*_BEFORE, "kwargs"))
    else:
        statements = _pg((*_PG_BEFORE, "coalesce(kwargs::text, '')"))
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = _sqlite(_BEFORE) if op.get_bind().dialect.name == "sqlite" else _pg(_PG_BEFORE)
    for statement in statements:
        op.execute(statement)
