"""Base and theme libraries (issue 21): definitions per resource version, conflict counts per
fusion batch, objections sent for conflicts.

Revision ID: 0027
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from yibenzhang.db import UTCDateTime

revision = "0027"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "library_definitions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("resource_id", sa.Integer(), sa.ForeignKey("resources.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("resource_id", "version"),
    )
    op.create_index("ix_library_definitions_resource_id", "library_definitions", ["resource_id"])
    op.create_table(
        "library_conflict_counts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("library_id", sa.Integer(), sa.ForeignKey("resources.id"), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("source_resource_id", sa.Integer(), sa.ForeignKey("resources.id"), nullable=False),
        sa.Column("source_org_id", sa.Integer(), sa.ForeignKey("orgs.id"), nullable=False),
        sa.Column("item", sa.String(100), nullable=False),
        sa.Column("compared", sa.BigInteger(), nullable=False),
        sa.Column("conflicts", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_library_conflict_counts_lib_batch", "library_conflict_counts", ["library_id", "batch_id"])
    op.create_index("ix_library_conflict_counts_source_org_id", "library_conflict_counts", ["source_org_id"])
    op.create_table(
        "library_conflict_objections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("library_id", sa.Integer(), sa.ForeignKey("resources.id"), nullable=False),
        sa.Column("source_resource_id", sa.Integer(), sa.ForeignKey("resources.id"), nullable=False),
        sa.Column("item", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("objection_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("library_id", "source_resource_id", "item", "subject"),
    )
    op.create_index("ix_library_conflict_objections_source_resource_id", "library_conflict_objections",
                    ["source_resource_id"])


def downgrade() -> None:
    op.drop_table("library_conflict_objections")
    op.drop_table("library_conflict_counts")
    op.drop_table("library_definitions")
