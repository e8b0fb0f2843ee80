"""schedules: schedules, their firings (unique per schedule and time), and runs by schedule

Revision ID: 0008
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jobdeck.store.types

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("job", sa.String(length=200), nullable=False),
        sa.Column("definition", jobdeck.store.types.JSONValue(), nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("next_run_at", jobdeck.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("executions", sa.Integer(), server_default="0", nullable=False),
        sa.Column("after_job", sa.String(length=200), nullable=True),
        sa.Column("after_cursor", jobdeck.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", jobdeck.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", jobdeck.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
    )
    op.create_index("ix_schedules_next_run_at", "schedules", ["next_run_at"])
    op.create_index("ix_schedules_after_job", "schedules", ["after_job"])
    op.create_table(
        "firings",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("schedule_id", sa.String(length=36), nullable=False),
        sa.Column("scheduled_at", jobdeck.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fired_at", jobdeck.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["schedule_id"], ["schedules.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_firings")),
        sa.UniqueConstraint("schedule_id", "scheduled_at", name=op.f("uq_firings_schedule_id_scheduled_at")),
    )
    op.create_index("ix_firings_state", "firings", ["state", "fired_at"])
    op.create_index(
        "ix_runs_schedule_id",
        "runs",
        ["schedule_id", "run_at"],
        sqlite_where=sa.text("schedule_id IS NOT NULL"),
        postgresql_where=sa.text("schedule_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_runs_schedule_id", table_name="runs")
    op.drop_table("firings")
    op.drop_table("schedules")
