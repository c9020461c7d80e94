"""The engine-parity suite (issue 13): every zone operation on DuckDB and on a real Spark Connect
server, over the same zone, gives identical Arrow results — values, types, order where ordered.

The resource is messy on purpose: GB18030 input, Chinese column names, DECIMAL amounts, dates,
timestamps, NULLs, upserts by key across batches, 全量 then 追加, an item a later batch lacks.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlglot import exp

from tests.collect.conftest import ITEMS as COLLECT_ITEMS
from tests.factories import published
from yibenzhang.access import Actor
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.collect.pipeline import ingest_arrow, ingest_file
from yibenzhang.config import reset_settings
from yibenzhang.zone import port as P
from yibenzhang.zone.compact import compact
from yibenzhang.zone.engine import named_engine
from yibenzhang.zone.service import live_state
from yibenzhang.zone.spark import EngineUnavailable, SparkEngine

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # the metadata store is not under test

ITEMS = [*COLLECT_ITEMS, ItemIn(name="评分", data_type="N"), ItemIn(name="登记时间", data_type="T")]
IDS = ["110101199003077777", "110101198001011234", "440301200012310011", "320102197707070707",
       "330106196506061111", "510104198811112222"]


def _gb18030_file(folder: Path) -> Path:
    lines = ["姓名,公民身份号码,出生日期,月收入,是否在职,家庭人口,评分,登记时间",
             f"张三,{IDS[0]},1990-03-07,12345.67,是,3,4.5,2024-01-02 08:30:00",
             f"李四,{IDS[1]},1980/01/01,,否,,,",  # NULLs: empty cells
             f"王五𠀀,{IDS[2]},2000年12月31日,0.01,true,1,-0.25,2024-12-31T23:59:59",  # a character outside the BMP
             f"赵六,{IDS[3]},19770707,99999999.99,false,12,100,2023-06-30 12:00",
             '"钱七, 其一",' + f"{IDS[4]},1965.06.06,-88.10,是,0,3.25,2022-02-02 02:02:02"]
    path = folder / "人口.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    return path


@pytest.fixture
def zone_world(world, tmp_path, spark_remote, monkeypatch):
    """A keyed resource with a GB18030 全量 batch and two upsert batches, and a keyless resource
    with 全量 then 追加; the settings name the test's Spark Connect server."""
    monkeypatch.setenv("YBZ_SPARK_REMOTE", spark_remote)
    reset_settings()
    db = world.db
    steward = world.actor("police_steward")
    people = published(world, items=ITEMS)
    ingest_file(db, steward, people, _gb18030_file(tmp_path), mode="全量")
    schema = pa.schema([("姓名", pa.string()), ("公民身份号码", pa.string()), ("月收入", pa.string()),
                        ("出生日期", pa.string())])
    ingest_arrow(db, steward, people, [pa.record_batch(
        [["李四（更正）", "孙八"], [IDS[1], IDS[5]], ["4200.00", "7.5"], ["1980-01-01", "1999-09-09"]],
        schema=schema)], source={"kind": "push"}, mode="更新")  # upsert one key, add one; lacks 是否在职…
    ingest_arrow(db, steward, people, [pa.record_batch(
        [["张三", "孙八"], [IDS[0], IDS[5]], ["12345.68", None], [None, "1999-09-10"]], schema=schema)],
        source={"kind": "push"}, mode="更新")
    log = published(world, name="出入境记录", items=[ItemIn(name="姓名", data_type="C", required=True),
                                                    ItemIn(name="日期", data_type="D")])
    two = pa.schema([("姓名", pa.string()), ("日期", pa.string())])
    ingest_arrow(db, steward, log, [pa.record_batch([["甲", "乙"], ["2024-01-01", "2024-01-02"]], schema=two)],
                 source={"kind": "push"}, mode="全量")
    ingest_arrow(db, steward, log, [pa.record_batch([["乙", "丙", "丙"], ["2024-01-02", None, "2024-02-29"]],
                                                    schema=two)], source={"kind": "push"}, mode="追加")
    with db.read() as s:
        states = {"people": live_state(s, people), "log": live_state(s, log)}
    return {"db": db, "steward": steward, "people": people, "log": log, "states": states, "world": world}


def both(zw, state: P.LiveState, plan: exp.Query) -> tuple[pa.Table, pa.Table]:
    duck, spark = named_engine("duckdb"), named_engine("spark")
    return duck.query(state, plan), spark.query(state, plan)


def test_live_state_reads_identically(zone_world) -> None:
    people = zone_world["states"]["people"]
    duck, spark = both(zone_world, people, P.scan(people))
    assert duck.schema == spark.schema == people.arrow_schema()
    assert duck.equals(spark)
    rows = {r["公民身份号码"]: r for r in duck.to_pylist()}
    assert len(rows) == 6 == duck.num_rows  # upserts by key across batches: one row per key
    assert rows[IDS[1]]["姓名"] == "李四（更正）" and rows[IDS[1]]["月收入"] == Decimal("4200.00")
    assert rows[IDS[1]]["是否在职"] is None  # the upsert batch lacks the item: NULL, not the old value
    assert rows[IDS[0]]["月收入"] == Decimal("12345.68") and rows[IDS[0]]["出生日期"] is None
    assert rows[IDS[5]]["出生日期"] == date(1999, 9, 10)  # the latest batch wins
    assert rows[IDS[2]]["姓名"] == "王五𠀀" and rows[IDS[4]]["姓名"] == "钱七, 其一"
    assert rows[IDS[3]]["月收入"] == Decimal("99999999.99")
    log = zone_world["states"]["log"]
    d, s = both(zone_world, log, P.scan(log))
    assert d.equals(s) and d.num_rows == 5  # 全量 then 追加: no de-duplication without keys


def test_counts_pages_filters_and_samples(zone_world) -> None:
    duck, spark = named_engine("duckdb"), named_engine("spark")
    for state in zone_world["states"].values():
        assert duck.count(state) == spark.count(state)
    people = zone_world["states"]["people"]
    where = exp.and_(exp.column(P.ident("月收入")) > exp.Literal.number("100"),
                     exp.column(P.ident("出生日期")).is_(exp.null()).not_())
    for plan in (P.scan(people, ["姓名", "月收入"], where=where, limit=2, offset=1),
                 P.scan(people, ["公民身份号码", "评分", "登记时间"], order=["公民身份号码"]),
                 P.sample(people, 3)):
        d, s = both(zone_world, people, plan)
        assert d.num_rows > 0
        assert d.equals(s), (plan.sql(), d.to_pylist(), s.to_pylist())


def test_aggregates_are_identical(zone_world) -> None:
    people = zone_world["states"]["people"]
    plan = P.parse('SELECT "是否在职", count(*) AS n, sum("月收入") AS total, min("出生日期") AS first_born, '
                   'max("登记时间") AS latest, count(DISTINCT "家庭人口") AS sizes, '
                   'CAST(avg("评分") AS DOUBLE) AS mean FROM r GROUP BY "是否在职" ORDER BY "是否在职" NULLS FIRST')
    d, s = both(zone_world, people, plan)
    assert d.schema == s.schema
    assert d.equals(s), (d.to_pylist(), s.to_pylist())
    assert pa.types.is_decimal(d.schema.field("total").type)  # amounts stay exact
    # NULL first: 李四 and 孙八 came in a batch without the item, 张三's last batch lacks it too
    assert d.column("n").to_pylist() == [3, 1, 2]
    assert d.column("total").to_pylist()[2] == Decimal("0.01") + Decimal("-88.10")


def test_text_that_looks_like_a_variable_stays_text(zone_world) -> None:
    # Spark substitutes `${…}` in SQL text by default; a literal of the platform's SQL (a listed
    # value, a name) must reach the engine as it is
    people = zone_world["states"]["people"]
    plan = P.parse("SELECT '${spark.app.name}' AS v, '${x}$1' AS w, count(*) AS n FROM r "
                   "WHERE \"姓名\" <> '${姓名}'")
    d, s = both(zone_world, people, plan)
    assert d.equals(s), (d.to_pylist(), s.to_pylist())
    assert d.to_pylist() == [{"v": "${spark.app.name}", "w": "${x}$1", "n": 6}]


def test_quality_statement_gives_identical_counts_and_samples(zone_world) -> None:
    """The quality statement (every rule in one SELECT, portable SQL) runs on Spark through the
    DuckDB → Spark transpiler: the same checked/failed counts and failing row numbers."""
    from yibenzhang.quality.evaluate import build_sql
    from yibenzhang.quality.rules import Rule

    people = zone_world["states"]["people"]
    rules = [Rule("not_null:是否在职", "not_null", ("是否在职",), types=("L",)),
             Rule("format:公民身份号码", "format", ("公民身份号码",), {"format": "id_card"}),
             Rule("length:姓名", "length", ("姓名",), {"max": 2}),
             Rule("range:出生日期", "range", ("出生日期",), {"min": "1970-01-01", "max": "2000-12-31"}, types=("D",)),
             Rule("regex:姓名", "regex", ("姓名",), {"pattern": "[\u4e00-\u9fff]{2,3}"}),
             Rule("unique:key", "unique", ("公民身份号码",))]
    sql = build_sql("r", set(people.names) | {"_row"}, rules, today=date(2026, 3, 15), provinces=["11", "44"])
    d = named_engine("duckdb").run_platform_sql(people, sql).to_pylist()[0]
    s = named_engine("spark").run_platform_sql(people, sql).to_pylist()[0]
    # an aggregate over no failing rows: NULL on DuckDB, an empty list on Spark (both: no samples)
    assert {k: v or [] for k, v in d.items()} == {k: v or [] for k, v in s.items()}
    assert d["_rows"] == 6 and d["f0"] == 3 and d["f1"] >= 1 and d["f2"] >= 1


@pytest.mark.parametrize("kind", ["duckdb", "spark"])
def test_compaction_on_each_engine_reads_the_same(zone_world, kind) -> None:
    db, steward, people = zone_world["db"], zone_world["steward"], zone_world["people"]
    before = zone_world["states"]["people"]
    expected = named_engine("duckdb").query(before, P.scan(before, before.names))
    done = compact(db, steward, people, engine=kind)
    assert done["compacted"] and done["engine"] == kind and done["batches"] == 3
    with db.read() as s:
        after = live_state(s, people)
    assert len(after.parts) == 1
    for engine in (named_engine("duckdb"), named_engine("spark")):
        got = engine.query(after, P.scan(after, after.names))
        assert got.equals(expected), kind
        assert engine.count(after) == 6
    files = [f for p in after.parts for f in p.files]
    assert all(Path(f).exists() and f.endswith(".parquet") for f in files)
    assert pq.read_table(files[0]).column_names == [*before.names, "_row"]
    assert compact(db, steward, people, engine=kind)["compacted"] is False  # already one 全量 batch


def test_spark_down_is_engine_unavailable(zone_world, monkeypatch) -> None:
    """A Spark Connect server that is not there: a clear error with its stable code, fast, and
    nothing published."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = SparkEngine(f"sc://127.0.0.1:{port}")
    with pytest.raises(EngineUnavailable) as caught:
        dead.count(zone_world["states"]["people"])
    assert caught.value.code == "engine_unavailable" and caught.value.status == 503
    assert "稍后重试" in caught.value.message_in("zh")
    # nothing of the dead server stays in pyspark's process-wide state, where the next engine's
    # first DataFrame call would read a setting through it (found by running the suite in order)
    from pyspark.sql.connect.session import SparkSession

    for left in (SparkSession.getActiveSession(), SparkSession._get_default_session()):
        assert left is None or left.range(3).count() == 3  # a live session, not the dead one
    monkeypatch.setenv("YBZ_SPARK_REMOTE", f"sc://127.0.0.1:{port}")
    reset_settings()
    db, people = zone_world["db"], zone_world["people"]
    with db.read() as s:
        before = [p.batch_id for p in live_state(s, people).parts]
    with pytest.raises(EngineUnavailable):
        compact(db, Actor.system(), people, engine="spark")
    with db.read() as s:
        assert [p.batch_id for p in live_state(s, people).parts] == before
    leftovers = [p for p in (get_database_zone() / ".staging").iterdir() if not p.name.startswith(".")]
    assert leftovers == []


def get_database_zone() -> Path:
    from yibenzhang.config import get_settings

    return get_settings().zone


def test_quality_of_the_current_state_goes_to_spark_by_the_rule(zone_world, monkeypatch) -> None:
    """`ybz quality` over a whole resource is heavy work: with YBZ_ENGINE=spark (and the input
    above YBZ_SPARK_MIN_BYTES) it runs on Spark, and stores the same results as on DuckDB."""
    on_duckdb, on_spark, stored, calls = _assess_on_both(zone_world, monkeypatch, lambda state, _o: state.resource_id)
    assert calls == [zone_world["people"]] and stored != []
    assert (on_spark["rows"], on_spark["scores"], on_spark["overall"]) == (
        on_duckdb["rows"], on_duckdb["scores"], on_duckdb["overall"])


def test_quality_with_a_reference_rule_runs_on_spark_with_the_same_results(zone_world, monkeypatch) -> None:
    """Reference rules name another resource's current rows: on Spark each one's live state is
    bound as a view of its own, and the stored results equal DuckDB's (checked, failed, failing
    row numbers): a resource without the values, one with nothing collected (every value fails)
    and the resource itself (none fails)."""
    from yibenzhang.quality.service import add_rule

    db, steward, people, log = zone_world["db"], zone_world["steward"], zone_world["people"], zone_world["log"]
    empty = published(zone_world["world"], name="空白名单", items=[ItemIn(name="姓名", data_type="C")])
    with db.write() as s:
        add_rule(s, steward, people, kind="reference", items=["姓名"], params={"resource": str(log), "item": "姓名"})
        add_rule(s, steward, people, kind="reference", items=["公民身份号码"],
                 params={"resource": str(empty), "item": "姓名"})
        add_rule(s, steward, people, kind="reference", items=["公民身份号码"],  # itself: every value found
                 params={"resource": str(people), "item": "公民身份号码"})
    _d, _s, stored, calls = _assess_on_both(
        zone_world, monkeypatch, lambda _state, others: sorted(o.resource_id for o in others.values()))
    assert calls == [sorted([log, empty, people])]
    refs = [r[1:3] for r in stored if r[0].startswith("steward:")]  # in the order added
    # the log holds none of the people's names, the empty resource nothing, the people themselves all
    assert refs == [(6, 6), (6, 6), (6, 0)]


def test_a_batch_assessment_goes_to_spark_with_the_same_results(zone_world, monkeypatch) -> None:
    """A batch's own quality (no upserts applied) is heavy work too: on Spark it reads that
    batch's files alone. An item added after the batches is in none of their files, and the
    statement names only the items a batch's files hold, as DuckDB's does: the stored results
    are equal, rule by rule, for each batch (a GB18030 全量, two upserts)."""
    from yibenzhang.catalog.model import ResourceItem
    from yibenzhang.quality.service import assess_batch
    from yibenzhang.zone.model import Batch
    from yibenzhang.zone.service import batch_state
    from yibenzhang.zone.spark import SparkEngine

    unspied = SparkEngine.run_platform_sql

    db, people = zone_world["db"], zone_world["people"]
    with db.read() as s:
        batches = [b.id for b in s.query(Batch).filter(Batch.resource_id == people).order_by(Batch.id)]
    assert len(batches) == 3
    with db.write() as s:  # a required item added after the batches (a later catalogue version)
        s.add(ResourceItem(resource_id=people, position=99, name="备注", data_type="C", required=True))
    with db.read() as s:
        held = [set(batch_state(s, b).parts[0].columns) for b in batches]
        assert "备注" in batch_state(s, batches[0]).names and not any("备注" in h for h in held)
    for batch in batches:
        on_duckdb, on_spark, stored, calls = _assess_on_both(
            zone_world, monkeypatch, lambda state, _o: [p.batch_id for p in state.parts],
            lambda batch=batch: assess_batch(db, zone_world["steward"], batch))
        assert calls == [[batch]] and stored != []
        assert (on_spark["rows"], on_spark["scores"]) == (on_duckdb["rows"], on_duckdb["scores"])
        monkeypatch.setattr(SparkEngine, "run_platform_sql", unspied)
        monkeypatch.delenv("YBZ_ENGINE")
        reset_settings()
    assert on_duckdb["rows"] == 2  # the last upsert batch: its own two rows


def _assess_on_both(zone_world, monkeypatch, record, assess=None) -> tuple[dict, dict, list, list]:
    """The people's quality assessed on DuckDB, then with YBZ_ENGINE=spark: both runs' answers,
    their stored results (rule, checked, failed, samples), and what `record(state, others)`
    noted of each Spark call."""
    from sqlalchemy import select

    from yibenzhang.quality.model import QualityResult
    from yibenzhang.quality.service import assess_current
    from yibenzhang.zone.spark import SparkEngine

    db, steward, people = zone_world["db"], zone_world["steward"], zone_world["people"]
    assess = assess or (lambda: assess_current(db, steward, people))
    on_duckdb = assess()
    calls: list = []
    real = SparkEngine.run_platform_sql

    def spy(self, state, sql, others=None):
        calls.append(record(state, others or {}))
        return real(self, state, sql, others)

    monkeypatch.setattr(SparkEngine, "run_platform_sql", spy)
    monkeypatch.setenv("YBZ_ENGINE", "spark")
    monkeypatch.setenv("YBZ_SPARK_MIN_BYTES", "0")
    reset_settings()
    on_spark = assess()

    def results(run_id: int) -> list[tuple]:
        with db.read() as s:
            return [(r.rule_key, r.checked, r.failed, r.samples) for r in s.execute(
                select(QualityResult).where(QualityResult.run_id == run_id).order_by(QualityResult.rule_key)).scalars()]

    assert results(on_spark["run_id"]) == results(on_duckdb["run_id"])
    return on_duckdb, on_spark, results(on_duckdb["run_id"]), calls
