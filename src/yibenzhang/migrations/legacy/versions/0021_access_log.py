"""share_usage.items: the items each data-service call returned, for the access log (issue 23)

Revision ID: 0021
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = ("0010_share_grants",)


def upgrade() -> None:
    with op.batch_alter_table("share_usage") as batch:
        batch.add_column(sa.Column("items", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("share_usage") as batch:
        batch.drop_column("items")
