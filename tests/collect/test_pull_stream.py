"""Database pulls without the pipeline: streaming all-string Arrow batches from SQLite,
PostgreSQL and MariaDB sources, since-column bounds, and the incremental cursor (with the
pipeline replaced by a recorder)."""

from __future__ import annotations

import os
import sqlite3
import sys
import types
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest
import sqlalchemy as sa

from tests.conftest import need
from tests.factories import published
from yibenzhang.access import Actor
from yibenzhang.collect import pull
from yibenzhang.errors import PermissionDenied, ValidationFailed


def _sqlite_source(path, rows):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE people (id INTEGER, 姓名 TEXT, 公民身份号码 TEXT, 出生日期 TEXT, amount REAL, "
                 "changed INTEGER)")
    conn.executemany("INSERT INTO people VALUES (?,?,?,?,?,?)", rows)
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


ROWS = [
    (1, "张三", "11010519491231002X", "1949-12-31", 12.5, 10),
    (2, "李四", "110105194912310029", None, None, 20),
    (3, "王五", "110105194912310010", "2001-02-03", 3.0, 30),
]


def test_sqlite_stream_in_chunks_all_strings(tmp_path):
    url = _sqlite_source(tmp_path / "src.db", ROWS)
    batches = list(pull.stream_batches(url, table="people", chunk_rows=2))
    assert [b.num_rows for b in batches] == [2, 1]
    table = pa.Table.from_batches(batches)
    assert all(pa.types.is_string(t) for t in table.schema.types)
    assert table.column("姓名").to_pylist() == ["张三", "李四", "王五"]
    assert table.column("id").to_pylist() == ["1", "2", "3"]
    assert table.column("amount").to_pylist() == ["12.5", None, "3"]
    assert table.column("出生日期").to_pylist() == ["1949-12-31", None, "2001-02-03"]


def test_since_bounds_and_drop(tmp_path):
    url = _sqlite_source(tmp_path / "src.db", ROWS)
    assert pull.since_upper(url, table="people", since_column="changed") == 30
    assert pull.since_upper(url, table="people", since_column="changed", after=30) is None
    batches = list(pull.stream_batches(url, table="people", since_column="changed", after=10, upto=20,
                                       drop=("changed",)))
    table = pa.Table.from_batches(batches)
    assert table.column("姓名").to_pylist() == ["李四"] and "changed" not in table.column_names


def test_query_source_and_empty_result_keeps_columns(tmp_path):
    url = _sqlite_source(tmp_path / "src.db", ROWS)
    batches = list(pull.stream_batches(url, query="SELECT 姓名, changed FROM people WHERE changed > 100;"))
    assert len(batches) == 1 and batches[0].num_rows == 0 and batches[0].schema.names == ["姓名", "changed"]
    with pytest.raises(ValidationFailed):
        list(pull.stream_batches(url, table="people", query="SELECT 1"))


def test_as_strings_types():
    tz = datetime(2024, 5, 1, 16, 30, tzinfo=UTC)
    assert pull.as_strings([tz, None]).to_pylist() == ["2024-05-02 00:30:00", None]  # Beijing time
    assert pull.as_strings([datetime(2024, 5, 1, 8, 0, 5)]).to_pylist() == ["2024-05-01 08:00:05"]
    assert pull.as_strings([date(2024, 5, 1)]).to_pylist() == ["2024-05-01"]
    assert pull.as_strings([Decimal("1234.50"), 7]).to_pylist()[0] in ("1234.50", "1234.5")
    assert pull.as_strings([1, "a", 2.5]).to_pylist() == ["1", "a", "2.5"]  # SQLite's mixed column
    assert pull.as_strings([None, None]).to_pylist() == [None, None]


def test_value_codec_round_trip():
    for v in (5, 2.5, Decimal("1.20"), "x", date(2024, 1, 2), datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)):
        assert pull.decode_value(pull.encode_value(v)) == v


def test_source_key_ignores_password_and_display_masks_it():
    a = pull.source_key("postgresql+psycopg://u:secret1@h/db", "t", None, "c")
    b = pull.source_key("postgresql+psycopg://u:other@h/db", "t", None, "c")
    assert a == b != pull.source_key("postgresql+psycopg://u:secret1@h/db2", "t", None, "c")
    assert "secret1" not in pull.display_url("postgresql+psycopg://u:secret1@h/db")


def _pg_source():
    url = os.environ.get("YBZ_TEST_PG_URL")
    need(bool(url), "PostgreSQL (YBZ_TEST_PG_URL)")
    return url


def test_postgresql_stream_typed_columns():
    url = _pg_source()
    schema = f"ybz_src_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as c:
            c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            c.execute(sa.text(f'CREATE TABLE "{schema}".people (id bigint, "姓名" text, born date, '
                              "amount numeric(12,2), ok boolean, changed timestamptz)"))
            c.execute(sa.text(f'INSERT INTO "{schema}".people VALUES '
                              "(1, '张三', '1990-03-07', 1234.50, true, '2024-05-01 16:30:00+00'), "
                              "(2, '李四', NULL, NULL, false, '2024-05-02 00:00:00+00')"))
        batches = list(pull.stream_batches(url, table=f"{schema}.people", chunk_rows=1))
        assert [b.num_rows for b in batches] == [1, 1]
        t = pa.Table.from_batches(batches)
        assert t.column("姓名").to_pylist() == ["张三", "李四"]
        assert t.column("born").to_pylist() == ["1990-03-07", None]
        assert t.column("amount").to_pylist() == ["1234.50", None]
        assert t.column("changed").to_pylist() == ["2024-05-02 00:30:00", "2024-05-02 08:00:00"]
        upper = pull.since_upper(url, table=f"{schema}.people", since_column="changed")
        assert isinstance(upper, datetime)
        assert pull.since_upper(url, table=f"{schema}.people", since_column="changed", after=upper) is None
    finally:
        with engine.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def test_mariadb_stream():
    url = os.environ.get("YBZ_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            c.execute(sa.text("SELECT 1"))
        reachable = True
    except Exception:
        reachable = False
    need(reachable, f"MariaDB/MySQL ({url})")
    name = f"ybz_src_{uuid.uuid4().hex[:8]}"
    try:
        with engine.begin() as c:
            c.execute(sa.text(f"CREATE TABLE {name} (id INT, 姓名 VARCHAR(50), changed DATETIME) "
                              "CHARACTER SET utf8mb4"))
            c.execute(sa.text(f"INSERT INTO {name} VALUES (1, '张三', '2024-05-01 08:00:00'), "
                              "(2, '李四', '2024-05-03 08:00:00')"))
        after = datetime(2024, 5, 2)
        upper = pull.since_upper(url, table=name, since_column="changed", after=after)
        t = pa.Table.from_batches(list(pull.stream_batches(url, table=name, since_column="changed",
                                                           after=after, upto=upper)))
        assert t.column("姓名").to_pylist() == ["李四"]
        assert t.column("changed").to_pylist() == ["2024-05-03 08:00:00"]
    finally:
        with engine.begin() as c:
            c.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
        engine.dispose()


# --- the cursor, with a recording stand-in for the pipeline ---------------------------------


@dataclass
class FakeReport:
    batch_id: int
    status: str = "已发布"
    rows: list = field(default_factory=list)

    def as_dict(self):
        return {"batch_id": self.batch_id, "status": self.status, "rows_read": len(self.rows)}


@pytest.fixture
def fake_pipeline(monkeypatch):
    calls = []

    def ingest_arrow(db, actor, resource, batches, *, source, mode=None, mapping=None, progress=None):
        rows = pa.Table.from_batches(list(batches)).to_pylist()
        calls.append({"resource": resource, "source": source, "mode": mode, "rows": rows})
        return FakeReport(batch_id=len(calls), status=calls_status[0], rows=rows)

    calls_status = ["已发布"]
    module = types.SimpleNamespace(ingest_arrow=ingest_arrow)
    import yibenzhang.collect as collect_pkg

    monkeypatch.setitem(sys.modules, "yibenzhang.collect.pipeline", module)
    monkeypatch.setattr(collect_pkg, "pipeline", module, raising=False)
    return calls, calls_status


def test_incremental_cursor_takes_only_new_rows(world, tmp_path, fake_pipeline):
    calls, status = fake_pipeline
    rid = published(world)
    path = tmp_path / "src.db"
    url = _sqlite_source(path, [(1, "张三", "11010519491231002X", "1949-12-31", 1.0, 10)])
    steward = world.actor("police_steward")
    pull.pull_database(world.db, steward, rid, url, table="people", since_column="changed")
    assert calls[-1]["mode"] == "更新"  # the resource has a key item
    assert calls[-1]["source"]["since_upto"] == {"type": "int", "value": 10}
    assert "changed" not in calls[-1]["rows"][0]  # not an item: used for the cursor only
    again = pull.pull_database(world.db, steward, rid, url, table="people", since_column="changed")
    assert again.as_dict()["status"] == "无新数据" and len(calls) == 1
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO people VALUES (2, '李四', '110105194912310029', NULL, NULL, 20)")
    conn.commit()
    conn.close()
    status[0] = "待确认"  # held for the steward: the cursor must not move
    pull.pull_database(world.db, steward, rid, url, table="people", since_column="changed")
    status[0] = "已发布"
    pull.pull_database(world.db, steward, rid, url, table="people", since_column="changed")
    assert [r["姓名"] for r in calls[-1]["rows"]] == ["李四"] and len(calls) == 3
    assert calls[-1]["source"]["since_after"] == {"type": "int", "value": 10}
    with world.db.read() as s:
        assert pull.last_value(s, rid, calls[-1]["source"]["source_key"])[0] == 20


def test_pull_permission_and_mode(world, tmp_path, fake_pipeline):
    rid = published(world)
    url = _sqlite_source(tmp_path / "src.db", ROWS)
    with pytest.raises(PermissionDenied):
        pull.pull_database(world.db, world.actor("market_steward"), rid, url, table="people")
    with pytest.raises(ValidationFailed):
        pull.pull_database(world.db, Actor.system(), rid, url, table="people", since_column="changed", mode="全量")
