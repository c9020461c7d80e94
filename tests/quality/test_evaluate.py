"""All rules in one statement over DuckDB tables made here: counts, samples, no values."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from yibenzhang.quality import scores as S
from yibenzhang.quality.evaluate import blank_guard, build_sql, evaluate
from yibenzhang.quality.rules import Rule, catalogue_rules, format_of

TODAY = date(2026, 3, 15)
ITEMS = [
    dict(name="姓名", data_type="字符型", length=3, required=True, enumeration=None, format=None, is_key=False),
    dict(name="公民身份号码", data_type="字符型", length=18, required=True, enumeration=None, format=None,
         is_key=True),
    dict(name="出生日期", data_type="日期型", length=None, required=False, enumeration=None, format=None,
         is_key=False),
    dict(name="手机号码", data_type="字符型", length=None, required=False, enumeration=None, format=None,
         is_key=False),
    dict(name="性别", data_type="字符型", length=None, required=False, enumeration=["男", "女"], format=None,
         is_key=False),
    dict(name="登记日期", data_type="字符型", length=None, required=False, enumeration=None, format="YYYY-MM-DD",
         is_key=False),
]


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("""CREATE TABLE people AS SELECT * FROM (VALUES
        (1, '张三', '11010519491231002X', DATE '1949-12-31', '13812345678', '男', '2020-01-02'),
        (2, '', '11010519491231002X', NULL, '12812345678', '女', '2020/1/2'),
        (3, NULL, '110105194912310021', NULL, NULL, '未知', '2020-13-01'),
        (4, '李四四四', NULL, DATE '2030-01-01', '+8613812345678', NULL, NULL),
        (5, '王五', '110105491231002', DATE '1949-12-31', '010-62345678', '男', '20200102')
    ) t(_row, "姓名", "公民身份号码", "出生日期", "手机号码", "性别", "登记日期")""")
    c.execute("CREATE TABLE phones AS SELECT * FROM (VALUES ('13812345678'), ('+8613812345678')) t(m)")
    yield c
    c.close()


def by_key(evaluation):
    return {r.rule.key: (r.checked, r.failed, r.samples) for r in evaluation.results}


def test_catalogue_rules_derived_from_items():
    keys = {r.key for r in catalogue_rules(ITEMS)}
    assert keys == {"not_null:姓名", "length:姓名", "not_null:公民身份号码", "length:公民身份号码",
                    "format:公民身份号码", "format:手机号码", "enum:性别", "format:登记日期", "unique:key"}
    assert format_of("统一社会信用代码", None, "C") == "uscc"
    assert format_of("开户银行账号", None, "C") == "bank_card"
    assert format_of("联系电话", None, "C") == "phone"
    assert format_of("所在地", "行政区划代码", "C") == "division"
    assert format_of("备注", None, "C") is None


def test_every_rule_counted_in_one_statement(con):
    rules = [
        *catalogue_rules(ITEMS),
        Rule("steward:1", "range", ("出生日期",), {"min": "1900-01-01", "max": "2026-03-15"}, types=("D",)),
        Rule("steward:2", "reference", ("手机号码",), {"item": "m"}, dimension="一致性"),
        Rule("steward:3", "regex", ("姓名",), {"pattern": "[\u4e00-\u9fff]{2,4}"}),
    ]
    ev = evaluate(con, "people", rules, references={"steward:2": "phones"}, today=TODAY)
    got = by_key(ev)
    assert ev.rows == 5
    assert got["not_null:姓名"] == (5, 2, [2, 3])  # NULL and blank
    assert got["length:姓名"] == (4, 1, [4])
    assert got["not_null:公民身份号码"] == (5, 1, [4])
    assert got["format:公民身份号码"] == (4, 1, [3])  # wrong check digit; 15-digit legacy is fine
    assert got["unique:key"] == (4, 2, [1, 2])  # both rows sharing a key fail
    assert got["format:手机号码"] == (4, 2, [2, 5])  # 128… is no mobile prefix, nor is a landline
    assert got["enum:性别"] == (4, 1, [3])
    assert got["format:登记日期"] == (4, 1, [3])
    assert got["steward:1"] == (3, 1, [4])  # born in the future
    assert got["steward:2"] == (4, 2, [2, 5])
    assert got["steward:3"] == (4, 1, [2])
    # One statement: source, flags, counts, samples of the failing rows and the result, with
    # uniqueness and references as joined sub-plans.
    sql = build_sql("people", {"_row", "姓名", "公民身份号码", "出生日期", "手机号码", "性别", "登记日期"}, rules,
                    references={"steward:2": "phones"}, today=TODAY)
    assert sql.count("SELECT") == 7 and sql.count("LEFT JOIN") == 2
    assert ";" not in sql
    # Samples are row numbers, never values.
    assert all(isinstance(x, int) for r in ev.results for x in r.samples)
    assert "11010519491231002X" not in repr([r.as_dict() for r in ev.results])


def test_missing_columns_fail_required_and_skip_the_rest(con):
    rules = catalogue_rules([dict(name="住址", data_type="字符型", length=100, required=True, enumeration=None,
                                  format=None, is_key=False)])
    got = by_key(evaluate(con, "people", rules, today=TODAY))
    assert got["not_null:住址"] == (5, 5, [1, 2, 3, 4, 5])
    assert got["length:住址"] == (0, 0, [])


def test_samples_are_bounded(con):
    con.execute("CREATE TABLE big AS SELECT range + 1 AS _row, NULL::VARCHAR AS \"姓名\" FROM range(1000)")
    ev = evaluate(con, "big", [Rule("not_null:姓名", "not_null", ("姓名",), dimension="完整性", types=("C",))],
                  sample_n=3)
    assert (ev.results[0].checked, ev.results[0].failed, ev.results[0].samples) == (1000, 1000, [1, 2, 3])


def test_scores_weight_rules_by_rows_checked(con):
    ev = evaluate(con, "people", catalogue_rules(ITEMS), today=TODAY)
    dims = S.dimension_scores(ev.results, 100.0)
    # 完整性: 3 failures over 10 checks
    assert dims["完整性"] == 70.0
    assert dims["唯一性"] == 50.0
    assert dims["及时性"] == 100.0
    expected = sum(dims[d] * w for d, w in S.DIMENSION_WEIGHTS.items()) / sum(S.DIMENSION_WEIGHTS.values())
    assert S.overall(dims) == pytest.approx(expected, abs=0.01)
    assert S.overall({**dims, "唯一性": None}) != S.overall(dims)


def test_timeliness_in_working_days_and_calendar_months():
    friday = date(2026, 3, 13)
    assert S.timeliness("每日", friday, date(2026, 3, 16)) == 100.0  # Monday is the next working day
    assert S.timeliness("每日", friday, date(2026, 3, 17)) == 50.0  # two working days old
    # National Day 2025: Sept 30 → next working day Oct 9 (Oct 1-8 holidays, 调休 Sep 28 & Oct 11)
    assert S.timeliness("每日", date(2025, 9, 30), date(2025, 10, 8)) == 100.0
    assert S.timeliness("每周", friday, date(2026, 3, 20)) == 100.0
    assert S.timeliness("每月", date(2026, 1, 31), date(2026, 2, 28)) == 100.0
    assert S.timeliness("每月", date(2026, 1, 31), date(2026, 3, 30)) == pytest.approx(100 * 28 / 58, abs=0.01)
    assert S.timeliness("每年", date(2025, 3, 15), TODAY) == 100.0
    assert S.timeliness("不定期", friday, TODAY) is None
    assert S.timeliness("每日", None, TODAY) == 0.0


def test_weighted_average_by_record_count():
    agg = S.weighted_average([({"准确性": 100.0}, 100.0, 300), ({"准确性": 50.0}, 50.0, 100)])
    assert agg["scores"]["准确性"] == 87.5 and agg["overall"] == 87.5 and agg["rows"] == 400


def test_blank_guard_never_hides_a_value_trim_empties():
    """The cheap guard before trim must hold for every value DuckDB's trim reduces to ''."""
    con = duckdb.connect()
    points = [*range(1, 0xD800), *range(0xE000, 0x10000, 7), *range(0x10000, 0x110000, 997)]
    values = [chr(p) for p in points] + [chr(p) * 3 for p in points[:0x3100]] + ["", " a", "a ", " \u3000 "]
    query = (f"SELECT v FROM (SELECT unnest($vals::VARCHAR[]) AS v) "
             f"WHERE (trim(v) = '') <> ({blank_guard('v')} AND trim(v) = '')")
    assert con.execute(query, {"vals": values}).fetchall() == []
    blanks = con.execute("SELECT count(*) FROM (SELECT unnest($vals::VARCHAR[]) AS v) WHERE trim(v) = ''",
                         {"vals": values}).fetchone()[0]
    assert blanks > 30  # space separators, alone and repeated, and '' itself


def test_vectorized_and_portable_sql_give_the_same_results(tmp_path):
    """The kernels change how, not what: the bench's rows (every format, defects included)."""
    from yibenzhang.bench.quality import bench_rules, generate

    path = generate(tmp_path / "q.parquet", 3000)
    con = duckdb.connect()
    relation = f"read_parquet('{path}')"
    fast = evaluate(con, relation, bench_rules(), today=TODAY)
    portable = evaluate(con, relation, bench_rules(), today=TODAY, vectorized=False)
    assert "ybz_" in fast.sql and "ybz_" not in portable.sql
    assert by_key(fast) == by_key(portable)
    assert sum(r.failed for r in fast.results if r.rule.kind == "format") > 0


def test_bench_reports_its_figures_and_says_when_great_expectations_is_missing(tmp_path, monkeypatch):
    import importlib.util

    from yibenzhang.bench import quality as bench

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "great_expectations" else real_find_spec(name, *a))
    monkeypatch.setattr(bench, "CACHE_DIR", tmp_path)
    out = bench.run(runs=1, scale=0.001)
    assert out["rows"] == 1000 and out["rules"] >= 30 and out["evaluate_median_s"] > 0
    assert out["great_expectations"]["installed"] is False and "gx_ratio" not in out
    assert out["failing_rules"]["unique:key"] == 2  # row 6 repeats row 5's identity (i % 10007 == 5)
