"""Incremental pulls through the real pipeline take only new rows (issue 3 acceptance): the
source is a table in a separate PostgreSQL schema; the metadata store is SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from tests.conftest import need
from yibenzhang.access import Actor
from yibenzhang.collect import pull
from yibenzhang.zone import service as zone
from yibenzhang.zone.engine import get_engine


@pytest.fixture
def pg_source():
    url = os.environ.get("YBZ_TEST_PG_URL")
    need(bool(url), "PostgreSQL (YBZ_TEST_PG_URL)")
    schema = f"ybz_src_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        c.execute(sa.text(f'CREATE TABLE "{schema}".people ("姓名" text, "公民身份号码" text, "出生日期" date, '
                          '"月收入" numeric(12,2), "是否在职" boolean, "家庭人口" int, changed timestamptz)'))
    yield url, engine, f"{schema}.people"
    with engine.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _insert(engine, table, rows):
    with engine.begin() as c:
        c.execute(sa.text(f"INSERT INTO {table} VALUES (:n, :id, :born, :pay, :ok, :fam, :changed)"), rows)


def _current(world, rid):
    with world.db.read() as s:
        rel = zone.current_relation(s, rid)
    return get_engine().sql(f"SELECT 姓名, 公民身份号码 FROM {rel} ORDER BY 公民身份号码").to_pylist()


def test_postgresql_incremental_pull_takes_only_new_rows(world, people, pg_source):
    url, engine, table = pg_source
    quoted = ".".join(f'"{p}"' for p in table.split("."))
    _insert(engine, quoted, [
        {"n": "张三", "id": "11010519491231002X", "born": "1949-12-31", "pay": 8000, "ok": True, "fam": 3,
         "changed": "2024-05-01 10:00:00+08"},
        {"n": "李四", "id": "110105194912310029", "born": None, "pay": None, "ok": False, "fam": 1,
         "changed": "2024-05-01 11:00:00+08"},
    ])
    steward = world.actor("police_steward")
    first = pull.pull_database(world.db, steward, people, url, table=table, since_column="changed")
    assert first.status == "已发布" and first.rows_read == 2 and first.rows_accepted == 2
    assert pull.pull_database(world.db, steward, people, url, table=table,
                              since_column="changed").as_dict()["status"] == "无新数据"
    # One new person and one changed row; the old, unchanged row is not read again.
    _insert(engine, quoted, [
        {"n": "王五", "id": "110105194912310010", "born": "2001-02-03", "pay": 1, "ok": True, "fam": 2,
         "changed": "2024-05-02 09:00:00+08"},
    ])
    with engine.begin() as c:
        c.execute(sa.text(f"UPDATE {quoted} SET \"姓名\" = '李四改', changed = '2024-05-02 10:00:00+08' "
                          "WHERE \"公民身份号码\" = '110105194912310029'"))
    second = pull.pull_database(world.db, steward, people, url, table=table, since_column="changed")
    assert second.rows_read == 2 and second.mode == "更新"
    assert sorted(r["姓名"] for r in _current(world, people)) == sorted(["王五", "张三", "李四改"])
    # A full, non-incremental pull as the platform reads everything again.
    full = pull.pull_database(world.db, Actor.system(), people, url, table=table, mode="全量",
                              mapping={"changed": "-"})
    assert full.rows_read == 3
