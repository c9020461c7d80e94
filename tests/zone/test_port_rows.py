"""The port's operations for interactive and masked reads (issue 13): `rows` binds `r` to a live
state, files an exit wrote or an Arrow table and registers the platform functions a plan calls;
`value` evaluates a literal expression; a masking plan built as a sqlglot tree gives exactly the
policy SQL's values for every operator; masked exits stay on DuckDB whatever the rule says."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlglot import exp

from yibenzhang.classify import masking
from yibenzhang.classify import policies as P
from yibenzhang.zone import port
from yibenzhang.zone.engine import EngineError, Work, engine_for, named_engine

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)

VALUES = ["１１０１ 0119900307123X", " 张三 ", "欧阳娜娜", "z@example.cn", "浙江省杭州市西湖区文三路",
          "内蒙古自治区呼和浩特市新城区", "120.123456,30.98765", "出生于1990年", None, "", "a'b\\c", "x\x00y", "！？"]


def _table() -> pa.Table:
    n = len(VALUES)
    return pa.table({"c": VALUES, "d": [date(1990, 3, 7)] * n, "n": [1.234567] * n,
                     "_batch": [1] * n, "_row": list(range(n))})


@pytest.mark.parametrize("operator", sorted(masking.OPERATORS))
def test_a_masking_plan_gives_the_policy_sqls_values(world, operator) -> None:
    engine = named_engine("duckdb")
    table = _table()
    for name, sql_type in (("c", "VARCHAR"), ("d", "DATE"), ("n", "DOUBLE")):
        plan = P.MaskPlan("共享", "test-purpose", (P.ColumnPlan(name, "g", (), masking.Spec(operator)),))
        text = plan.sql("_ybz_rows", {name: sql_type}, tail="ORDER BY _row")
        try:
            expected = masking.execute(text, tables={"_ybz_rows": table})
        except EngineError:  # the operator does not take this type (in either form)
            continue
        query = plan.query({name: sql_type}, order=["_row"])
        got = engine.rows(table, query, functions=P.functions(query))
        if operator == "sm4":  # a fresh IV per value: equal only in which values are NULL
            assert got.column(0).is_null().equals(expected.column(0).is_null())
            continue
        assert got.column(0).to_pylist() == expected.column(0).to_pylist(), (operator, sql_type)


def test_rows_reads_files_and_arrow_and_registers_functions_once(world, tmp_path) -> None:
    engine = named_engine("duckdb")
    path = tmp_path / "part.parquet"
    pq.write_table(pa.table({"a": ["x'y", "z"], "_n": [1, 2]}), path)
    plan = exp.select("*").from_(port.RELATION).where(port.equals("a", "x'y")).order_by(port.col("_n"))
    assert engine.rows(port.Files((str(path),)), plan).to_pylist() == [{"a": "x'y", "_n": 1}]
    items = P.MaskPlan("共享", "p1", (P.ColumnPlan("a", "g", (), masking.Spec("pseudonym")),))
    query = items.query({"a": "VARCHAR"})
    functions = P.functions(query)
    assert [f.name for f in functions] == [f"ybz_mask_hmac_{b'p1'.hex()}"]
    first = engine.rows(pa.table({"a": ["x", "x"]}), query, functions=functions)
    again = engine.rows(pa.table({"a": ["x"]}), query, functions=functions)  # registered already
    assert first.column(0)[0] == first.column(0)[1] == again.column(0)[0]
    assert first.column(0)[0].as_py() != "x"


def test_value_casts_a_literal_or_refuses(world) -> None:
    engine = named_engine("duckdb")
    assert engine.value(port.typed("42", "BIGINT")) == 42
    assert engine.value(port.typed("2024-02-29", "DATE")) == date(2024, 2, 29)
    assert engine.value(port.typed("x", "BIGINT", strict=False)) is None
    with pytest.raises(EngineError):
        engine.value(port.typed("4' OR 1=1", "BIGINT"))


def test_a_keyset_cursor_and_conjunctions(world) -> None:
    assert port.after(["_batch", "_row"], [3, 9]).sql(dialect="duckdb") == '("_batch", "_row") > (3, 9)'
    assert port.after(["_n"], [5]).sql(dialect="duckdb") == '"_n" > 5'
    assert port.all_of([None]) is None
    assert port.rows_of(pa.table({"a": [1, 2], "b": ["x", None]})) == [(1, "x"), (2, None)]


def test_keyed_masking_and_exports_stay_on_duckdb(world, monkeypatch) -> None:
    from yibenzhang.config import get_settings, reset_settings

    monkeypatch.setenv("YBZ_ENGINE", "spark")
    monkeypatch.setenv("YBZ_SPARK_REMOTE", "sc://127.0.0.1:1")  # never contacted
    monkeypatch.setenv("YBZ_SPARK_MIN_BYTES", "1")
    reset_settings()
    try:
        if not get_settings().zone_on_s3:  # (Spark refuses an S3 zone: test_s3_zone)
            assert engine_for(Work.DELIVERY, input_bytes=10).name == "spark"
        assert engine_for(Work.DELIVERY, input_bytes=10, keyed=True).name == "duckdb"
        assert engine_for(Work.PAGE, input_bytes=10).name == "duckdb"
        assert engine_for(Work.EXPORT, input_bytes=10).name == "duckdb"  # one ordered file
    finally:
        monkeypatch.undo()
        reset_settings()


def test_file_groups_carry_their_batch_and_more_names_are_bound(world, tmp_path) -> None:
    engine = named_engine("duckdb")
    paths = []
    for i, table in enumerate((pa.table({"k": ["a", "b"], "v": [1, 2]}), pa.table({"v": [3], "k": ["a"]}))):
        paths.append(tmp_path / f"g{i}.parquet")
        pq.write_table(table, paths[-1])
    groups = (port.Files((str(paths[0]),), 7), port.Files((str(paths[1]),), 9))  # unioned by name
    latest = exp.select(port.col("k").as_("lk"), exp.Max(this=port.col("_batch")).as_("b")).from_("d").group_by("k")
    plan = (exp.select(port.col("k"), port.col("v"), port.col("_batch")).from_(port.RELATION)
            .join(latest.subquery("l"), on="l.lk = r.k AND l.b = r._batch").order_by(port.col("k")))
    got = engine.rows(groups, plan, tables={"d": groups})
    assert got.to_pylist() == [{"k": "a", "v": 3, "_batch": 9}, {"k": "b", "v": 2, "_batch": 7}]


def test_a_states_fingerprint_is_the_same_in_every_process(world) -> None:
    """Download files are keyed by it on disk: a key that changed with the process's hash seed
    would make every worker rebuild (and delete) the others' files."""
    import subprocess
    import sys

    code = ("from yibenzhang.zone import port; print(port.LiveState(1, (port.Column('a', 'VARCHAR'),), ('a',), "
            "(port.Part(3, ('f',), frozenset({'a', 'b', 'c', 'd', 'e', '_row'})),), True).fingerprint)")
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2, 3)}
    assert len(seen) == 1
