"""share grants, usage and deliveries

share_grants: what a consumer org may take from a resource (items, mode, 回流 row scope, period,
rate limit). share_usage: one row per call under a grant (item names and counts, no values).
share_deliveries: files of a grant's rows, downloadable once.

Revision ID: 0010_share_grants
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db

revision = "0010_share_grants"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "share_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("consumer_org_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("row_scope", sa.JSON(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
        sa.Column("exit_path", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", yibenzhang.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["consumer_org_id"], ["orgs.id"], name="fk_share_grants_consumer_org_id_orgs"),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], name="fk_share_grants_resource_id_resources"),
        sa.PrimaryKeyConstraint("id", name="pk_share_grants"),
    )
    op.create_index("ix_share_grants_request_id", "share_grants", ["request_id"])
    op.create_index("ix_share_grants_consumer_org_id", "share_grants", ["consumer_org_id"])
    op.create_index("ix_share_grants_resource_id", "share_grants", ["resource_id"])
    op.create_table(
        "share_usage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("consumer_org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["grant_id"], ["share_grants.id"], name="fk_share_usage_grant_id_share_grants"),
        sa.PrimaryKeyConstraint("id", name="pk_share_usage"),
    )
    op.create_index("ix_share_usage_grant_id", "share_usage", ["grant_id"])
    op.create_index("ix_share_usage_resource_id", "share_usage", ["resource_id"])
    op.create_index("ix_share_usage_consumer_org_id", "share_usage", ["consumer_org_id"])
    op.create_table(
        "share_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(length=500), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.Column("ready_at", yibenzhang.db.UTCDateTime(), nullable=True),
        sa.Column("downloaded_at", yibenzhang.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["grant_id"], ["share_grants.id"], name="fk_share_deliveries_grant_id_share_grants"),
        sa.PrimaryKeyConstraint("id", name="pk_share_deliveries"),
    )
    op.create_index("ix_share_deliveries_grant_id", "share_deliveries", ["grant_id"])


def downgrade() -> None:
    op.drop_index("ix_share_deliveries_grant_id", table_name="share_deliveries")
    op.drop_table("share_deliveries")
    for col in ("consumer_org_id", "resource_id", "grant_id"):
        op.drop_index(f"ix_share_usage_{col}", table_name="share_usage")
    op.drop_table("share_usage")
    for col in ("resource_id", "consumer_org_id", "request_id"):
        op.drop_index(f"ix_share_grants_{col}", table_name="share_grants")
    op.drop_table("share_grants")
