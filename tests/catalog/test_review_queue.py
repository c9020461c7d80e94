"""The reviewer's queue (issue 17): filters, days waiting in working days across the National Day
holiday and its make-up Saturday, due dates, overdue, sorting and paging; and the decision taken
only with a reason."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.factories import published, resource_in
from yibenzhang.access import Actor
from yibenzhang.catalog import service as catalog
from yibenzhang.catalog.model import Resource
from yibenzhang.catalog.review_queue import ReviewQuery, review_page
from yibenzhang.errors import PermissionDenied, ValidationFailed

DAY = date(2025, 10, 13)  # a Monday after the 2025 National Day holiday (Oct 1–8; Sep 28 and Oct 11 worked)


def _submitted(world, org: str, name: str, on: datetime) -> int:
    with world.db.write() as s:
        r = catalog.create_resource(s, Actor.system(), resource_in(world, org, name=name))
        catalog.submit_resource(s, Actor.system(), r.id)
        s.get(Resource, r.id).submitted_at = on
        return r.id


@pytest.fixture
def queue(world):
    ids = {
        # 2025-09-26 10:00 Beijing: due 5 working days later, 2025-10-10; on DAY 7 working days waiting
        "old": _submitted(world, "police", "户籍迁移登记", datetime(2025, 9, 26, 2, tzinfo=UTC)),
        "fresh": _submitted(world, "market", "企业年报信息", datetime(2025, 10, 10, 2, tzinfo=UTC)),
        "city": _submitted(world, "city_police", "春城市机动车登记", datetime(2025, 10, 9, 2, tzinfo=UTC)),
    }
    changed = published(world, org="hospital", name="门诊预约号源")
    with world.db.write() as s:
        new = resource_in(world, "hospital", name="门诊预约号源（含科室）")
        catalog.update_resource(s, Actor.system(), changed, new)
        catalog.submit_resource(s, Actor.system(), changed)
        s.get(Resource, changed).submitted_at = datetime(2025, 9, 30, 2, tzinfo=UTC)
    ids["changed"] = changed
    return ids


def _page(world, user="reviewer", **kw):
    with world.db.read() as s:
        return review_page(s, world.actor(user), ReviewQuery(**kw), day=DAY)


def test_days_waiting_and_due_are_working_days(world, queue):
    page = _page(world)
    rows = {r.id: r for r in page.rows}
    old = rows[queue["old"]]
    assert (old.submitted_on, old.due, old.days_waiting, old.overdue) == (date(2025, 9, 26), date(2025, 10, 10), 7,
                                                                          True)
    fresh = rows[queue["fresh"]]
    assert (fresh.days_waiting, fresh.overdue) == (2, False)  # Oct 11 (make-up Saturday) and Oct 13
    assert rows[queue["changed"]].kind == "变更" and old.kind == "新编目"
    assert rows[queue["changed"]].due == date(2025, 10, 14) and not rows[queue["changed"]].overdue
    assert page.total == 4 and page.overdue == 1


def test_sorted_by_due_date_and_paged(world, queue):
    due_first = [r.id for r in _page(world).rows]
    assert due_first[0] == queue["old"] and due_first[-1] == queue["fresh"]
    assert [r.id for r in _page(world, sort="-due").rows] == due_first[::-1]
    first, second = _page(world, limit=2), _page(world, limit=2, offset=2)
    assert [r.id for r in first.rows + second.rows] == due_first and first.total == 4


def test_filters(world, queue):
    assert [r.id for r in _page(world, org_id=world.orgs["market"].id).rows] == [queue["fresh"]]
    assert [r.id for r in _page(world, region_code="990100").rows] == [queue["city"]]
    assert [r.id for r in _page(world, kind="变更").rows] == [queue["changed"]]
    assert {r.id for r in _page(world, overdue=True).rows} == {r.id for r in _page(world).rows if r.overdue}
    assert _page(world, state="已退回").total == 0
    # a city reviewer sees the city's queue only
    assert [r.id for r in _page(world, user="city_reviewer").rows] == [queue["city"]]
    with pytest.raises(ValidationFailed):
        _page(world, state="已发布")
    with pytest.raises(PermissionDenied):
        _page(world, user="police_steward")


def test_decision_needs_a_reason_and_the_reviewer(world, queue):
    with world.db.write() as s, pytest.raises(ValidationFailed):
        catalog.decide_review(s, world.actor("reviewer"), queue["old"], "publish", "  ")
    with world.db.write() as s, pytest.raises(PermissionDenied):
        catalog.decide_review(s, world.actor("police_steward"), queue["old"], "publish", "自己发布")
    with world.db.write() as s:
        catalog.decide_review(s, world.actor("reviewer"), queue["old"], "return", "缺少更新周期说明")
    returned = _page(world, state="已退回")
    assert [r.id for r in returned.rows] == [queue["old"]] and not returned.rows[0].overdue
