"""Sandbox outputs: what is released and how, what is recorded, and small-group differencing."""

from __future__ import annotations

import json
from datetime import date

import pyarrow.parquet as pq
import pytest

from tests.operate.conftest import approved
from yibenzhang.crypto import canonical_json, sm3_hex
from yibenzhang.errors import NotFound, PermissionDenied
from yibenzhang.ledger.model import LedgerEvent
from yibenzhang.operate import authorizations as auths
from yibenzhang.operate import disclosure_guard, run_record, sandbox
from yibenzhang.zone.engine import named_engine
from yibenzhang.zone.store import get_store

# Issue 14: every test here runs on the local zone and on the S3 zone (a real SeaweedFS).
pytestmark = pytest.mark.usefixtures("zone_store")


def query(op, sql: str, auth_id: int | None = None, who: str = "operator_user", day: date | None = None) -> dict:
    run = sandbox.submit_query(op.db, op.actor(who), auth_id or op.auth_id, sql.format(r=f"r_{op.resource_id}"),
                               day=day)
    return approved(op.world, run)  # held runs as released after a checker approved them


def test_an_aggregate_with_every_group_of_k_rows_is_released_recorded_and_stored(op):
    out = query(op, "SELECT 区县, count(*) AS n, round(avg(收入), 2) AS avg_income FROM {r} "
                    "WHERE 区县 IN ('甲', '乙', '丙') GROUP BY 区县 ORDER BY n DESC")
    assert out["state"] == "已放行" and out["release_kind"] == "聚合"
    rows = out["output"]["rows"]
    assert [(r["区县"], r["n"]) for r in rows] == [("甲", 100), ("乙", 50), ("丙", 10)]
    assert out["columns"] == ["区县", "n", "avg_income"]  # the hidden count and group columns are gone
    expected = sm3_hex(canonical_json({"columns": out["columns"], "rows": [list(r.values()) for r in rows]}))
    assert out["output_digest"] == expected
    with op.db.read() as s:
        run = sandbox.get_run(s, op.actor(), out["id"])
        path = run_record.output_path(run)
        assert run.sql_digest == sm3_hex(run.sql_text.encode())
        assert run.output_path == f"sandbox/{run.id}.parquet"  # in the zone, either store
        assert get_store().exists(run.output_path)
        assert pq.read_table(path).to_pylist() == rows
        event = s.query(LedgerEvent).filter_by(action="operate.sandbox.run").one()
        content = json.loads(event.content)
        assert content["sql_digest"] == run.sql_digest and content["output_digest"] == run.output_digest
        assert "SELECT" not in event.content and "甲" not in event.content


def test_aggregates_through_a_filtering_cte_are_released(op):
    out = query(op, "WITH adults AS (SELECT 区县, 收入 * 12 AS 年收入 FROM {r} WHERE 年龄 >= 30) "
                    "SELECT 区县, count(*) AS n, sum(年收入) AS s FROM adults GROUP BY 1 HAVING count(*) >= 10")
    assert out["state"] == "已放行", out["reason"]
    assert {r["区县"] for r in out["output"]["rows"]} <= {"甲", "乙", "丙"}


def test_member_values_only_over_items_released_in_clear(op):
    assert query(op, "SELECT 区县, min(年龄) AS a, max(年龄) AS b FROM {r} GROUP BY 区县 HAVING count(*) >= 10"
                 )["state"] == "已放行"
    assert query(op, "SELECT min(收入) FROM {r}")["reason_code"] == "lineage_aggregate"


def test_row_level_output_carries_only_clear_items(op):
    out = query(op, "SELECT 区县, 性别 AS s FROM {r} WHERE 区县 = '甲' AND 年龄 > 25 ORDER BY 年龄 LIMIT 5")
    assert out["state"] == "已放行" and out["release_kind"] == "行级" and out["row_count"] == 5
    assert out["output"]["rows"][0]["区县"] == "甲" and out["output"]["rows"][0]["s"] in ("男", "女")
    for sql in ("SELECT 区县, 收入 FROM {r}", "SELECT 身份证号 AS pid FROM {r}", "SELECT 病史 FROM {r} LIMIT 1",
                "WITH t AS (SELECT 身份证号 AS 区县 FROM {r}) SELECT 区县 FROM t"):
        assert query(op, sql)["state"] == "已拒绝", sql
    # derived attributes are for aggregates, not rows
    assert query(op, "SELECT 身份证号_出生年 FROM {r} LIMIT 1")["state"] == "已拒绝"


def test_identifiers_enter_as_per_run_pseudonyms_with_derived_attributes(op):
    out = query(op, "SELECT 区县, count(DISTINCT 身份证号) AS people, count(*) AS n FROM {r} "
                    "GROUP BY 区县 ORDER BY n DESC")
    rows = {r["区县"]: (r["people"], r["n"]) for r in out["output"]["rows"]}
    # 丁 (9 rows) is suppressed, and 丙, the smallest other cell, so the total does not give it back
    assert rows == {"甲": (100, 100), "乙": (50, 50), "丙": (None, None), "丁": (None, None)}
    assert suppressed(out) == {("丙",): "secondary", ("丁",): "threshold"}
    # with cells suppressed the rows are in group order, so their place does not rank them
    assert [r["区县"] for r in out["output"]["rows"]] == sorted(rows, key=lambda c: json.dumps([c]))
    out = query(op, "SELECT 身份证号_出生年 AS y, 身份证号_性别 AS sex, 身份证号_地区 AS region, count(*) AS n "
                    "FROM {r} GROUP BY ALL")
    assert out["state"] == "已放行", out["reason"]
    assert {(r["y"], r["region"]) for r in out["output"]["rows"]} == {(1990, "990101")}
    tables = {}
    with op.db.read() as s:
        auth = s.get(sandbox.Authorization, op.auth_id)
        views, _r, _m = sandbox.views_for(s, auth)
        view = views[f"r_{op.resource_id}"]
        assert {"身份证号", "病史"} <= {c for c, kind, _i in view.sources if kind == "pseudonym"}
        assert ("收入", "numeric", "收入") in view.sources
        checked = sandbox.sql_guard.check(f"SELECT 身份证号 FROM r_{op.resource_id}", views)
        for _ in range(2):
            tables.setdefault("runs", []).append(sandbox._materialize(
                named_engine("duckdb"), sandbox._projections(s, checked, op.auth_id, date(2026, 1, 1))))
    first, second = (t[f"r_{op.resource_id}"].column("身份证号").to_pylist() for t in tables["runs"])
    assert not any(v.startswith("990101") for v in first)  # never in clear
    assert len(set(first)) == 169 and not set(first) & set(second)  # a new key each run


@pytest.mark.parametrize("act", ["suspend", "revoke"])
def test_a_suspended_or_revoked_authorization_refuses_queries(op, act):
    with op.db.write() as s:
        getattr(auths, act)(s, op.actor("reviewer"), op.auth_id, "检查")
    out = query(op, "SELECT count(*) FROM {r}")
    assert out["state"] == "已拒绝" and out["reason_code"] == "authorization_inactive"
    assert ("暂停" if act == "suspend" else "撤销") in out["reason"]


def test_an_expired_authorization_or_one_not_yet_started_refuses_queries(op):
    assert query(op, "SELECT count(*) FROM {r}", day=date(2030, 1, 1))["reason"] == "运营授权状态为“已到期”，不能查询"
    assert query(op, "SELECT count(*) FROM {r}", day=date(2024, 12, 31))["reason_code"] == "authorization_inactive"
    assert query(op, "SELECT count(*) FROM {r}", day=date(2029, 12, 31))["state"] == "已放行"


def test_only_operator_users_of_the_authorized_org_query(op):
    with pytest.raises(PermissionDenied):
        sandbox.submit_query(op.db, op.actor("reviewer"), op.auth_id, "SELECT 1")
    with pytest.raises(NotFound):
        sandbox.submit_query(op.db, op.actor("consumer"), op.auth_id, "SELECT 1")


# --- small-group differencing -------------------------------------------------------------------

BY_COUNTY = "SELECT 区县, count(*) AS n, sum(收入) AS s FROM {r} {where} GROUP BY 区县 HAVING count(*) >= 10"


def suppressed(out: dict) -> dict:
    assert out["state"] == "已放行", out["reason"]
    return {tuple(c["group"]): c["reason"] for c in out["suppressed"]}


def test_differencing_by_excluding_a_few_people_suppresses_the_cell(op):
    # HAVING leaves 丁 (9 rows) out, and the total would give it back: 丙 is suppressed too
    assert suppressed(query(op, BY_COUNTY.format(r="{r}", where=""))) == {("丙",): "secondary"}
    out = query(op, BY_COUNTY.format(r="{r}", where="WHERE 年龄 <> 20"))  # 3 of 甲's rows, 2 of 乙's
    reasons = suppressed(out)
    assert reasons[("甲",)] == "differencing" and reasons[("乙",)] == "differencing"
    rows = {r["区县"]: r for r in out["output"]["rows"]}
    assert rows["甲"]["n"] is None and rows["甲"]["s"] is None
    # excluding a person by a protected item is refused before anything runs
    assert query(op, BY_COUNTY.format(r="{r}", where="WHERE 身份证号 <> 'x'"))["reason_code"] == "lineage_predicate"


def test_differencing_by_one_range_bound_is_suppressed(op):
    assert suppressed(query(op, "SELECT count(*) AS n, avg(收入) AS a FROM {r} WHERE 年龄 > 30")) == {}
    assert suppressed(query(op, "SELECT count(*) AS n, avg(收入) AS a FROM {r} WHERE 年龄 > 31")) == {
        (): "differencing"}
    # a band of k rows or more is not an individual
    assert suppressed(query(op, "SELECT count(*) AS n, avg(收入) AS a FROM {r} WHERE 年龄 > 40")) == {}


def test_queries_whose_rows_are_not_nested_are_not_compared(op):
    assert suppressed(query(op, "SELECT count(*) AS n FROM {r} WHERE 性别 = '男'")) == {}
    assert suppressed(query(op, "SELECT count(*) AS n FROM {r} WHERE 性别 = '女'")) == {}


def test_differencing_by_a_narrower_between_or_value_set_is_suppressed(op):
    assert suppressed(query(op, "SELECT count(*) AS n FROM {r} WHERE 年龄 BETWEEN 30 AND 50")) == {}
    assert suppressed(query(op, "SELECT count(*) AS n FROM {r} WHERE 年龄 BETWEEN 30 AND 49")) == {(): "differencing"}
    by_sex = "SELECT 性别, count(*) AS n FROM {r} WHERE 区县 IN ('甲', '丁') GROUP BY 性别"
    assert suppressed(query(op, by_sex)) == {}
    assert set(suppressed(query(op, "SELECT 性别, count(*) AS n FROM {r} WHERE 区县 = '甲' GROUP BY 性别")).values()) \
        == {"differencing"}


def test_what_the_differencing_check_does_not_catch(op):
    """Documented limits: a different grouping, and conditions nested only through OR."""
    total = query(op, "SELECT count(*) AS n, sum(收入) AS s FROM {r}")
    shown = query(op, BY_COUNTY.format(r="{r}", where=""))
    assert total["state"] == shown["state"] == "已放行"  # total − shown groups = the 9 rows of 丁: not caught
    assert query(op, "SELECT count(*) AS n FROM {r} WHERE 区县 = '甲' OR 区县 = '丁'")["state"] == "已放行"
    assert query(op, "SELECT count(*) AS n FROM {r} WHERE 区县 = '甲'")["state"] == "已放行"


def test_nested_predicates():
    nested = disclosure_guard.nested
    assert nested([], ["a = 1"])
    assert nested(["a = 1", "b = 2"], ["a = 1"])
    assert nested(["x > 30"], ["x > 31"]) and nested(["x <= 5"], ["x < 5"]) and nested(["x >= -2"], ["x > -2"])
    assert nested(["x BETWEEN 1 AND 9"], ["x BETWEEN 2 AND 9"]) and nested(["x > 0"], ["x BETWEEN 1 AND 9"])
    assert nested(["c IN ('a', 'b')"], ["c = 'a'"]) and nested(["x >= 1"], ["x IN (1, 2)"])
    assert not nested(["x > 30"], ["x < 31"]) and not nested(["x BETWEEN 1 AND 5"], ["x BETWEEN 3 AND 9"])
    assert not nested(["a = 1"], ["a = 2"]) and not nested(["a"], ["a"]) and not nested(["x > 1"], ["y > 2"])
    assert not nested(["x > 'a'"], ["x > 1"])
