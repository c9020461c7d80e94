"""Single sign-on identities and sign-ins under way; the OpenLineage outbox (issue 18)

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db
import yibenzhang.sealing

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sso_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("subject_digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sso_identities_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_identities")),
        sa.UniqueConstraint("provider", "subject_digest", name=op.f("uq_sso_identities_provider")),
    )
    op.create_index(op.f("ix_sso_identities_user_id"), "sso_identities", ["user_id"])
    op.create_table(
        "sso_logins",
        sa.Column("state_digest", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("nonce", yibenzhang.sealing.SealedText(), nullable=False),
        sa.Column("code_verifier", yibenzhang.sealing.SealedText(), nullable=False),
        sa.Column("next_url", sa.String(length=500), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_digest", name=op.f("pk_sso_logins")),
    )
    op.create_index("ix_sso_logins_created_at", "sso_logins", ["created_at"])
    op.create_table(
        "lineage_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=16), nullable=False),
        sa.Column("job_name", sa.String(length=200), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_outbox")),
    )
    op.create_index("ix_lineage_outbox_pending", "lineage_outbox", ["delivered_at", "next_attempt_at"])
    op.create_index(op.f("ix_lineage_outbox_run_id"), "lineage_outbox", ["run_id"])


def downgrade() -> None:
    op.drop_table("lineage_outbox")
    op.drop_table("sso_logins")
    op.drop_table("sso_identities")
