"""Join the two revisions of wave 2's first session (job reasons, security) into one head, so
this wave's later revisions start from one point.

Revision ID: 0019
Revises: 0017, 0018
"""

from __future__ import annotations

revision = "0019"
down_revision = ("0017", "0018")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
