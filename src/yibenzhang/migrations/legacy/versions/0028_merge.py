"""Join session 3's revisions into one head: shared runtime (0023), sandbox release policies
(0025), CAS single logout (0026), base libraries (0027).

Revision ID: 0028
Revises: 0023, 0025, 0026, 0027
"""

from __future__ import annotations

revision = "0028"
down_revision = ("0023", "0025", "0026", "0027")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
