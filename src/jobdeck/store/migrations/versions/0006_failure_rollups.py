"""failure rollups: failed runs carry their fingerprint, and their counts per fingerprint are rolled up

The failures view grouped a window's failed runs in Python (360-400 ms for a day at 10M runs);
now a run's fingerprint is stored when it fails, an index on (fingerprint, run_at) finds a group's
first, last and newest run, and `failure_rollups` counts failures per fingerprint by minute, hour
and day, kept by the recorder. Existing failed runs are fingerprinted and counted here.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from alembic import op

from jobdeck.analytics.fingerprints import fingerprint

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

GRANULARITIES = (60, 3600, 86400)


def _epoch_seconds(value: object) -> int:
    if isinstance(value, str):  # SQLite keeps times as text
        from datetime import UTC, datetime

        return int(datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp())
    return int(value.timestamp())  # type: ignore[attr-defined]


def upgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("runs", recreate="never") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(length=32), nullable=True))
    op.create_index(
        "ix_runs_fingerprint",
        "runs",
        ["fingerprint", "run_at"],
        sqlite_where=sa.text("fingerprint IS NOT NULL"),
        postgresql_where=sa.text("fingerprint IS NOT NULL"),
    )
    table = op.create_table(
        "failure_rollups",
        sa.Column("granularity", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("job", sa.String(length=200), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("granularity", "bucket", "fingerprint", name=op.f("pk_failure_rollups")),
    )
    rows = conn.execute(
        sa.text("SELECT id, job, error_type, error_message, run_at FROM runs WHERE status = 'failed'")
    ).all()
    counts: Counter[tuple[int, int, str, str]] = Counter()
    update = sa.text("UPDATE runs SET fingerprint = :fp WHERE id = :id")
    for start in range(0, len(rows), 5000):
        chunk = rows[start : start + 5000]
        params = []
        for row_id, job, error_type, message, run_at in chunk:
            fp = fingerprint(job, error_type, message)
            params.append({"fp": fp, "id": row_id})
            at = _epoch_seconds(run_at)
            for g in GRANULARITIES:
                counts[(g, at - at % g, fp, job)] += 1
        conn.execute(update, params)
    cells = [
        {"granularity": g, "bucket": b, "fingerprint": fp, "job": job, "n": n}
        for (g, b, fp, job), n in counts.items()
    ]
    for start in range(0, len(cells), 5000):
        op.bulk_insert(table, cells[start : start + 5000])


def downgrade() -> None:
    op.drop_table("failure_rollups")
    op.drop_index("ix_runs_fingerprint", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("fingerprint")
