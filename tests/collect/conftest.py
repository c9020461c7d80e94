"""A published resource with items of every coercible type, for the collection tests."""

from __future__ import annotations

import pytest

from tests.factories import published
from yibenzhang.catalog.schemas import ItemIn

ITEMS = [
    ItemIn(name="姓名", data_type="C", length=50, required=True),
    ItemIn(name="公民身份号码", data_type="C", length=18, required=True, is_key=True),
    ItemIn(name="出生日期", data_type="D"),
    ItemIn(name="月收入", data_type="Y"),
    ItemIn(name="是否在职", data_type="L"),
    ItemIn(name="家庭人口", data_type="I"),
]
HEADER = "姓名,公民身份号码,出生日期,月收入,是否在职,家庭人口\n"


@pytest.fixture
def people(world) -> int:
    """A keyed resource of the police org (upsert by 公民身份号码)."""
    return published(world, items=ITEMS)


@pytest.fixture
def log_resource(world) -> int:
    """A resource without key items (full / append)."""
    return published(world, name="出入境记录", items=[
        ItemIn(name="姓名", data_type="C", required=True), ItemIn(name="日期", data_type="D"),
    ])


def rows_csv(rows: list[str]) -> str:
    return HEADER + "".join(r + "\n" for r in rows)


@pytest.fixture(autouse=True)
def _on_each_zone_store(zone_store: str) -> str:
    """Issue 14: every collection test runs on the local zone and on the S3 zone."""
    return zone_store
