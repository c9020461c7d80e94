"""Demand collection (both backends): routing to the org holding matching data or the authority,
the answer deadline at its edges, who answers, the public list with status and answer."""

from __future__ import annotations

from datetime import date

import pytest

from yibenzhang import workdays
from yibenzhang.access import Actor
from yibenzhang.errors import Conflict, PermissionDenied, Unauthenticated, ValidationFailed
from yibenzhang.open import demands as dem

MONDAY = date(2025, 11, 3)  # an ordinary Monday


def _ask(w, title="公交站点客流量", description="希望开放按小时统计的客流量", who="citizen", today=MONDAY, **kw):
    with w.db.write() as s:
        return dem.create_demand(s, w.actor(who), title=title, description=description, today=today, **kw).id


def test_routed_to_the_org_holding_matching_data(opendata):
    w = opendata.world
    demand_id = _ask(w)
    with w.db.read() as s:
        d = dem.get_demand(s, demand_id)
        assert (d.org_id, d.routed_by) == (w.orgs["police"].id, "match")
        assert opendata.free in d.matched_resource_ids
        view = dem.demand_dict(s, d, Actor.anonymous())
        assert view["matched"][0]["id"] in (opendata.free, opendata.cond, opendata.cond2)
        assert all(m["id"] != opendata.closed for m in view["matched"])


def test_unmatched_goes_to_the_regions_authority(opendata):
    w = opendata.world
    province = _ask(w, title="气象观测数据", description="逐小时气温")
    city = _ask(w, title="气象观测数据", description="逐小时气温", region_code="990101")
    with w.db.read() as s:
        assert dem.get_demand(s, province).org_id == w.orgs["authority"].id
        d = dem.get_demand(s, city)  # 安宁县 has no authority: the nearest above, 春城市大数据局
        assert (d.org_id, d.routed_by) == (w.orgs["city_authority"].id, "authority")


def test_answer_due_on_the_tenth_working_day_overdue_on_the_eleventh(opendata):
    from yibenzhang.workdays import add_workdays

    w = opendata.world
    friday = date(2025, 9, 26)
    due = date(2025, 10, 16)
    assert add_workdays(friday, 10) == due
    demand_id = _ask(w, today=friday)
    with w.db.read() as s:
        d = dem.get_demand(s, demand_id)
        assert d.due == due
        assert dem.shown_state(d, due) == "待答复" and dem.shown_state(d, date(2025, 10, 17)) == "已逾期"
        assert [x.id for x in dem.list_demands(s, state="已逾期", today=date(2025, 10, 17))[0]] == [demand_id]
        assert dem.list_demands(s, state="已逾期", today=due)[1] == 0
    with w.db.write() as s:
        assert dem.mark_overdue(s, Actor.system(), today=due)["marked"] == 0
        assert dem.mark_overdue(s, Actor.system(), today=date(2025, 10, 17))["ids"] == [demand_id]
    with w.db.write() as s:  # still answerable, but late
        d = dem.answer_demand(s, w.actor("police_steward"), demand_id, "已列入明年开放计划", today=date(2025, 10, 17))
        assert (d.state, d.on_time) == ("已答复", False)


def test_on_time_answer_and_who_may_answer(opendata):
    w = opendata.world
    demand_id = _ask(w)
    for who in ("market_steward", "citizen", "consumer", "reviewer"):
        with w.db.write() as s, pytest.raises(PermissionDenied):
            dem.answer_demand(s, w.actor(who), demand_id, "答复")
    with w.db.write() as s, pytest.raises(ValidationFailed):
        dem.answer_demand(s, w.actor("police_steward"), demand_id, " ")
    with w.db.write() as s:
        d = dem.answer_demand(s, w.actor("police_approver"), demand_id, "已开放，见数据集页面", today=MONDAY)
        assert (d.state, d.on_time) == ("已答复", True)
    with w.db.write() as s, pytest.raises(Conflict):
        dem.answer_demand(s, w.actor("police_steward"), demand_id, "再答复")
    # a demand routed to an authority is answered by that region's reviewers
    other = _ask(w, title="气象观测数据", description="逐小时气温")
    with w.db.write() as s, pytest.raises(PermissionDenied):
        dem.answer_demand(s, w.actor("city_reviewer"), other, "答复")
    with w.db.write() as s:
        assert dem.answer_demand(s, w.actor("reviewer"), other, "已转气象部门").state == "已答复"


def test_demands_are_public_contact_is_not(client, opendata):
    w = opendata.world
    demand_id = _ask(w, contact="13800001111", domain="公共交通", today=workdays.today())
    listing = client.get("/api/v1/open/demands").json()
    row = next(d for d in listing["items"] if d["id"] == demand_id)
    assert row["state"] == "待答复" and row["domain"] == "公共交通" and "contact" not in row
    assert "13800001111" not in client.get("/demands").text
    assert "13800001111" not in client.get(f"/demands/{demand_id}").text
    mine = client.get(f"/api/v1/open/demands/{demand_id}", headers=w.headers("citizen")).json()
    assert mine["contact"] == "13800001111"
    provider = client.get(f"/api/v1/open/demands/{demand_id}", headers=w.headers("police_steward")).json()
    assert provider["contact"] == "13800001111"
    r = client.post(f"/api/v1/open/demands/{demand_id}/answer", json={"answer": "已开放"},
                    headers=w.headers("police_steward"))
    assert r.status_code == 200 and r.json()["state"] == "已答复"
    page = client.get("/demands").text
    assert "已开放" in page and "已答复" in page


def test_validation_and_sign_in(opendata):
    w = opendata.world
    with w.db.write() as s, pytest.raises(Unauthenticated):
        dem.create_demand(s, Actor.anonymous(), title="x", description="y")
    with w.db.write() as s, pytest.raises(ValidationFailed) as bad:
        dem.create_demand(s, w.actor("citizen"), title=" ", description="", domain="烹饪", region_code="123456")
    assert {e.field for e in bad.value.errors} == {"title", "description", "domain", "region_code"}
