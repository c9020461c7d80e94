"""Classification through the zone's port (issue 13): a full scan and a sample of a resource read
on DuckDB and on a real Spark Connect server give the same rows in the same order, hence the same
matches, and `ybz classify --full-scan` goes to Spark by the engine rule when it is configured.

The resource: Chinese column names, ID numbers (the key), phones, dates, NULLs, more rows than the
recognizers' sample (so a full scan measures the sampled candidates on every value), and two
batches: 追加, then an upsert by key (更新) that corrects some rows and adds others."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tests.classify.corpus import Gen
from tests.factories import published
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.classify.recognizers import SAMPLE, classify_resource, classify_state, read_values
from yibenzhang.collect.pipeline import ingest_arrow
from yibenzhang.config import reset_settings
from yibenzhang.zone.engine import named_engine
from yibenzhang.zone.service import live_state
from yibenzhang.zone.spark import SparkEngine

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # the metadata store is not under test

ITEMS = [
    ItemIn(name="姓名", data_type="C", required=True),
    ItemIn(name="公民身份号码", data_type="C", required=True, is_key=True),
    ItemIn(name="联系电话", data_type="C"),
    ItemIn(name="出生日期", data_type="D"),
    ItemIn(name="备注", data_type="C", description="申请人填写的手机号码"),
    ItemIn(name="宗教信仰", data_type="C"),  # never collected: judged by its name
]
FIRST, CHANGED, ADDED = 1400, 300, 200  # rows of the 追加 batch; of the upsert: keys changed, keys added


def _batch(g: Gen, ids: list[str], *, nulls_every: int) -> pa.RecordBatch:
    n = len(ids)
    return pa.record_batch({
        "姓名": [g.person() for _ in range(n)],
        "公民身份号码": ids,
        "联系电话": [None if i % nulls_every == 0 else g.mobile(i % 3) for i in range(n)],
        "出生日期": [g.birth().isoformat() for _ in range(n)],
        "备注": [None if i % 4 == 0 else g.mobile() for i in range(n)],
    })


@pytest.fixture
def people(world, spark_remote, monkeypatch) -> int:
    monkeypatch.setenv("YBZ_SPARK_REMOTE", spark_remote)
    reset_settings()
    steward = world.actor("police_steward")
    rid = published(world, items=ITEMS)
    g = Gen(13)
    ids = list(dict.fromkeys(g.id18() for _ in range(FIRST + ADDED + 50)))[: FIRST + ADDED]
    first = ingest_arrow(world.db, steward, rid, [_batch(g, ids[:FIRST], nulls_every=7)],
                         source={"kind": "test"}, mode="追加")
    assert first.rows_accepted == FIRST
    upsert = ids[FIRST - CHANGED:]  # the last CHANGED keys again (corrected), then ADDED new ones
    second = ingest_arrow(world.db, steward, rid, [_batch(g, upsert, nulls_every=5)],
                          source={"kind": "test"}, mode="更新")
    assert second.rows_accepted == CHANGED + ADDED
    return rid


def _as_data(result: dict) -> dict:
    return {name: [(m.category, m.confidence, m.evidence) for m in ms] for name, ms in result.items()}


def test_full_scan_and_sample_classify_identically_on_duckdb_and_spark(world, people) -> None:
    with world.db.read() as s:
        state = live_state(s, people)
    assert state.dedupe and len(state.parts) == 2
    duck, spark = named_engine("duckdb"), named_engine("spark")
    names = [i.name for i in ITEMS]
    items = [(i.name, i.description) for i in ITEMS]
    for full_scan in (True, False):
        d = read_values(state, names, full_scan=full_scan, engine=duck)
        s = read_values(state, names, full_scan=full_scan, engine=spark)
        assert d.equals(s), full_scan  # the same rows in the same order: the recognizers' input
        assert d.num_rows == (FIRST + ADDED if full_scan else SAMPLE)
        assert d.column("联系电话").null_count > 0 and d.column("宗教信仰").null_count == d.num_rows
        on_duck = classify_state(state, items, full_scan=full_scan, engine=duck)
        on_spark = classify_state(state, items, full_scan=full_scan, engine=spark)
        assert _as_data(on_duck) == _as_data(on_spark)
        tops = {n: ms[0].category if ms and ms[0].accepted else None for n, ms in on_duck.items()}
        assert tops == {"姓名": "person_name", "公民身份号码": "id_card", "联系电话": "mobile",
                        "出生日期": "birth_date", "备注": "mobile", "宗教信仰": "religion"}
        ids = on_duck["公民身份号码"][0].evidence
        assert ids["full_scan"] is full_scan and ids["sample_size"] == d.num_rows
        assert ids["values"]["check_digit_rate"] == 1.0


def test_a_full_scan_goes_to_spark_by_the_rule(world, people, monkeypatch) -> None:
    """`ybz classify --full-scan` is heavy work: with YBZ_ENGINE=spark (and the input above
    YBZ_SPARK_MIN_BYTES) it reads through Spark, and finds what DuckDB finds."""
    reviewer = world.actor("reviewer")
    on_duckdb = classify_resource(world.db, reviewer, people, full_scan=True)
    calls = []
    real = SparkEngine.query

    def spy(self, state, plan):
        calls.append(state.resource_id)
        return real(self, state, plan)

    monkeypatch.setattr(SparkEngine, "query", spy)
    monkeypatch.setenv("YBZ_ENGINE", "spark")
    monkeypatch.setenv("YBZ_SPARK_MIN_BYTES", "0")
    reset_settings()
    on_spark = classify_resource(world.db, reviewer, people, full_scan=True)
    assert calls == [people]
    assert _as_data(on_spark) == _as_data(on_duckdb)
