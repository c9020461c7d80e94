"""data zone manifest and saved column mappings

Revision ID: 0003_zone
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db

revision = "0003_zone"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "zone_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("rejected_count", sa.BigInteger(), nullable=False),
        sa.Column("schema", sa.JSON(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("reject_path", sa.String(length=400), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.Column("published_at", yibenzhang.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"],
                                name=op.f("fk_zone_batches_resource_id_resources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zone_batches")),
        sa.UniqueConstraint("resource_id", "seq", name=op.f("uq_zone_batches_resource_id")),
    )
    op.create_index("ix_zone_batches_resource_status", "zone_batches", ["resource_id", "status"])
    op.create_table(
        "collect_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("item", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], ondelete="CASCADE",
                                name=op.f("fk_collect_mappings_resource_id_resources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collect_mappings")),
        sa.UniqueConstraint("resource_id", "source", name=op.f("uq_collect_mappings_resource_id")),
    )


def downgrade() -> None:
    op.drop_table("collect_mappings")
    op.drop_index("ix_zone_batches_resource_status", table_name="zone_batches")
    op.drop_table("zone_batches")
