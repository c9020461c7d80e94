"""Engine parity (issue 21 acceptance): the same fusion plan on DuckDB and on a real Spark
Connect server gives identical entities, values, provenance, conflicts, rejects and counts — and
both agree with the independent computation of the rules."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from tests.library import test_fusion_rules as R
from yibenzhang.library import engines
from yibenzhang.zone.spark import SparkEngine

pytestmark = pytest.mark.spark


def _rows(n: int, seed: int = 21) -> list[tuple]:
    rng = random.Random(seed)
    keys = R.PEOPLE + R.LEGACY + R.BAD
    out = []
    for _ in range(n):
        base = rng.choice(keys)
        if base is not None and rng.random() < 0.3:
            base = rng.choice([base.translate(R.FULL), f" {base} ", base.lower(), "\u3000" + base,
                               f"\t{base[:9]}\x0b{base[9:]}\r\n", base[:6] + "-" + base[6:]])  # \v: white space on both
        out.append((rng.randrange(5), rng.randrange(2), base, rng.choice(["张三", "张 三", " 张三 ", "李四", "", None]),
                    rng.choice([R.date(1990, 3, 7), R.date(1990, 3, 8), None]),
                    rng.choice(["13900000001", "13900000002", None]), rng.choice(["春城路1号", "岚川路2号", None])))
    return out


def _sorted(t: pa.Table, keys: list[str]) -> pa.Table:
    return t.sort_by([(k, "ascending") for k in keys])


def test_duckdb_and_spark_fuse_alike(tmp_path, spark_remote) -> None:
    rows = _rows(300)
    duck = R.run_plan(tmp_path / "duck", rows) if (tmp_path / "duck").mkdir() is None else None
    spark = SparkEngine(spark_remote)
    try:
        (tmp_path / "spark").mkdir()
        sp = R.run_plan(tmp_path / "spark", rows, engine=spark)
    finally:
        spark.close()
    R.check_against_reference(*duck)
    R.check_against_reference(*sp)
    for name, keys in (("data", ["公民身份号码"]), ("conflicts", ["entity", "item", "source_resource_id"]),
                       ("rejects", ["source_resource_id", "source_batch", "source_row"])):
        a = _sorted(engines.read(duck[4], duck[3]["files"][name]), keys)
        b = _sorted(engines.read(sp[4], sp[3]["files"][name]), keys)
        assert a.schema.names == b.schema.names, name
        assert a.to_pylist() == b.to_pylist(), name
        assert a.num_rows > 0, name
    ca = _sorted(duck[3]["counts"].cast(pa.schema([("_src", pa.int64()), ("_item", pa.int64()),
                                                    ("compared", pa.int64()), ("conflicts", pa.int64())])),
                 ["_src", "_item"])
    cb = _sorted(sp[3]["counts"].cast(ca.schema), ["_src", "_item"])
    assert ca.to_pylist() == cb.to_pylist()


def test_incremental_plan_alike_on_spark(tmp_path, spark_remote) -> None:
    """The incremental plan (the touched keys' rows found by `keys.could_be`) on Spark as on DuckDB."""
    from yibenzhang.library import fusion
    from yibenzhang.zone import port as P

    rows = _rows(120, seed=7)
    states, _ = R.write_sources(tmp_path, rows)
    source = next(i for i in (2, 0, 1, 3, 4) if any(p.batch_id % 10 == 1 for p in states[i].parts))
    part = next(p for p in states[source].parts if p.batch_id % 10 == 1)
    st = states[source]
    collected = {p.batch_id: R.COLLECTED[p.batch_id] for s in states.values() for p in s.parts}
    plan = fusion.build(R.resolved(), states, collected, today=R.TODAY, now=R.NOW,
                        new_parts=[(source, P.LiveState(st.resource_id, st.columns, (), (part,), False))])
    spark = SparkEngine(spark_remote)
    try:
        outs = {"duck": engines.run(R.DuckDBEngine(tmp_path), plan, str(tmp_path / "duck")),
                "spark": engines.run(spark, plan, str(tmp_path / "spark"))}
    finally:
        spark.close()
    for name, keys in (("data", ["公民身份号码"]), ("conflicts", ["entity", "item", "source_resource_id"]),
                       ("rejects", ["source_resource_id", "source_batch", "source_row"])):
        a = _sorted(engines.read(tmp_path / "duck", outs["duck"]["files"][name]), keys)
        b = _sorted(engines.read(tmp_path / "spark", outs["spark"]["files"][name]), keys)
        assert a.to_pylist() == b.to_pylist(), name
    assert outs["duck"]["rows"]["data"] > 0
