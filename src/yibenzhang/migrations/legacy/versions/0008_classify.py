"""classify: per-item suggestions and the stewards' decisions

Revision ID: 0008_classify
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db

revision = "0008_classify"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "classification_suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("full_scan", sa.Boolean(), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["resource_items.id"],
                                name=op.f("fk_classification_suggestions_item_id_resource_items"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"],
                                name=op.f("fk_classification_suggestions_resource_id_resources"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classification_suggestions")),
        sa.UniqueConstraint("item_id", name=op.f("uq_classification_suggestions_item_id")),
    )
    op.create_index(op.f("ix_classification_suggestions_resource_id"), "classification_suggestions",
                    ["resource_id"])
    op.create_table(
        "classification_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("suggested_grade", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["resource_items.id"],
                                name=op.f("fk_classification_decisions_item_id_resource_items"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"],
                                name=op.f("fk_classification_decisions_resource_id_resources"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classification_decisions")),
        sa.UniqueConstraint("item_id", name=op.f("uq_classification_decisions_item_id")),
    )
    op.create_index(op.f("ix_classification_decisions_resource_id"), "classification_decisions", ["resource_id"])
    op.create_index("ix_classification_decisions_grade", "classification_decisions", ["grade"])


def downgrade() -> None:
    op.drop_table("classification_decisions")
    op.drop_table("classification_suggestions")
