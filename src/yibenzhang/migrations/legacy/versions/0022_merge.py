"""Join this session's revisions (SSO and lineage; the access log) into one head.

Revision ID: 0022
Revises: 0020, 0021
"""

from __future__ import annotations

revision = "0022"
down_revision = ("0020", "0021")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
