"""A change under review opens nothing: the open type must hold in the live row AND in the
published snapshot. Opening waits for the reviewer; closing takes effect at once (fail closed)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import resource_in
from tests.open.conftest import ITEMS
from yibenzhang.catalog import service as catalog
from yibenzhang.catalog.model import Resource
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.errors import NotFound
from yibenzhang.open.datasets import get_open_resource, is_unconditional, open_condition


def _change(world, rid: int, name: str, open_type: str) -> None:
    items = [ItemIn(name=n, data_type=t, length=50, is_key=(n == "站点名称")) for n, t, _, _ in ITEMS]
    extra = {"open_condition": "限于科研和公益用途"} if open_type == "有条件开放" else {}
    with world.db.write() as s:
        catalog.update_resource(s, world.actor("police_steward"), rid,
                                resource_in(world, name=name, open_type=open_type, items=items, **extra))


def _open_ids(db) -> set[int]:
    with db.read() as s:
        return set(s.execute(select(Resource.id).where(open_condition())).scalars())


def test_opening_waits_for_the_reviewer(client, opendata):
    world = opendata.world
    _change(world, opendata.closed, "户籍人口信息", "无条件开放")
    assert opendata.closed not in _open_ids(world.db)
    with world.db.read() as s, pytest.raises(NotFound):
        get_open_resource(s, opendata.closed)
    assert client.get(f"/open/datasets/{opendata.closed}/download.csv").status_code == 404
    with world.db.write() as s:
        catalog.submit_resource(s, world.actor("police_steward"), opendata.closed)
        catalog.publish_resource(s, world.actor("reviewer"), opendata.closed)
    assert opendata.closed in _open_ids(world.db)
    with world.db.read() as s:
        assert is_unconditional(get_open_resource(s, opendata.closed))


def test_a_pending_change_to_unconditional_does_not_drop_the_application(client, opendata):
    world = opendata.world
    _change(world, opendata.cond, "医院门诊量统计", "无条件开放")
    with world.db.read() as s:
        res = get_open_resource(s, opendata.cond)  # still open, as published: 有条件开放
        assert not is_unconditional(res)
    assert client.get(f"/open/datasets/{opendata.cond}/download.csv").status_code in (401, 403)


def test_closing_takes_effect_at_once(client, opendata):
    world = opendata.world
    _change(world, opendata.free, "公交站点客流量", "不予开放")
    assert opendata.free not in _open_ids(world.db)
    assert client.get(f"/open/datasets/{opendata.free}/download.csv").status_code == 404
