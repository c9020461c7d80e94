"""objections (异议)

One row per objection: what is disputed (resource, batch, row reference, items, free text),
its deadlines in working days and each step of its handling.

Revision ID: 0005_objections
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db

revision = "0005_objections"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "objections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("row_key", sa.JSON(), nullable=True),
        sa.Column("row_number", sa.Integer(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("claim", sa.Text(), nullable=False),
        sa.Column("expected", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column("filed_by_id", sa.Integer(), nullable=True),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("answer_due", sa.Date(), nullable=False),
        sa.Column("correct_due", sa.Date(), nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=True),
        sa.Column("answer_reason", sa.Text(), nullable=True),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("correction_note", sa.Text(), nullable=True),
        sa.Column("correction_batch_id", sa.Integer(), nullable=True),
        sa.Column("corrected_on", sa.Date(), nullable=True),
        sa.Column("corrected_by", sa.String(length=64), nullable=True),
        sa.Column("escalated_on", sa.Date(), nullable=True),
        sa.Column("escalated_from", sa.String(length=8), nullable=True),
        sa.Column("decision", sa.String(length=8), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("withdrawn_on", sa.Date(), nullable=True),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], name="fk_objections_resource_id_resources"),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name="fk_objections_org_id_orgs"),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name="fk_objections_region_id_regions"),
        sa.ForeignKeyConstraint(["filed_by_id"], ["users.id"], name="fk_objections_filed_by_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_objections"),
    )
    op.create_index("ix_objections_resource_id", "objections", ["resource_id"])
    op.create_index("ix_objections_org_state", "objections", ["org_id", "state"])
    op.create_index("ix_objections_filed_by_id", "objections", ["filed_by_id"])


def downgrade() -> None:
    op.drop_index("ix_objections_filed_by_id", table_name="objections")
    op.drop_index("ix_objections_org_state", table_name="objections")
    op.drop_index("ix_objections_resource_id", table_name="objections")
    op.drop_table("objections")
