"""operate: authorizations of operators (授权运营) and sandbox runs (数据可用不可见)

One row per authorization: operator org, region, scope, resources and items, purpose, conditions,
term, fee cap, state and the history of its acts. One row per sandbox query, released or refused,
with the SQL digest, the outcome and the output digest.

Revision ID: 0012
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db

revision = "0012"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operate_authorizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_org_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("scope_kind", sa.String(length=8), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=True),
        sa.Column("resources", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("fee_cap_fen", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["operator_org_id"], ["orgs.id"],
                                name="fk_operate_authorizations_operator_org_id_orgs"),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name="fk_operate_authorizations_region_id_regions"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name="fk_operate_authorizations_created_by_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_operate_authorizations"),
    )
    op.create_index("ix_operate_authorizations_region_id", "operate_authorizations", ["region_id"])
    op.create_index("ix_operate_authorizations_operator_state", "operate_authorizations",
                    ["operator_org_id", "state"])
    op.create_table(
        "operate_sandbox_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("authorization_id", sa.Integer(), nullable=False),
        sa.Column("operator_org_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("sql_text", sa.Text(), nullable=False),
        sa.Column("sql_digest", sa.String(length=64), nullable=False),
        sa.Column("resources", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("release_kind", sa.String(length=8), nullable=True),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=True),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("output_digest", sa.String(length=64), nullable=True),
        sa.Column("output_path", sa.String(length=500), nullable=True),
        sa.Column("fingerprint", sa.JSON(), nullable=True),
        sa.Column("elapsed_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["authorization_id"], ["operate_authorizations.id"],
                                name="fk_operate_sandbox_runs_authorization_id_operate_authorizations"),
        sa.ForeignKeyConstraint(["operator_org_id"], ["orgs.id"], name="fk_operate_sandbox_runs_operator_org_id_orgs"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_operate_sandbox_runs_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_operate_sandbox_runs"),
    )
    op.create_index("ix_operate_sandbox_runs_operator_org_id", "operate_sandbox_runs", ["operator_org_id"])
    op.create_index("ix_operate_sandbox_runs_auth_state", "operate_sandbox_runs", ["authorization_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_operate_sandbox_runs_auth_state", table_name="operate_sandbox_runs")
    op.drop_index("ix_operate_sandbox_runs_operator_org_id", table_name="operate_sandbox_runs")
    op.drop_table("operate_sandbox_runs")
    op.drop_index("ix_operate_authorizations_operator_state", table_name="operate_authorizations")
    op.drop_index("ix_operate_authorizations_region_id", table_name="operate_authorizations")
    op.drop_table("operate_authorizations")
