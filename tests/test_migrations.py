"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, delete, func, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from tests.conftest import PG_URL, _pg_admin, _pg_url, need, worker_id
from yibenzhang import migrating
from yibenzhang.db import Database, make_engine
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


# --- legacy 0030: a product's authorization becomes a real foreign key -------------------------
# (the legacy history's last revision: a database of that history goes through it on its way to
# the baseline)


def _config() -> Any:
    return migrating.config("", location=migrating.LEGACY)


def _upgrade(url: str, target: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            cfg = _config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, target)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def bare_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend, for a test that migrates it step by step."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'steps.sqlite3'}"
        return
    need(bool(PG_URL), "PostgreSQL (YBZ_TEST_PG_URL)")
    name = f"ybz_{worker_id()}_{uuid.uuid4().hex[:8]}_steps"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _pg_url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_legacy_history_has_one_effective_head():
    """Every branch of the old history ends in 0030 (heads consumed through `depends_on` included)."""
    assert len(ScriptDirectory.from_config(_config()).get_heads(consider_depends_on=True)) == 1


def test_0030_refuses_a_dangling_authorization_and_keeps_valid_products(bare_url: str):
    from yibenzhang.assets.model import ComplianceReview, Product
    from yibenzhang.operate.model import Authorization
    from yibenzhang.orgs.model import Org, Region

    script = ScriptDirectory.from_config(_config())
    for parent in script.get_revision("0030").down_revision:
        _upgrade(bare_url, parent)
    db = Database(bare_url)
    try:
        with db.write() as s:
            region = Region(code="330000", name="浙江省", level="省", path="/")
            s.add(region)
            s.flush()
            org = Org(name="运营机构", uscc="91330000MA0000000X", kind="授权运营机构", region_id=region.id)
            s.add(org)
            s.flush()
            auth = Authorization(operator_org_id=org.id, region_id=region.id, scope_kind="全域", purpose="p",
                                 starts_on=date(2026, 1, 1), ends_on=date(2027, 1, 1), fee_cap_fen=1, state="有效")
            s.add(auth)
            s.flush()
            common = {"operator_org_id": org.id, "region_id": region.id, "kind": "数据集", "description": "d",
                      "pricing_category": "公共治理", "state": "草稿"}
            valid = Product(authorization_id=auth.id, name="有效产品", **common)
            orphan = Product(authorization_id=auth.id + 99, name="孤立产品", **common)
            s.add_all([valid, orphan])
            s.flush()
            # a row pointing at the product: SQLite's table rebuild must not break it
            s.add(ComplianceReview(product_id=valid.id, product_version=1, state="待签核",
                                   submitted_on=date(2026, 1, 2)))
            ids = {"auth": auth.id, "valid": valid.id, "orphan": orphan.id}

        with pytest.raises(RuntimeError, match=r"1 row\(s\) of product_products\.authorization_id name no "
                                                r"operate_authorizations\.id"):
            migrating.migrate(bare_url)
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(Product)) == 2  # nothing deleted
            assert "0030" not in s.scalars(text("SELECT version_num FROM alembic_version")).all()

        with db.write() as s:  # the operator corrects the row; the migration then goes through
            s.get(Product, ids["orphan"]).authorization_id = ids["auth"]
        migrating.migrate(bare_url)

        with db.read() as s:
            assert s.scalars(text("SELECT version_num FROM alembic_version")).all() == [current_head()]
            rows = s.execute(select(Product.id, Product.name, Product.authorization_id).order_by(Product.id)).all()
            assert [tuple(r) for r in rows] == [(ids["valid"], "有效产品", ids["auth"]),
                                                (ids["orphan"], "孤立产品", ids["auth"])]
            assert s.scalar(select(ComplianceReview.product_id)) == ids["valid"]
        fks = inspect(db.engine).get_foreign_keys("product_products")
        fk = next(f for f in fks if f["constrained_columns"] == ["authorization_id"])
        assert fk["referred_table"] == "operate_authorizations"
        assert fk["options"].get("ondelete") == "RESTRICT"
        with pytest.raises(IntegrityError), db.write() as s:  # now the database itself refuses
            s.execute(delete(Authorization).where(Authorization.id == ids["auth"]))
        with pytest.raises(IntegrityError), db.write() as s:
            s.execute(update(Product).where(Product.id == ids["valid"]).values(authorization_id=ids["auth"] + 99))
    finally:
        db.dispose()


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


def current_head() -> str:
    return ScriptDirectory.from_config(migrating.config("")).get_current_head()


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
        head = current_head()
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
