"""DOMAIN §1: the three lists, duty changes and the catalogue-update deadline, 一数一源."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import published, resource_in
from yibenzhang import workdays
from yibenzhang.access import Actor
from yibenzhang.catalog import service as catalog
from yibenzhang.catalog.model import DutyChange
from yibenzhang.catalog.schemas import DutyChangeIn, ItemIn, ListEntryIn
from yibenzhang.errors import PermissionDenied, ValidationFailed

SYSTEM = Actor.system()


# --- 责任清单 / 需求清单 / 负面清单 -------------------------------------------------------------


def test_three_lists_per_region(world):
    rid = published(world)
    with world.db.read() as s:
        code = catalog.get_resource(s, SYSTEM, rid).code
    reviewer = world.actor("reviewer")
    with world.db.write() as s:
        catalog.add_list_entry(s, reviewer, ListEntryIn(region_code="990000", kind="责任清单", title="人口基本信息",
                                                        org_id=world.orgs["police"].id, resource_code=code))
        catalog.add_list_entry(s, reviewer, ListEntryIn(region_code="990000", kind="负面清单", title="涉密人员信息",
                                                        basis="《中华人民共和国保守国家秘密法》"))
        # any public body may state a need
        catalog.add_list_entry(s, world.actor("consumer"), ListEntryIn(region_code="990000", kind="需求清单",
                                                                       title="企业社保缴纳人数"))
    with world.db.read() as s:
        kinds = [e.kind for e in catalog.list_entries(s, "990000")]
        assert kinds == ["责任清单", "负面清单", "需求清单"]
        assert [e.title for e in catalog.list_entries(s, "990000", "负面清单")] == ["涉密人员信息"]
        assert catalog.list_entries(s, "990100") == []


def test_list_rules(world):
    with pytest.raises(ValidationFailed) as info, world.db.write() as s:
        catalog.add_list_entry(s, world.actor("reviewer"), ListEntryIn(region_code="990000", kind="负面清单",
                                                                       title="x"))
    assert [e.code for e in info.value.errors] == ["negative_basis_required"]
    with pytest.raises(PermissionDenied), world.db.write() as s:  # the responsibility list is the authority's
        catalog.add_list_entry(s, world.actor("police_steward"), ListEntryIn(region_code="990000", kind="责任清单",
                                                                             title="x"))
    with pytest.raises(PermissionDenied), world.db.write() as s:  # another region's reviewer
        catalog.add_list_entry(s, world.actor("other_reviewer"), ListEntryIn(region_code="990100", kind="负面清单",
                                                                             title="x", basis="y"))
    with pytest.raises(PermissionDenied), world.db.write() as s:  # the public states needs on the open portal
        catalog.add_list_entry(s, world.actor("citizen"), ListEntryIn(region_code="990000", kind="需求清单",
                                                                      title="x"))


# --- duty changes ---------------------------------------------------------------------------


def record(world, org="police", occurred="2025-09-26", actor=None):
    with world.db.write() as s:
        return catalog.record_duty_change(s, actor or world.actor("police_steward"), DutyChangeIn(
            org_id=world.orgs[org].id, occurred_on=occurred, description="机构改革，职责调整"))


def test_due_date_is_the_tenth_working_day(world):
    # 2025-09-26 (Fri): working days after it are 9-28 (make-up Sunday), 9-29, 9-30, then the
    # National Day holiday 10-1..10-8, then 10-9, 10-10, 10-11 (make-up Saturday), 10-13, 10-14,
    # 10-15 and 10-16: the 10th working day. The 11th (10-17) is late.
    change = record(world)
    assert change.due_on == date(2025, 10, 16)
    assert catalog.duty_change_state(change, date(2025, 10, 16)) == "未到期"
    assert catalog.duty_change_state(change, date(2025, 10, 17)) == "已逾期"


def test_submission_fulfils_and_the_board_lists_due_and_overdue(world):
    late = record(world, occurred="2025-09-26")
    fresh = record(world, org="market", occurred="2025-10-09", actor=world.actor("market_steward"))
    with world.db.read() as s:
        board = catalog.duty_change_board(s, world.actor("reviewer"), today=date(2025, 10, 17))
    states = {row["org_name"]: (row["state"], row["workdays_overdue"], row["workdays_left"]) for row in board}
    assert states["云岭省公安厅"] == ("已逾期", 1, 0)
    assert states["云岭省市场监督管理局"][0] == "未到期" and states["云岭省市场监督管理局"][2] > 0
    # a steward sees only their own org; another city's reviewer sees neither
    with world.db.read() as s:
        assert {r["org_name"] for r in catalog.duty_change_board(s, world.actor("police_steward"),
                                                                 today=date(2025, 10, 17))} == {"云岭省公安厅"}
        assert catalog.duty_change_board(s, world.actor("other_reviewer"), today=date(2025, 10, 17)) == []
    # the steward declares the catalogue reviewed on the due day: done on time
    with world.db.write() as s:
        assert catalog.confirm_catalogue_reviewed(s, world.actor("police_steward"), world.orgs["police"].id,
                                                  on=date(2025, 10, 16)) == 1
    with world.db.read() as s:
        assert catalog.duty_change_state(s.get(DutyChange, late.id), date(2026, 1, 1)) == "按时完成"
        assert s.get(DutyChange, fresh.id).fulfilled_on is None


def test_fulfilled_after_the_deadline_is_done_late(world):
    change = record(world)
    with world.db.write() as s:
        catalog.confirm_catalogue_reviewed(s, world.actor("police_steward"), world.orgs["police"].id,
                                           on=date(2025, 10, 17))
    with world.db.read() as s:
        assert catalog.duty_change_state(s.get(DutyChange, change.id), date(2025, 10, 20)) == "逾期完成"


def test_submitting_a_resource_fulfils_open_duty_changes(world):
    change = record(world, occurred=workdays.today().isoformat())
    with world.db.write() as s:
        r = catalog.create_resource(s, world.actor("police_steward"), resource_in(world))
        catalog.submit_resource(s, world.actor("police_steward"), r.id)
    with world.db.read() as s:
        assert s.get(DutyChange, change.id).fulfilled_on == workdays.today()


def test_duty_change_input_and_permission(world):
    with pytest.raises(ValidationFailed) as info, world.db.write() as s:
        catalog.record_duty_change(s, SYSTEM, DutyChangeIn(org_id=world.orgs["police"].id, occurred_on="2025/9/26",
                                                           description=" "))
    assert {e.code for e in info.value.errors} == {"date_format", "required"}
    with pytest.raises(PermissionDenied):
        record(world, actor=world.actor("market_steward"))


# --- 一数一源 ---------------------------------------------------------------------------------


def authoritative_id_item(name="公民身份号码"):
    return [ItemIn(name="姓名", data_type="C"), ItemIn(name=name, data_type="C", authoritative=True)]


def test_a_second_org_claiming_an_authoritative_item_is_flagged(world):
    first = published(world, items=authoritative_id_item())
    # market claims the same element under a synonym: flagged, and the police stays the source
    second = published(world, org="market", name="市场主体登记人员信息", category_code="102001",
                       items=authoritative_id_item("身份证号"))
    with world.db.read() as s:
        conflicts = catalog.one_source_conflicts(s)
        assert len(conflicts) == 1
        c = conflicts[0]
        assert c["element"] == "公民身份号码"
        assert c["source"]["org_name"] == "云岭省公安厅"
        assert [f["org_name"] for f in c["flagged"]] == ["云岭省市场监督管理局"]
        r2 = catalog.get_resource(s, SYSTEM, second)
        assert catalog.one_source_flags_for(s, r2)
        assert catalog.one_source_flags_for(s, catalog.get_resource(s, SYSTEM, first)) == []


def test_the_same_org_may_hold_the_element_twice_and_plain_items_do_not_claim(world):
    published(world, items=authoritative_id_item())
    published(world, name="户籍人口信息", items=authoritative_id_item())
    published(world, org="market", name="企业从业人员", category_code="102001",
              items=[ItemIn(name="公民身份号码", data_type="C")])  # uses the element, does not claim it
    with world.db.read() as s:
        assert catalog.one_source_conflicts(s) == []


def test_the_first_published_claim_is_the_source(world):
    # market drafts first, police publishes first: police is the source
    with world.db.write() as s:
        catalog.create_resource(s, SYSTEM, resource_in(world, "market", name="市场主体人员", category_code="102001",
                                                       items=authoritative_id_item()))
    published(world, items=authoritative_id_item())
    with world.db.read() as s:
        (c,) = catalog.one_source_conflicts(s)
        assert c["source"]["org_name"] == "云岭省公安厅"
