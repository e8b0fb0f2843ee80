"""join fold: runs keep their own fold state (no event log), sketches are stored per rollup cell

- The fold became a join (jobdeck.events): a run's row holds what order tolerance needs, so the
  `events` table goes. Stored runs get the new fold state: an integer top key, their starts and
  enqueue flag, and every carried field keyed by the top key (a later event with an older time
  then leaves the stored values alone, as it would have).
- Histogram bins move from one row per bin (`rollup_bins`) into two binary columns of their cell.
- Search: the FTS5 / pg_trgm index no longer covers run_id and job (run ids are found through
  their unique index by prefix, jobs by their filter); it covered most of a run insert's cost.
  On PostgreSQL run_id takes the "C" collation, so that prefix is a range in byte order.
- ix_runs_parent_run_id becomes partial: only retries have a parent. Rollups get a (granularity,
  job, bucket) index for one job's cells (the bins table had one).
- A `counters` table with the change counter the live views read.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_SEARCHED = "error_type, error_message, args"
_CHANGED = " OR ".join(f"old.{c} IS NOT new.{c}" for c in ("error_type", "error_message", "args"))
_NEW = ", ".join(f"new.{c.strip()}" for c in _SEARCHED.split(","))
_OLD = ", ".join(f"old.{c.strip()}" for c in _SEARCHED.split(","))

_OLD_TEXT = "(old.error_type IS NOT NULL OR old.error_message IS NOT NULL OR old.args IS NOT NULL)"
_NEW_TEXT = "(new.error_type IS NOT NULL OR new.error_message IS NOT NULL OR new.args IS NOT NULL)"
SQLITE_SEARCH = [
    "DROP TRIGGER IF EXISTS trg_runs_fts_update",
    "DROP TRIGGER IF EXISTS trg_runs_fts_delete",
    "DROP TRIGGER IF EXISTS trg_runs_fts_insert",
    "DROP TABLE IF EXISTS runs_fts",
    # Only runs with something to find are indexed: the recorder adds new ones in one statement
    # after inserting a batch (jobdeck.store.run_writes.insert_statements), since a trigger on insert
    # costs a statement journal per row; these keep the index right on update and delete.
    f"CREATE VIRTUAL TABLE runs_fts USING fts5({_SEARCHED}, "
    "content='runs', content_rowid='id', tokenize='trigram', columnsize=0)",
    f"""CREATE TRIGGER trg_runs_fts_delete AFTER DELETE ON runs WHEN {_OLD_TEXT} BEGIN
        INSERT INTO runs_fts(runs_fts, rowid, {_SEARCHED}) VALUES ('delete', old.id, {_OLD});
    END""",
    # Only updates that set a searched column (the recorder sets only what changed). The old entry
    # goes before the new one comes: in the other order a word in both would be lost.
    f"""CREATE TRIGGER trg_runs_fts_update AFTER UPDATE OF {_SEARCHED} ON runs WHEN {_CHANGED} BEGIN
        INSERT INTO runs_fts(runs_fts, rowid, {_SEARCHED}) SELECT 'delete', old.id, {_OLD} WHERE {_OLD_TEXT};
        INSERT INTO runs_fts(rowid, {_SEARCHED}) SELECT new.id, {_NEW} WHERE {_NEW_TEXT};
    END""",
    f"INSERT INTO runs_fts(rowid, {_SEARCHED}) SELECT id, {_SEARCHED} FROM runs "
    "WHERE error_type IS NOT NULL OR error_message IS NOT NULL OR args IS NOT NULL",
]

PG_SEARCH = [
    "DROP INDEX IF EXISTS ix_runs_search",
    "CREATE INDEX ix_runs_search ON runs USING gin (("
    "coalesce(error_type, '') || ' ' || coalesce(error_message, '') || ' ' || coalesce(args::text, '')"
    ") gin_trgm_ops)",
]

_CARRIED = (
    "job", "queue", "priority", "source", "worker", "host", "pid", "eta", "max_retries",
    "parent_run_id", "schedule_id", "args", "kwargs", "result", "error_type", "error_message",
    "traceback",
)  # fmt: skip


def _new_key(old: str) -> int:
    """The integer order key of an old string key: rank, micros + 2**62 (20 digits), kind (2 digits)."""
    rank, micros, kind = int(old[0]), int(old[1:21]) - 2**62, int(old[21:23])
    return (rank << 60) | ((micros + 2**54) << 4) | kind


def _convert_runs(conn: sa.Connection) -> None:
    rows = conn.execute(sa.text(f"SELECT id, fold_key, fold_state, {', '.join(_CARRIED)}, labels FROM runs"))
    updates: list[dict[str, Any]] = []
    for row in rows.mappings():
        key = _new_key(row["fold_key"])
        old = row["fold_state"]
        old = json.loads(old) if isinstance(old, str) else old
        state: dict[str, Any] = {"s": old.get("starts", []), "e": int(bool(old.get("enq")))}
        fields = {name: key for name in _CARRIED if row[name] is not None}
        if fields:
            state["k"] = fields
        labels = row["labels"]
        labels = json.loads(labels) if isinstance(labels, str) else labels
        if labels:
            state["l"] = dict.fromkeys(labels, key)
        updates.append({"id": row["id"], "fold_key": str(key), "fold_state": json.dumps(state)})
    value = "CAST(:fold_state AS jsonb)" if conn.dialect.name == "postgresql" else ":fold_state"
    statement = sa.text(f"UPDATE runs SET fold_key = :fold_key, fold_state = {value} WHERE id = :id")
    for start in range(0, len(updates), 5000):
        conn.execute(statement, updates[start : start + 5000])


def _move_bins(conn: sa.Connection) -> None:
    """Pack every cell's bin rows into its two sketch columns."""
    import struct

    rows = conn.execute(
        sa.text(
            "SELECT granularity, bucket, job, metric, bin, n FROM rollup_bins WHERE n > 0 "
            "ORDER BY granularity, bucket, job, metric, bin"
        )
    )
    sketches: dict[tuple[Any, ...], list[int]] = {}
    for g, bucket, job, metric, index, n in rows:
        sketches.setdefault((g, bucket, job, metric), []).extend((int(index), int(n)))
    statements = [
        sa.text(f"UPDATE rollups SET {column} = :blob WHERE granularity = :g AND bucket = :b AND job = :j")
        for column in ("dur_hist", "wait_hist")
    ]
    for (g, bucket, job, metric), flat in sketches.items():
        blob = struct.pack(f"<{len(flat)}q", *flat)
        conn.execute(statements[metric], {"blob": blob, "g": g, "b": bucket, "j": job})


def upgrade() -> None:
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    op.add_column("rollups", sa.Column("dur_hist", sa.LargeBinary(), nullable=True))
    op.add_column("rollups", sa.Column("wait_hist", sa.LargeBinary(), nullable=True))
    _move_bins(conn)
    op.create_index("ix_rollups_job", "rollups", ["granularity", "job", "bucket"])
    op.drop_index("ix_rollup_bins_job", table_name="rollup_bins")
    op.drop_table("rollup_bins")
    _convert_runs(conn)
    op.drop_table("events")
    op.drop_index("ix_runs_parent_run_id", table_name="runs")
    op.create_index(
        "ix_runs_parent_run_id",
        "runs",
        ["parent_run_id"],
        sqlite_where=sa.text("parent_run_id IS NOT NULL"),
        postgresql_where=sa.text("parent_run_id IS NOT NULL"),
    )
    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.bulk_insert(counters, [{"name": "changes", "value": 0}])
    if not sqlite:
        op.execute('ALTER TABLE runs ALTER COLUMN run_id TYPE varchar(200) COLLATE "C"')
    for statement in SQLITE_SEARCH if sqlite else PG_SEARCH:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("0005 drops the event log; restore a backup taken before upgrading")
