"""scale: a per-job index on histogram bins, and the retention horizons

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_rollup_bins_job", "rollup_bins", ["granularity", "job", "metric", "bucket"])
    op.create_table(
        "retention",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("before", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_retention")),
    )


def downgrade() -> None:
    op.drop_table("retention")
    op.drop_index("ix_rollup_bins_job", table_name="rollup_bins")
