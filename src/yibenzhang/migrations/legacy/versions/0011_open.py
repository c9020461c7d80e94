"""open data: applications, API keys, usage counters, demands, showcase, open plans

Revision ID: 0011
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db

revision = "0011"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open_api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_digest", sa.String(length=64), nullable=False),
        sa.Column("resource_ids", sa.JSON(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("revoked_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_open_api_keys_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_open_api_keys_prefix")),
    )
    op.create_index(op.f("ix_open_api_keys_user_id"), "open_api_keys", ["user_id"], unique=False)
    op.create_table(
        "open_showcase",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("resource_ids", sa.JSON(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name=op.f("fk_open_showcase_region_id_regions")),
        sa.ForeignKeyConstraint(["reviewed_by_id"], ["users.id"], name=op.f("fk_open_showcase_reviewed_by_id_users")),
        sa.ForeignKeyConstraint(["submitted_by_id"], ["users.id"], name=op.f("fk_open_showcase_submitted_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_showcase")),
    )
    op.create_index(op.f("ix_open_showcase_state"), "open_showcase", ["state"], unique=False)
    op.create_table(
        "open_demands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("domain", sa.String(length=16), nullable=True),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("requester_id", sa.Integer(), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("routed_by", sa.String(length=16), nullable=False),
        sa.Column("matched_resource_ids", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("asked_on", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("overdue_marked", sa.Boolean(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["answered_by_id"], ["users.id"], name=op.f("fk_open_demands_answered_by_id_users")),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_open_demands_org_id_orgs")),
        sa.ForeignKeyConstraint(["requester_id"], ["users.id"], name=op.f("fk_open_demands_requester_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_demands")),
    )
    op.create_index("ix_open_demands_org_state", "open_demands", ["org_id", "state"], unique=False)
    op.create_table(
        "open_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("provider_org_id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("agreement_version", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("overdue_marked", sa.Boolean(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["applicant_id"], ["users.id"], name=op.f("fk_open_applications_applicant_id_users")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_open_applications_decided_by_id_users")),
        sa.ForeignKeyConstraint(
            ["provider_org_id"], ["orgs.id"], name=op.f("fk_open_applications_provider_org_id_orgs")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_open_applications_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_applications")),
    )
    op.create_index(
        "ix_open_applications_applicant_resource", "open_applications", ["applicant_id", "resource_id"], unique=False
    )
    op.create_index(
        "ix_open_applications_provider_state", "open_applications", ["provider_org_id", "state"], unique=False
    )
    op.create_index(op.f("ix_open_applications_resource_id"), "open_applications", ["resource_id"], unique=False)
    op.create_table(
        "open_plan_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("open_type", sa.String(length=16), nullable=False),
        sa.Column("planned_quarter", sa.Integer(), nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_open_plan_entries_created_by_id_users")),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_open_plan_entries_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_open_plan_entries_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_plan_entries")),
        sa.UniqueConstraint("org_id", "year", "title", name="uq_open_plan_entries_org_year_title"),
    )
    op.create_index("ix_open_plan_entries_year_org", "open_plan_entries", ["year", "org_id"], unique=False)
    op.create_table(
        "open_usage",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], name=op.f("fk_open_usage_resource_id_resources")),
        sa.PrimaryKeyConstraint("resource_id", "day", "kind", name=op.f("pk_open_usage")),
    )


def downgrade() -> None:
    op.drop_table("open_usage")
    op.drop_index("ix_open_plan_entries_year_org", table_name="open_plan_entries")
    op.drop_table("open_plan_entries")
    op.drop_index(op.f("ix_open_applications_resource_id"), table_name="open_applications")
    op.drop_index("ix_open_applications_provider_state", table_name="open_applications")
    op.drop_index("ix_open_applications_applicant_resource", table_name="open_applications")
    op.drop_table("open_applications")
    op.drop_index("ix_open_demands_org_state", table_name="open_demands")
    op.drop_table("open_demands")
    op.drop_index(op.f("ix_open_showcase_state"), table_name="open_showcase")
    op.drop_table("open_showcase")
    op.drop_index(op.f("ix_open_api_keys_user_id"), table_name="open_api_keys")
    op.drop_table("open_api_keys")
