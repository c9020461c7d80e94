"""CAS single logout: which local session each CAS service ticket opened (issue 18)

Revision ID: 0026
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db

revision = "0026"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sso_cas_sessions",
        sa.Column("ticket_digest", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("session_digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sso_cas_sessions_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_digest", name=op.f("pk_sso_cas_sessions")),
    )
    op.create_index("ix_sso_cas_sessions_created_at", "sso_cas_sessions", ["created_at"])


def downgrade() -> None:
    op.drop_table("sso_cas_sessions")
