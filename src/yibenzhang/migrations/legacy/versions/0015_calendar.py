"""compliance calendar: people counts, audit firms, audits, reminders

Revision ID: 0015
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db

revision = "0015"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_people_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("people", sa.BigInteger(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name="fk_audit_people_counts_org_id_orgs"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_people_counts"),
    )
    op.create_index("ix_audit_people_counts_org_as_of", "audit_people_counts", ["org_id", "as_of"])
    op.create_table(
        "audit_firms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_firms"),
        sa.UniqueConstraint("name", name="uq_audit_firms_name"),
    )
    op.create_table(
        "audit_audits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", yibenzhang.db.UTCDateTime(), nullable=True),
        sa.Column("ordered_on", sa.Date(), nullable=True),
        sa.Column("basis", sa.Text(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("original_due_on", sa.Date(), nullable=False),
        sa.Column("extensions", sa.JSON(), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name="fk_audit_audits_org_id_orgs"),
        sa.ForeignKeyConstraint(["firm_id"], ["audit_firms.id"], name="fk_audit_audits_firm_id_audit_firms"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_audits"),
    )
    op.create_index("ix_audit_audits_org_state", "audit_audits", ["org_id", "state"])
    op.create_table(
        "audit_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("duty_key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("remind_on", sa.Date(), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name="fk_audit_reminders_org_id_orgs"),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name="fk_audit_reminders_region_id_regions"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_reminders"),
        sa.UniqueConstraint("duty_key", "due_on", name="uq_audit_reminders_duty_key_due_on"),
    )
    op.create_index("ix_audit_reminders_org_id", "audit_reminders", ["org_id"])


def downgrade() -> None:
    op.drop_table("audit_reminders")
    op.drop_table("audit_audits")
    op.drop_table("audit_firms")
    op.drop_index("ix_audit_people_counts_org_as_of", table_name="audit_people_counts")
    op.drop_table("audit_people_counts")
