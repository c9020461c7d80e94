"""Many workers, one truth (issue 14): shared rate-limit counters; each usage record names the
ledger summary that seals it (written from the stored records, not from a process's memory)

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_counters",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("hits", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rate_counters")),
    )
    op.create_index(op.f("ix_rate_counters_expires_at"), "rate_counters", ["expires_at"])
    with op.batch_alter_table("share_usage") as batch:
        batch.add_column(sa.Column("summary_seq", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_share_usage_summary_seq"), "share_usage", ["summary_seq"])


def downgrade() -> None:
    op.drop_index(op.f("ix_share_usage_summary_seq"), table_name="share_usage")
    with op.batch_alter_table("share_usage") as batch:
        batch.drop_column("summary_seq")
    op.drop_index(op.f("ix_rate_counters_expires_at"), table_name="rate_counters")
    op.drop_table("rate_counters")
