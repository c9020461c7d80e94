"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import delete, func, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

import yibenzhang.db
from tests.conftest import PG_URL, _pg_admin, _pg_url, need, worker_id
from yibenzhang.db import Database, make_engine, migrate
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


# --- 0030: a product's authorization becomes a real foreign key --------------------------------

MIGRATIONS = Path(yibenzhang.db.__file__).parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


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


def test_there_is_one_effective_head():
    """Every branch ends in one revision (heads consumed through `depends_on` included)."""
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
            migrate(bare_url)
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(Product)) == 2  # nothing deleted
            assert "0030" not in s.scalars(text("SELECT version_num FROM alembic_version")).all()

        with db.write() as s:  # the operator corrects the row; the migration then goes through
            s.get(Product, ids["orphan"]).authorization_id = ids["auth"]
        migrate(bare_url)

        with db.read() as s:
            assert s.scalars(text("SELECT version_num FROM alembic_version")).all() == ["0030"]
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
