"""A small open catalogue: datasets in several domains, orgs, regions, formats and open types,
plus entries the public must never see (不予开放, a draft)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import published, resource_in
from yibenzhang.access import Actor
from yibenzhang.catalog import service as catalog
from yibenzhang.open import portal_query

SPECS: list[dict[str, Any]] = [
    {"key": "schools", "org": "market", "name": "中小学学校名录", "category_code": "213001",
     "open_type": "无条件开放", "format_detail": "csv、xlsx", "update_cycle": "每年", "keywords": ["学校", "教育"]},
    {"key": "hospitals", "org": "hospital", "name": "医疗机构基本信息", "category_code": "202001",
     "open_type": "无条件开放", "format_detail": "csv", "update_cycle": "每月", "keywords": ["医疗机构"]},
    {"key": "bus", "org": "city_police", "name": "公交线路站点信息", "category_code": "215002",
     "open_type": "有条件开放", "format_detail": "json", "update_cycle": "每日", "keywords": ["公交"]},
    {"key": "licences", "org": "market", "name": "食品经营许可信息", "category_code": "204001",
     "open_type": "有条件开放", "format_detail": "xlsx", "update_cycle": "每日", "keywords": ["许可"]},
    {"key": "closed", "org": "police", "name": "户籍人口基本信息", "category_code": "101001",
     "open_type": "不予开放", "format_detail": "parquet", "update_cycle": "每日", "keywords": ["人口"]},
]


@pytest.fixture
def open_catalog(world) -> dict[str, int]:
    """key → resource id; `draft` is an open-typed resource never published."""
    portal_query.reset()
    ids: dict[str, int] = {}
    for spec in SPECS:
        spec = dict(spec)
        key, org = spec.pop("key"), spec.pop("org")
        ids[key] = published(world, org, **spec,
                             open_condition="签订数据使用协议" if spec["open_type"] == "有条件开放" else None)
    with world.db.write() as s:
        ids["draft"] = catalog.create_resource(s, Actor.system(), resource_in(
            world, "market", name="企业年报草稿信息", open_type="无条件开放")).id
    return ids
