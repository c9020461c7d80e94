"""assessment targets (考核目标)

One row per target version: metric, scope (division code or platform), value, due date,
effective_from/effective_to (a revision closes the previous row), basis.

Revision ID: 0014
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db

revision = "0014"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assess_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=12), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("basis", sa.Text(), nullable=True),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assess_targets"),
    )
    op.create_index("ix_assess_targets_metric_scope", "assess_targets", ["metric", "scope"])


def downgrade() -> None:
    op.drop_index("ix_assess_targets_metric_scope", table_name="assess_targets")
    op.drop_table("assess_targets")
