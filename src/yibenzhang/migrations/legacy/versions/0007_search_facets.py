"""search facets: a narrow row per indexed resource for visibility, facets and browsing pages

search_facets repeats, per search_docs row, what search filters, counts and sorts on as small
values (the seven fixed-vocabulary facets packed into one integer with visibility flags) and the
live resource fields that catalog.service.visible_to decides by — so counting, visibility and
browsing by date or name need no join to the wide tables. Filled from search_docs and resources
in one statement (no re-segmentation).

Revision ID: 0007_search_facets
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db

revision = "0007_search_facets"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_facets",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("codes", sa.BigInteger(), nullable=False),
        sa.Column("category_code", sa.String(length=9), nullable=False),
        sa.Column("sort_time", yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("v_published", sa.Boolean(), nullable=False),
        sa.Column("v_status", sa.String(length=8), nullable=False),
        sa.Column("v_open_type", sa.String(length=16), nullable=True),
        sa.Column("v_org_id", sa.Integer(), nullable=False),
        sa.Column("v_region_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], name="fk_search_facets_resource_id_resources",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("resource_id", name="pk_search_facets"),
    )
    op.create_index("ix_search_facets_sort_time", "search_facets", ["sort_time", "resource_id"])
    op.create_index("ix_search_facets_name", "search_facets", ["name", "resource_id"])
    op.create_index("ix_search_facets_org_id", "search_facets", ["org_id"])
    op.create_index("ix_search_facets_region_id", "search_facets", ["region_id"])
    op.create_index("ix_search_facets_category_code", "search_facets", ["category_code"])
    _backfill()


def _backfill() -> None:
    bind = op.get_bind()
    if not bind.execute(sa.text("SELECT 1 FROM search_docs LIMIT 1")).first():
        return
    from sqlalchemy.orm import Session

    from yibenzhang.catalog.search import refresh_facets

    refresh_facets(Session(bind=bind), None)
    op.execute("ANALYZE search_facets")


def downgrade() -> None:
    op.drop_table("search_facets")
