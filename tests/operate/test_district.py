"""The district derived from an address (issue 16 item 1: "district from an address"): the sandbox's
copy offers `<address item>_区县`, the county-level division code (GB/T 2260) an address names,
matched on the platform's own regions; the address itself is a pseudonym."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from tests.factories import published
from yibenzhang.access import Actor
from yibenzhang.catalog.model import ResourceItem
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.collect.pipeline import ingest_arrow
from yibenzhang.operate import sandbox
from yibenzhang.operate.sandbox import district_sql

from .conftest import approved, make_auth

ADDRESSES = (["云岭省春城市安宁县幸福路1号"] * 12 + ["云岭省石林市宜良县南街5号"] * 11
             + ["外省某市某区某路"] * 10 + [None] * 10)


def test_the_district_of_an_address_is_a_clear_column_and_the_address_a_pseudonym(world):
    rid = published(world, name="户籍人口",
                    items=[ItemIn(name="户籍地址", data_type="C"), ItemIn(name="年龄", data_type="I")])
    ages = [str(20 + i % 50) for i in range(len(ADDRESSES))]
    batch = pa.RecordBatch.from_pydict({"户籍地址": ADDRESSES, "年龄": ages})
    ingest_arrow(world.db, Actor.system(), rid, [batch], source={"kind": "test"})
    with world.db.write() as s:
        for item in s.query(ResourceItem).filter_by(resource_id=rid):
            item.grade = "一般-3级" if item.name == "户籍地址" else "一般-1级"
    auth = make_auth(world, rid, ["户籍地址", "年龄"])

    def run(sql: str) -> dict:
        return approved(world, sandbox.submit_query(world.db, world.actor("operator_user"), auth,
                                                    sql.format(r=f"r_{rid}")))

    out = run("SELECT 户籍地址_区县 AS d, count(*) AS n FROM {r} GROUP BY 1 ORDER BY 2 DESC")
    assert out["state"] == "已放行", out["reason"]
    counts = {r["d"]: r["n"] for r in out["output"]["rows"]}
    assert counts == {"990101": 12, "990201": 11, None: 20}
    assert run("SELECT 户籍地址 FROM {r} LIMIT 1")["state"] == "已拒绝"  # the address never leaves
    assert run("SELECT max(户籍地址) FROM {r}")["state"] == "已拒绝"


def test_a_namesake_county_is_told_apart_by_its_city_and_a_longer_name_wins():
    counties = [("110102", "西山区", "甲市"), ("220103", "西山区", "乙市"), ("330104", "山区", "丙市")]
    expr = district_sql("a", counties)
    with duckdb.connect() as con:
        rows = con.sql(f"SELECT a, {expr} AS d FROM (VALUES ('乙市西山区一路'), ('甲市西山区'), ('丙市山区'), "
                       "('西山区某路'), ('无')) t(a)").fetchall()
    got = dict(rows)
    assert got["乙市西山区一路"] == "220103" and got["甲市西山区"] == "110102" and got["丙市山区"] == "330104"
    assert got["西山区某路"] in ("110102", "220103") and got["无"] is None
    assert district_sql("a", []) == "CAST(NULL AS VARCHAR)"
