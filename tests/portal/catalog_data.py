"""A small open catalogue: datasets in several domains, orgs, regions, formats and open types,
plus entries the public must never see (不予开放, a draft)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from tests.factories import published, resource_in
from yibenzhang.access import Actor
from yibenzhang.catalog import service as catalog
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.open import portal_query

SCHOOL_ITEMS = [ItemIn(name="学校名称", data_type="C", length=100, required=True, is_key=True),
                ItemIn(name="学段", data_type="C", length=10), ItemIn(name="所属区县", data_type="C", length=20),
                ItemIn(name="建校日期", data_type="D"), ItemIn(name="校长姓名", data_type="C", length=20)]
SCHOOL_ROWS = {
    "学校名称": ["春城第一中学", "春城第二中学", "春城实验小学", "安宁县第一小学", "石林中学", "宜良小学"],
    "学段": ["初中", "高中", "小学", "小学", "高中", "小学"],
    "所属区县": ["春城市", "春城市", "春城市", "安宁县", "石林市", "宜良县"],
    "建校日期": ["1952-09-01", "1960-09-01", "1985-09-01", "1990-03-01", "1958-09-01", "2001-09-01"],
    "校长姓名": ["王建国", "李明", "张伟", "赵敏", "陈静", "周强"],
}

SPECS: list[dict[str, Any]] = [
    {"key": "schools", "org": "market", "name": "中小学学校名录", "category_code": "213001",
     "open_type": "无条件开放", "format_detail": "csv、xlsx", "update_cycle": "每年", "keywords": ["学校", "教育"],
     "items": SCHOOL_ITEMS},
    {"key": "hospitals", "org": "hospital", "name": "医疗机构基本信息", "category_code": "202001",
     "open_type": "无条件开放", "format_detail": "csv", "update_cycle": "每月", "keywords": ["医疗机构"]},
    {"key": "bus", "org": "city_police", "name": "公交线路站点信息", "category_code": "215002",
     "open_type": "有条件开放", "format_detail": "json", "update_cycle": "每日", "keywords": ["公交"]},
    {"key": "licences", "org": "market", "name": "食品经营许可信息", "category_code": "204001",
     "open_type": "有条件开放", "format_detail": "xlsx", "update_cycle": "每日", "keywords": ["许可"]},
    {"key": "closed", "org": "police", "name": "户籍人口基本信息", "category_code": "101001",
     "open_type": "不予开放", "format_detail": "parquet", "update_cycle": "每日", "keywords": ["人口"]},
]


def build_open_catalog(world) -> dict[str, int]:
    """key → resource id; `draft` is an open-typed resource never published."""
    portal_query.reset()
    ids: dict[str, int] = {}
    for spec in SPECS:
        spec = dict(spec)
        key, org = spec.pop("key"), spec.pop("org")
        ids[key] = published(world, org, **spec,
                             open_condition="签订数据使用协议" if spec["open_type"] == "有条件开放" else None)
    from yibenzhang.collect.pipeline import ingest_arrow

    ingest_arrow(world.db, world.actor("market_steward"), ids["schools"], [pa.RecordBatch.from_pydict(SCHOOL_ROWS)],
                 source={"kind": "test"})
    grade_items(world, ids["schools"], {"校长姓名": ("一般-3级", ["person_name"])}, default="一般-1级")
    with world.db.write() as s:
        ids["draft"] = catalog.create_resource(s, Actor.system(), resource_in(
            world, "market", name="企业年报草稿信息", open_type="无条件开放")).id
    return ids


def grade_items(world, resource_id: int, graded: dict[str, tuple[str, list[str]]], default: str) -> None:
    """Confirm the grade (and categories) of each item, as a steward's decision would."""
    from yibenzhang.catalog.model import ResourceItem
    from yibenzhang.classify.model import ClassificationDecision

    with world.db.write() as s:
        for item in s.query(ResourceItem).filter_by(resource_id=resource_id):
            grade, cats = graded.get(item.name, (default, []))
            item.grade = grade
            s.add(ClassificationDecision(item_id=item.id, resource_id=resource_id, kind="调整", grade=grade,
                                         categories=cats, reason="test", decided_by="market_steward"))
