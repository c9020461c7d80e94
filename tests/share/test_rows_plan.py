"""A grant's reads are port plans (issue 13): the page's filter values, the 回流 scope's prefix and
the keyset cursor are literals of the sqlglot tree, never SQL text; values with quotes,
backslashes, unicode or NUL find exactly their rows on both paths (snapshot and per-call query),
and a hostile 核验 key is a key like any other."""

from __future__ import annotations

import pyarrow as pa
import pytest
from sqlglot import exp

from yibenzhang.share import grants as G
from yibenzhang.share import service_rows as SR
from yibenzhang.share import verify as V

from .test_grants import ROWS, issue, share_fixture  # noqa: F401  (the `share` fixture)

ODD = ["O'Brien", "x' OR '1'='1", "back\\slash", "全角\u3000名", "nul\x00名", 'q"uote']


def shape_of(share, gid):
    w = share.world
    with w.db.read() as s:
        return SR.shape(s, s.get(G.Grant, gid))


def _strings(tree: exp.Expression) -> list[str]:
    return [lit.this for lit in tree.find_all(exp.Literal) if lit.is_string]


def test_a_filtered_scoped_masked_page_holds_values_as_literals_only(share):
    gid = issue(share, org="city_police", items=["姓名", "宗教信仰", "行政区划代码"], scope={"region_code": "990100"})
    sh = shape_of(share, gid)
    value = "张伟' OR '1'='1"
    plan = SR.page_plan(sh, {"姓名": value}, 10, "7.3")
    strings = _strings(plan)
    assert value in strings and "9901" in strings
    for node in plan.walk():
        if not isinstance(node, exp.Literal):
            assert not any(isinstance(v, str) and (value in v or v == "9901") for v in node.args.values())
    cursor = next(node for node in plan.find_all(exp.GT))
    assert [e.this for e in cursor.expression.expressions] == ["7", "3"]
    assert all(isinstance(e, exp.Literal) for e in cursor.expression.expressions)
    assert sh.functions  # the SM4 item's keyed function goes with the plan to the engine
    names, rows = SR.query_page_sql(sh, {"姓名": value}, 10, None)
    assert rows == [] and names[-2:] == ["_batch", "_row"]


@pytest.fixture
def odd(share):
    from yibenzhang.collect.pipeline import ingest_arrow

    w = share.world
    extra = {k: [v[0]] * len(ODD) for k, v in ROWS.items()}
    extra["公民身份号码"] = [f"99010120010101{n:04d}" for n in range(len(ODD))]
    extra["姓名"] = list(ODD)
    ingest_arrow(w.db, w.actor("police_steward"), share.rid, [pa.RecordBatch.from_pydict(extra)],
                 source={"kind": "test"}, mode="追加")
    SR.clear_cache()
    return share


@pytest.mark.parametrize("value", ODD)
def test_odd_values_find_their_rows_on_both_paths(odd, value):
    sh = shape_of(odd, issue(odd, items=["姓名", "行政区划代码"]))
    assert sh.snapshot_ok
    for fetch in (SR.query_page, SR.query_page_sql):
        names, rows = fetch(sh, {"姓名": value}, 10, None)
        assert [r[names.index("姓名")] for r in rows] == [value], fetch.__name__
        _, none = fetch(sh, {"姓名": value + "'"}, 10, None)
        assert none == []


def test_a_value_not_of_the_type_is_refused_on_both_paths(share):
    sh = shape_of(share, issue(share, items=["姓名", "行政区划代码"]))
    sh = SR.Shape(sh.grant_id, sh.state, sh.plan, {**sh.types, "行政区划代码": "BIGINT"}, sh.scope,
                  sh.record_count, sh.view, sh.view_plan, sh.functions)
    for fetch in (SR.query_page, SR.query_page_sql):
        with pytest.raises(SR.DomainError) as err:
            fetch(sh, {"行政区划代码": "9901' OR 1=1"}, 10, None)
        assert err.value.code == "filter_value_invalid"


def test_verify_takes_odd_keys_and_claims_as_values(odd, monkeypatch):
    w = odd.world
    gid = issue(odd, items=["公民身份号码", "姓名"], mode="核验")
    for snapshots in ("on", "off"):
        monkeypatch.setenv("YBZ_SHARE_SNAPSHOTS", snapshots)
        for n, value in enumerate(ODD):
            key = {"公民身份号码": f"99010120010101{n:04d}"}
            assert V.verify(w.db, w.actor("consumer"), gid, key, {"姓名": value})["match"] == {"姓名": True}
            assert V.verify(w.db, w.actor("consumer"), gid, key, {"姓名": value + "'"})["match"] == {"姓名": False}
        hostile = {"公民身份号码": "x' OR '1'='1"}
        assert V.verify(w.db, w.actor("consumer"), gid, hostile, {"姓名": ODD[0]})["match"] == {"姓名": False}
