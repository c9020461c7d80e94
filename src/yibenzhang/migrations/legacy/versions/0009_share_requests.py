"""share requests (共享申请) and org seal keys (数据共享专用章)

One row per request: what is asked (resource, items, mode, purpose, basis, scenario, period,
region scope), the current step and its working-day deadline, every decision, the sealed approval.
One row per org with a seal key: its SM2 public key (the private key is a file in YBZ_HOME).

Revision ID: 0009_share_requests
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db

revision = "0009_share_requests"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "org_seal_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.String(length=130), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name="fk_org_seal_keys_org_id_orgs"),
        sa.PrimaryKeyConstraint("id", name="pk_org_seal_keys"),
        sa.UniqueConstraint("org_id", name="uq_org_seal_keys_org_id"),
    )
    op.create_table(
        "share_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("provider_org_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("consumer_org_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("region_scope", sa.String(length=12), nullable=True),
        sa.Column("extra_items_reason", sa.Text(), nullable=True),
        sa.Column("share_type", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("step_started_on", sa.Date(), nullable=True),
        sa.Column("step_due", sa.Date(), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("escalated_on", sa.Date(), nullable=True),
        sa.Column("decisions", sa.JSON(), nullable=False),
        sa.Column("sealed", sa.JSON(), nullable=True),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], name="fk_share_requests_resource_id_resources"),
        sa.ForeignKeyConstraint(["provider_org_id"], ["orgs.id"], name="fk_share_requests_provider_org_id_orgs"),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name="fk_share_requests_region_id_regions"),
        sa.ForeignKeyConstraint(["consumer_org_id"], ["orgs.id"], name="fk_share_requests_consumer_org_id_orgs"),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"], name="fk_share_requests_requested_by_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_share_requests"),
    )
    op.create_index("ix_share_requests_consumer_org_id", "share_requests", ["consumer_org_id"])
    op.create_index("ix_share_requests_resource_consumer", "share_requests", ["resource_id", "consumer_org_id"])
    op.create_index("ix_share_requests_provider_state", "share_requests", ["provider_org_id", "state"])
    op.create_index("ix_share_requests_requested_by_id", "share_requests", ["requested_by_id"])


def downgrade() -> None:
    op.drop_index("ix_share_requests_requested_by_id", table_name="share_requests")
    op.drop_index("ix_share_requests_provider_state", table_name="share_requests")
    op.drop_index("ix_share_requests_resource_consumer", table_name="share_requests")
    op.drop_index("ix_share_requests_consumer_org_id", table_name="share_requests")
    op.drop_table("share_requests")
    op.drop_table("org_seal_keys")
