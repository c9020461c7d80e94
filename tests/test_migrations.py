"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from yibenzhang import migrating
from yibenzhang.db import make_engine
from yibenzhang.models import metadata

from .conftest import PG_URL, need, worker_id

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


# Issue 19: one linear history for new installs (a squashed baseline), and the way up from the old
# one. A database made by the legacy history — at its end, or part of the way — is carried over by
# `migrate` and ends with exactly the schema of a new install, its rows untouched.


def _scratch_urls(store: str, tmp_path: Path, names: list[str]) -> Iterator[list[str]]:
    if store == "sqlite":
        yield [f"sqlite:///{tmp_path / (n + '.sqlite3')}" for n in names]
        return
    need(bool(PG_URL), "PostgreSQL (YBZ_TEST_PG_URL)")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    full = [f"ybz_mig_{worker_id()}_{n}" for n in names]
    base = PG_URL.rpartition("/")[0]
    try:
        with admin.connect() as conn:
            for n in full:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{n}"'))
        yield [f"{base}/{n}" for n in full]
    finally:
        with admin.connect() as conn:
            for n in full:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)'))
        admin.dispose()


def _legacy_to(url: str, target: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        command.upgrade(migrating.config(url, conn, location=migrating.LEGACY), target)
        conn.execute(text("INSERT INTO categories (code, level, name) VALUES ('1', 1, '基础信息')"))
    engine.dispose()


def _schema(url: str) -> dict[str, Any]:
    """Every table as the database describes it: columns (type, nullability), primary key, indexes,
    foreign keys (with their ON DELETE), unique constraints; plus SQLite's virtual tables."""
    engine = make_engine(url)
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        insp = inspect(conn)
        for table in insp.get_table_names():
            if table == "alembic_version":
                continue
            out[table] = {
                "columns": {c["name"]: (str(c["type"]), c["nullable"]) for c in insp.get_columns(table)},
                "pk": tuple(insp.get_pk_constraint(table)["constrained_columns"]),
                "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                                  for i in insp.get_indexes(table)),
                "fks": sorted((f["name"] or "", tuple(f["constrained_columns"]), f["referred_table"],
                               tuple(f["referred_columns"]), (f.get("options") or {}).get("ondelete") or "")
                              for f in insp.get_foreign_keys(table)),
                "uniques": sorted((u["name"] or "", tuple(u["column_names"]))
                                  for u in insp.get_unique_constraints(table)),
            }
        if engine.dialect.name == "sqlite":
            out["<virtual>"] = sorted(r[0] for r in conn.execute(text(
                "SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'")))
    engine.dispose()
    return out


def _stamp(url: str) -> set[str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        heads = migrating.stamped(conn)
    engine.dispose()
    return heads


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
@pytest.mark.parametrize("legacy_at", ["heads", "0002"])
def test_a_database_of_the_legacy_history_ends_as_a_new_install(store, legacy_at, tmp_path):
    for old, new in _scratch_urls(store, tmp_path, ["old", "new"]):
        _legacy_to(old, legacy_at)
        assert _stamp(old) <= migrating.revisions(migrating.LEGACY)
        migrating.migrate(old)
        migrating.migrate(new)
        head = ScriptDirectory.from_config(migrating.config(new)).get_current_head()
        assert _stamp(old) == _stamp(new) == {head}
        assert _schema(old) == _schema(new)
        engine = make_engine(old)
        with engine.connect() as conn:  # the rows made under the old history are still there
            assert conn.execute(text("SELECT name FROM categories WHERE code = '1'")).scalar() == "基础信息"
        engine.dispose()
        migrating.migrate(old)  # again: nothing to do
        assert _stamp(old) == {head}


def test_new_installs_have_one_linear_history():
    script = ScriptDirectory.from_config(migrating.config(""))
    assert script.get_bases() == [migrating.BASELINE]
    assert len(script.get_heads()) == 1
    assert all(not isinstance(r.down_revision, tuple) for r in script.walk_revisions())  # no merges
    assert not migrating.revisions(migrating.LEGACY) & migrating.revisions(migrating.CURRENT)
