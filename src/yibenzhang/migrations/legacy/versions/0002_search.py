"""catalogue search index

One row per resource in search_docs (what search shows and filters on, taken from the
published snapshot when there is one). The full-text part differs by dialect: SQLite keeps an
FTS5 table over jieba-segmented text; PostgreSQL a weighted tsvector column with a GIN index.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_docs",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("org_name", sa.String(length=200), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=True),
        sa.Column("region_name", sa.String(length=100), nullable=True),
        sa.Column("category_code", sa.String(length=9), nullable=False),
        sa.Column("resource_class", sa.String(length=8), nullable=True),
        sa.Column("library", sa.String(length=8), nullable=True),
        sa.Column("share_type", sa.String(length=16), nullable=True),
        sa.Column("open_type", sa.String(length=16), nullable=True),
        sa.Column("format_kind", sa.String(length=16), nullable=True),
        sa.Column("update_cycle", sa.String(length=8), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("sort_time", yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], name="fk_search_docs_resource_id_resources",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("resource_id", name="pk_search_docs"),
    )
    op.create_index("ix_search_docs_org_id", "search_docs", ["org_id"])
    op.create_index("ix_search_docs_sort_time", "search_docs", ["sort_time"])
    op.create_index("ix_search_docs_name", "search_docs", ["name"])
    op.create_index("ix_search_docs_category_code", "search_docs", ["category_code"])
    op.create_index("ix_search_docs_region_code", "search_docs", ["region_code"])
    if op.get_bind().dialect.name == "sqlite":
        # rowid = resource id; columns weighted by bm25 at query time (name >> keywords/items > abstract).
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5("
            "name, keywords, items, context, abstract, tokenize='unicode61 remove_diacritics 2')"
        )
    else:
        op.execute("ALTER TABLE search_docs ADD COLUMN tsv tsvector")
        op.execute("CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)")
    _backfill()


def _backfill() -> None:
    """Index what an existing catalogue already holds (empty on a new install)."""
    bind = op.get_bind()
    if not bind.execute(sa.text("SELECT 1 FROM resources LIMIT 1")).first():
        return
    from sqlalchemy.orm import Session

    from yibenzhang.catalog.search import reindex_all

    reindex_all(Session(bind=bind))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_docs")
