"""A small population library over five contributing resources of five orgs of the test world,
with planted conflicts, 15-digit IDs and invalid keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa
import pytest
from stdnum.cn import ric

from tests.factories import published
from yibenzhang.access import Actor
from yibenzhang.catalog import service as catalog
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.collect.pipeline import ingest_arrow
from yibenzhang.library import definition as D


def id18(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


A = id18("53010219900307123")
B = id18("11010119800101002")
C = id18("44030120001231001")
A15 = "530102900307123"  # A's legacy 15-digit form

# org key, resource name, key item, [(item, type, authoritative)]
SOURCES = [
    ("police", "户籍人口信息", "公民身份号码", [("姓名", "C", True), ("出生日期", "D", True), ("户籍地址", "C", True)]),
    ("county_civil", "婚姻登记信息", "身份证号", [("姓名", "C", False), ("婚姻状况", "C", True)]),
    ("other_city_org", "社会保险参保信息", "证件号码", [("姓名", "C", False), ("出生日期", "D", False),
                                                     ("参保状态", "C", True), ("联系电话", "C", False)]),
    ("hospital", "居民健康档案", "身份证号码", [("姓名", "C", False), ("出生日期", "D", False),
                                             ("联系电话", "C", False)]),
    ("city_police", "居住证办理信息", "公民身份号码", [("姓名", "C", False), ("户籍地址", "C", False),
                                                    ("联系电话", "C", False)]),
]
STEWARDS = {"police": "police_steward", "county_civil": "county_steward", "city_police": "city_steward"}


@dataclass
class Lib:
    world: Any
    library: int
    sources: list[int] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)

    def push(self, index: int, rows: list[dict[str, Any]], mode: str = "更新") -> None:
        _org, _, key, items = SOURCES[index]
        names = [key] + [n for n, _, _ in items]
        types = {n: (pa.date32() if t == "D" else pa.string()) for n, t, _ in items}
        schema = pa.schema([(key, pa.string())] + [(n, types[n]) for n, _, _ in items])
        cols = [[r.get(n) for r in rows] for n in names]
        ingest_arrow(self.world.db, Actor.system(), self.sources[index],
                     [pa.record_batch(cols, schema=schema)], source={"kind": "push"}, mode=mode)


def make_sources(world) -> tuple[list[int], list[str]]:
    ids, codes = [], []
    for org, name, key, items in SOURCES:
        rid = published(world, org, name=name, items=[
            ItemIn(name=key, data_type="C", length=18, is_key=True),
            *[ItemIn(name=n, data_type=t, authoritative=a, element=n if a else None) for n, t, a in items]])
        ids.append(rid)
        with world.db.read() as s:
            codes.append(catalog.get_resource(s, Actor.system(), rid).code)
    return ids, codes


def definition(codes: list[str]) -> D.DefinitionIn:
    items = [D.ItemDef(name="姓名"), D.ItemDef(name="出生日期", data_type="D"), D.ItemDef(name="户籍地址"),
             D.ItemDef(name="婚姻状况"), D.ItemDef(name="参保状态"),
             D.ItemDef(name="联系电话", fresh_days=365, fallback=[codes[3], codes[2], codes[4]])]
    sources = []
    for code, (_, _, key, its) in zip(codes, SOURCES, strict=True):
        sources.append(D.SourceDef(resource=code, key=key, items={n: n for n, _, _ in its}))
    return D.DefinitionIn(kind="person", items=items, sources=sources)


def define(world, codes: list[str]) -> int:
    from tests.factories import resource_in

    meta = resource_in(world, "authority", name="人口综合库", abstract="全省人口基础库（一人一档）", items=[])
    with world.db.write() as s:
        lib = D.define_library(s, Actor.system(), meta, definition(codes))
        catalog.submit_resource(s, Actor.system(), lib.id)
        catalog.publish_resource(s, world.actor("reviewer"), lib.id)
        return lib.id


PLANTED = [
    # 户籍 (authority of 姓名, 出生日期, 户籍地址): A by its 15-digit ID, B, an invalid key
    (0, [{"公民身份号码": A15, "姓名": "张三", "出生日期": date(1990, 3, 7), "户籍地址": "春城路1号"},
         {"公民身份号码": B, "姓名": "李四", "出生日期": date(1980, 1, 1), "户籍地址": "岚川路2号"},
         {"公民身份号码": "53010219900307124", "姓名": "无效", "出生日期": None, "户籍地址": None}]),
    # 婚姻: A in full width with a space, a different name (conflict)
    (1, [{"身份证号": " " + A.translate(str.maketrans("0123456789", "０１２３４５６７８９")), "姓名": "张叁",
          "婚姻状况": "已婚"}]),
    # 社保: A with a different birth date (conflict), C only here
    (2, [{"证件号码": A, "姓名": "张三", "出生日期": date(1990, 3, 8), "参保状态": "参保", "联系电话": "13900000002"},
         {"证件号码": C, "姓名": "王五", "出生日期": date(2000, 12, 31), "参保状态": "参保",
          "联系电话": "13900000003"}]),
    # 健康档案: first in the 联系电话 fallback order; a key with no such birth date
    (3, [{"身份证号码": A, "姓名": "张三", "出生日期": date(1990, 3, 7), "联系电话": "13900000001"},
         {"身份证号码": "530102199002301234", "姓名": "二月三十", "出生日期": None, "联系电话": None}]),
    # 居住证: B with another address (conflict)
    (4, [{"公民身份号码": B, "姓名": "李四", "户籍地址": "清河路3号", "联系电话": None}]),
]


@pytest.fixture
def lib(world) -> Lib:
    ids, codes = make_sources(world)
    out = Lib(world, 0, ids, codes)
    for index, rows in PLANTED:
        out.push(index, rows, "全量")
    out.library = define(world, codes)
    return out
