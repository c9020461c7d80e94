"""operate: release policies (mode, review-all, ε budget), privacy-budget spends, output reviews (issue 16)

Revision ID: 0025
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db

revision = "0025"
down_revision = "0022"
branch_labels = None
depends_on = ("0012",)  # operate_authorizations and operate_sandbox_runs


def upgrade() -> None:
    op.create_table(
        "operate_release_policies",
        sa.Column("authorization_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("review_all", sa.Boolean(), nullable=False),
        sa.Column("epsilon_total_micro", sa.BigInteger(), nullable=False),
        sa.Column("epsilon_spent_micro", sa.BigInteger(), nullable=False),
        sa.Column("period_starts_on", sa.Date(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["authorization_id"], ["operate_authorizations.id"],
                                name="fk_operate_release_policies_authorization"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name="fk_operate_release_policies_updated_by_id_users"),
        sa.PrimaryKeyConstraint("authorization_id", name="pk_operate_release_policies"),
    )
    op.create_table(
        "operate_privacy_spends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("authorization_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("epsilon_micro", sa.BigInteger(), nullable=False),
        sa.Column("spent_after_micro", sa.BigInteger(), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["authorization_id"], ["operate_authorizations.id"],
                                name="fk_operate_privacy_spends_authorization"),
        sa.ForeignKeyConstraint(["run_id"], ["operate_sandbox_runs.id"],
                                name="fk_operate_privacy_spends_run_id_operate_sandbox_runs"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_operate_privacy_spends_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_operate_privacy_spends"),
        sa.UniqueConstraint("run_id", name="uq_operate_privacy_spends_run_id"),
    )
    op.create_index("ix_operate_privacy_spends_authorization_id", "operate_privacy_spends", ["authorization_id"])
    op.create_table(
        "operate_output_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("authorization_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("checker_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", yibenzhang.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["operate_sandbox_runs.id"],
                                name="fk_operate_output_reviews_run_id_operate_sandbox_runs"),
        sa.ForeignKeyConstraint(["authorization_id"], ["operate_authorizations.id"],
                                name="fk_operate_output_reviews_authorization"),
        sa.ForeignKeyConstraint(["checker_id"], ["users.id"], name="fk_operate_output_reviews_checker_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_operate_output_reviews"),
        sa.UniqueConstraint("run_id", name="uq_operate_output_reviews_run_id"),
    )
    op.create_index("ix_operate_output_reviews_auth_state", "operate_output_reviews", ["authorization_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_operate_output_reviews_auth_state", table_name="operate_output_reviews")
    op.drop_table("operate_output_reviews")
    op.drop_index("ix_operate_privacy_spends_authorization_id", table_name="operate_privacy_spends")
    op.drop_table("operate_privacy_spends")
    op.drop_table("operate_release_policies")
