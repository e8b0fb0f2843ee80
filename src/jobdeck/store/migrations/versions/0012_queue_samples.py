"""queue_samples: every job system's queue sizes, one row per queue and minute

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jobdeck.store.types import JSONValue

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queue_samples",
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("broker", sa.String(400), nullable=False),
        sa.Column("queue", sa.String(200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("size_max", sa.BigInteger(), nullable=False),
        sa.Column("counts", JSONValue(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "system", "broker", "queue", name="pk_queue_samples"),
    )
    op.create_index("ix_queue_samples_queue", "queue_samples", ["queue", "bucket"])


def downgrade() -> None:
    op.drop_index("ix_queue_samples_queue", table_name="queue_samples")
    op.drop_table("queue_samples")
