"""run search: an index for substring search over run id, job, error and args

SQLite: an FTS5 table with the trigram tokenizer over the runs table's own columns (external
content), kept in step by triggers, so the recorder writes runs as before. PostgreSQL: a pg_trgm
GIN index over one expression (jobdeck.store.search.PG_SEARCH_TEXT must stay equal to it).

Neither object is in SQLAlchemy's metadata (tests/integration/test_migrations.py ignores the
names runs_fts, ix_runs_search and trg_runs_*). A later migration that rebuilds the runs table on
SQLite (batch mode "move and copy") drops these triggers and must create them again.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = "run_id, job, error_type, error_message, args"
_NEW = ", ".join(f"new.{c.strip()}" for c in _COLUMNS.split(","))
_OLD = ", ".join(f"old.{c.strip()}" for c in _COLUMNS.split(","))
_CHANGED = " OR ".join(f"old.{c.strip()} IS NOT new.{c.strip()}" for c in _COLUMNS.split(","))

SQLITE_UP = [
    f"CREATE VIRTUAL TABLE runs_fts USING fts5({_COLUMNS}, "
    "content='runs', content_rowid='id', tokenize='trigram')",
    f"""CREATE TRIGGER trg_runs_fts_insert AFTER INSERT ON runs BEGIN
        INSERT INTO runs_fts(rowid, {_COLUMNS}) VALUES (new.id, {_NEW});
    END""",
    f"""CREATE TRIGGER trg_runs_fts_delete AFTER DELETE ON runs BEGIN
        INSERT INTO runs_fts(runs_fts, rowid, {_COLUMNS}) VALUES ('delete', old.id, {_OLD});
    END""",
    # Only when a searched column changes: heartbeats and progress leave the index alone.
    f"""CREATE TRIGGER trg_runs_fts_update AFTER UPDATE ON runs WHEN {_CHANGED} BEGIN
        INSERT INTO runs_fts(runs_fts, rowid, {_COLUMNS}) VALUES ('delete', old.id, {_OLD});
        INSERT INTO runs_fts(rowid, {_COLUMNS}) VALUES (new.id, {_NEW});
    END""",
    "INSERT INTO runs_fts(runs_fts) VALUES ('rebuild')",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS trg_runs_fts_update",
    "DROP TRIGGER IF EXISTS trg_runs_fts_delete",
    "DROP TRIGGER IF EXISTS trg_runs_fts_insert",
    "DROP TABLE IF EXISTS runs_fts",
]

PG_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_runs_search ON runs USING gin (("
    "run_id || ' ' || job || ' ' || coalesce(error_type, '') || ' ' || coalesce(error_message, '')"
    " || ' ' || coalesce(args::text, '')) gin_trgm_ops)",
]

PG_DOWN = ["DROP INDEX IF EXISTS ix_runs_search"]


def upgrade() -> None:
    for statement in SQLITE_UP if op.get_bind().dialect.name == "sqlite" else PG_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else PG_DOWN:
        op.execute(statement)
