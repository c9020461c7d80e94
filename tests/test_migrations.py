"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from yibenzhang.models import metadata

# Tables owned by migrations alone (search indexes are dialect-specific, not ORM models).
NOT_MODELLED_PREFIXES = ("search_", "resource_search", "resource_fts", "alembic_version")


def test_models_and_migrations_agree(db):
    def include(obj, name, type_, reflected, compare_to):
        if type_ == "table" and name and name.startswith(NOT_MODELLED_PREFIXES):
            return False
        table = getattr(obj, "table", None)
        return not (table is not None and table.name.startswith(NOT_MODELLED_PREFIXES))

    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": include, "compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == []
