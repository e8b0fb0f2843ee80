"""scale: rollup indexes that pay for their writes, and the retention horizons

The (granularity, bucket) indexes repeated the primary keys' prefix: every rollup write paid for
them and no read needed them. One job's histogram over a window gets its own index instead.

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
    op.drop_index("ix_rollups_bucket", table_name="rollups")
    op.drop_index("ix_rollup_bins_bucket", table_name="rollup_bins")
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
    op.create_index("ix_rollup_bins_bucket", "rollup_bins", ["granularity", "metric", "bucket"])
    op.create_index("ix_rollups_bucket", "rollups", ["granularity", "bucket"])
