"""rollup versions: a stamp per rollup cell, so merged histograms can be cached and revalidated

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rollups", sa.Column("version", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("rollups") as batch:
        batch.drop_column("version")
