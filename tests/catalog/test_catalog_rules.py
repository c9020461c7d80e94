"""DOMAIN §1: the catalogue's core metadata rules, codes, workflow, versions, visibility."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import published, resource_in
from yibenzhang.access import Actor
from yibenzhang.catalog import service as catalog
from yibenzhang.catalog.model import ResourceVersion
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from yibenzhang.ledger.model import LedgerEvent

SYSTEM = Actor.system()


def create(world, org="police", actor=None, **overrides):
    with world.db.write() as s:
        r = catalog.create_resource(s, actor or SYSTEM, resource_in(world, org, **overrides))
        return r.id, r.code


def codes_of(exc: ValidationFailed) -> dict[str, str]:
    return {e.field: e.code for e in exc.errors}


def rejected(world, **overrides) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info, world.db.write() as s:
        catalog.create_resource(s, SYSTEM, resource_in(world, **overrides))
    return codes_of(info.value)


# --- codes: 前段码/后段码 -----------------------------------------------------------------------


def test_code_is_prefix_slash_six_digit_sequence_unique_within_prefix(world):
    _, first = create(world)
    _, second = create(world, name="人口变动信息")
    _, other = create(world, name="企业登记信息", category_code="102001")
    assert first == "101001/000001"
    assert second == "101001/000002"
    assert other == "102001/000001"  # a new 前段码 starts its own sequence


def test_the_sequence_ends_at_six_digits(world):
    from yibenzhang.catalog.model import CodeSequence

    with world.db.write() as s:
        s.add(CodeSequence(prefix="101001", last=999_998))
    _, last = create(world)
    assert last == "101001/999999"
    with pytest.raises(DomainError) as info, world.db.write() as s:
        catalog.create_resource(s, SYSTEM, resource_in(world))
    assert info.value.code == "code_exhausted"


def test_systems_link_to_their_resources(world):
    rid = published(world)
    draft, _ = create(world, name="草稿资源")
    with world.db.read() as s:
        assert [r.id for r in catalog.system_resources(s, world.actor("consumer"), world.systems["police"])] == [rid]
        assert {r.id for r in catalog.system_resources(s, world.actor("police_steward"), world.systems["police"])} \
            == {rid, draft}


def test_a_code_typed_by_hand_is_rejected(world):
    assert rejected(world, code="101001/000099") == {"code": "code_generated"}


def test_classification_must_reach_the_mu_level(world):
    assert rejected(world, category_code="101") == {"category_code": "category_too_broad"}
    assert rejected(world, category_code="1") == {"category_code": "category_too_broad"}
    assert rejected(world, category_code="999999") == {"category_code": "category_unknown"}


# --- share / open attributes ----------------------------------------------------------------


def test_conditional_sharing_needs_a_condition(world):
    assert rejected(world, share_condition=None) == {"share_condition": "share_condition_required"}
    assert rejected(world, share_condition="   ") == {"share_condition": "share_condition_required"}


def test_not_shareable_needs_its_basis_and_no_method(world):
    assert rejected(world, share_type="不予共享", share_condition=None) == {"share_basis": "share_basis_required"}
    rid, _ = create(world, share_type="不予共享", share_condition=None, share_method=None,
                    share_basis="《中华人民共和国保守国家秘密法》第二条")
    with world.db.read() as s:
        r = catalog.get_resource(s, SYSTEM, rid)
        assert r.share_method is None and r.share_basis.startswith("《")


def test_unconditional_sharing_needs_a_method(world):
    assert rejected(world, share_type="无条件共享", share_method=None) == {"share_method": "required"}


def test_conditional_opening_needs_a_condition(world):
    assert rejected(world, open_type="有条件开放") == {"open_condition": "open_condition_required"}
    create(world, open_type="有条件开放", open_condition="签署数据利用协议")


def test_unknown_enumerations_are_named_with_their_field(world):
    assert rejected(world, update_cycle="每两天") == {"update_cycle": "unknown_value"}
    assert rejected(world, library="数据湖") == {"library": "unknown_value"}
    assert rejected(world, items=[ItemIn(name="姓名", data_type="X")]) == {"items.0.data_type": "unknown_value"}


def test_english_names_and_type_letters_are_accepted(world):
    rid, _ = create(world, share_type="unconditional", share_method="interface", update_cycle="monthly",
                    items=[ItemIn(name="金额", data_type="Y"), ItemIn(name="备注", data_type="M")])
    with world.db.read() as s:
        r = catalog.get_resource(s, SYSTEM, rid)
        assert r.share_type == "无条件共享" and r.update_cycle == "每月"
        assert [i.data_type for i in r.items] == ["货币型", "备注型"]


# --- items ----------------------------------------------------------------------------------


def test_an_empty_item_list_is_rejected(world):
    assert rejected(world, items=[]) == {"items": "items_empty"}


def test_item_rules(world):
    errors = rejected(world, items=[
        ItemIn(name="姓名", data_type="C", length=0),
        ItemIn(name="姓名", data_type="C", length="abc"),
        ItemIn(name="", data_type="C", length=-1),
    ])
    assert errors == {
        "items.0.length": "length_positive",
        "items.1.name": "item_duplicate",
        "items.1.length": "length_positive",
        "items.2.name": "required",
        "items.2.length": "length_positive",
    }


def test_every_error_is_reported_at_once_with_zh_and_en(world):
    with pytest.raises(ValidationFailed) as info, world.db.write() as s:
        catalog.create_resource(s, SYSTEM, resource_in(
            world, name="", code="x", share_condition=None, update_cycle="?", items=[]))
    problem = info.value.as_problem()
    assert problem["status"] == 422
    assert {e["code"] for e in problem["errors"]} == {
        "required", "code_generated", "share_condition_required", "unknown_value", "items_empty"}
    for e in problem["errors"]:
        assert e["message"] and e["message_en"] and e["message"] != e["message_en"]


def test_the_system_must_belong_to_the_provider(world):
    assert rejected(world, system_id=world.systems["market"]) == {"system_id": "system_not_of_org"}
    assert rejected(world, system_id=None) == {"system_id": "required"}


def test_related_resources_must_exist(world):
    _, code = create(world)
    assert rejected(world, related_codes=["101001/999999"]) == {"related_codes.0": "related_unknown"}
    rid, _ = create(world, name="户籍变动信息", related_codes=[code])
    with world.db.read() as s:
        assert catalog.resource_dict(s, catalog.get_resource(s, SYSTEM, rid))["related_codes"] == [code]


# --- permissions ----------------------------------------------------------------------------


def test_a_steward_catalogues_only_for_their_own_org(world):
    create(world, actor=world.actor("police_steward"))
    with pytest.raises(PermissionDenied), world.db.write() as s:
        catalog.create_resource(s, world.actor("market_steward"), resource_in(world, "police"))
    rid, _ = create(world)
    with pytest.raises((PermissionDenied, NotFound)), world.db.write() as s:
        catalog.update_resource(s, world.actor("market_steward"), rid, resource_in(world))


# --- workflow -------------------------------------------------------------------------------


def test_draft_submitted_published(world):
    steward = world.actor("police_steward")
    rid, _ = create(world, actor=steward)
    with world.db.write() as s:
        assert catalog.submit_resource(s, steward, rid).status == "待审核"
    with pytest.raises(PermissionDenied), world.db.write() as s:
        catalog.publish_resource(s, steward, rid)  # a steward never publishes
    with world.db.write() as s:
        r = catalog.publish_resource(s, world.actor("reviewer"), rid)
        assert (r.status, r.published_version, r.version) == ("已发布", 1, 1)
        assert r.publish_date is not None


def test_only_the_regions_reviewer_or_one_above_publishes(world):
    rid, _ = create(world, org="city_police")
    with world.db.write() as s:
        catalog.submit_resource(s, SYSTEM, rid)
    # another city's reviewer cannot even see the submission (404, not a hint that it exists)
    with pytest.raises(NotFound), world.db.write() as s:
        catalog.publish_resource(s, world.actor("other_reviewer"), rid)
    with world.db.write() as s:
        catalog.publish_resource(s, world.actor("city_reviewer"), rid)
    # the city reviewer cannot act on the province's resources
    pid, _ = create(world)
    with world.db.write() as s:
        catalog.submit_resource(s, SYSTEM, pid)
    with pytest.raises((PermissionDenied, NotFound)), world.db.write() as s:
        catalog.publish_resource(s, world.actor("city_reviewer"), pid)
    with world.db.read() as s:
        queue = [r.id for r in catalog.review_queue(s, world.actor("city_reviewer"))]
        assert pid not in queue
        assert pid in [r.id for r in catalog.review_queue(s, world.actor("reviewer"))]


def test_return_needs_a_reason_and_goes_back_to_the_steward(world):
    rid, _ = create(world)
    with world.db.write() as s:
        catalog.submit_resource(s, SYSTEM, rid)
    with pytest.raises(ValidationFailed) as info, world.db.write() as s:
        catalog.return_resource(s, world.actor("reviewer"), rid, "  ")
    assert codes_of(info.value) == {"reason": "reason_required"}
    with world.db.write() as s:
        r = catalog.return_resource(s, world.actor("reviewer"), rid, "摘要过于简略")
        assert (r.status, r.return_reason) == ("已退回", "摘要过于简略")
    with world.db.write() as s:
        catalog.update_resource(s, world.actor("police_steward"), rid, resource_in(world, abstract="补充后的摘要"))
        assert catalog.submit_resource(s, SYSTEM, rid).status == "待审核"


def test_states_refuse_wrong_transitions(world):
    rid, _ = create(world)
    with pytest.raises(DomainError) as info, world.db.write() as s:
        catalog.publish_resource(s, SYSTEM, rid)  # a draft is not published, even by the admin
    assert info.value.code == "status_forbids"
    with world.db.write() as s:
        catalog.submit_resource(s, SYSTEM, rid)
    with pytest.raises(DomainError), world.db.write() as s:
        catalog.update_resource(s, SYSTEM, rid, resource_in(world))  # not while under review
    with world.db.write() as s:
        assert catalog.withdraw_resource(s, SYSTEM, rid).status == "草稿"


def test_a_change_to_a_published_resource_is_a_new_version_and_the_old_is_kept(world):
    rid = published(world)
    steward = world.actor("police_steward")
    changed = resource_in(world, name="人口基本信息（含户籍地址）", items=[
        *resource_in(world).items, ItemIn(name="户籍地址", data_type="C", length=200)])
    with world.db.write() as s:
        r = catalog.update_resource(s, steward, rid, changed)
        assert (r.status, r.version, r.published_version) == ("草稿", 2, 1)
    with world.db.read() as s:  # others still see version 1
        view = catalog.view_for(s, world.actor("consumer"), catalog.get_resource(s, world.actor("consumer"), rid))
        assert view["name"] == "人口基本信息" and view["status"] == "已发布"
        diff = catalog.diff_versions(s, steward, rid, 1, None)
        assert diff["fields"]["name"] == {"old": "人口基本信息", "new": "人口基本信息（含户籍地址）"}
        assert diff["items_added"] == ["户籍地址"]
    with world.db.write() as s:
        catalog.submit_resource(s, steward, rid)
        catalog.publish_resource(s, world.actor("reviewer"), rid)
    with world.db.read() as s:
        versions = catalog.list_versions(s, steward, rid)
        assert [v["version"] for v in versions] == [1, 2]
        assert catalog.get_version(s, steward, rid, 1)["name"] == "人口基本信息"
        assert catalog.diff_versions(s, steward, rid, 1, 2)["items_added"] == ["户籍地址"]
        assert s.execute(select(ResourceVersion).where(ResourceVersion.resource_id == rid)).scalars().all()


def test_a_published_resource_keeps_its_classification(world):
    rid = published(world)
    with pytest.raises(ValidationFailed) as info, world.db.write() as s:
        catalog.update_resource(s, SYSTEM, rid, resource_in(world, category_code="101002"))
    assert codes_of(info.value) == {"category_code": "category_frozen"}


def test_retire_keeps_versions_and_hides_from_others(world):
    rid = published(world, open_type="无条件开放")
    with world.db.write() as s:
        catalog.retire_resource(s, world.actor("reviewer"), rid, "业务已撤销")
    with pytest.raises(NotFound), world.db.read() as s:
        catalog.get_resource(s, world.actor("citizen"), rid)
    with world.db.read() as s:
        assert catalog.get_resource(s, world.actor("police_steward"), rid).status == "已停用"
        assert len(catalog.list_versions(s, world.actor("auditor"), rid)) == 1


def test_only_unpublished_drafts_are_deleted(world):
    rid, _ = create(world)
    with world.db.write() as s:
        catalog.delete_draft(s, world.actor("police_steward"), rid)
    pid = published(world)
    with pytest.raises(DomainError), world.db.write() as s:
        catalog.delete_draft(s, world.actor("police_steward"), pid)


# --- visibility -----------------------------------------------------------------------------


def test_visibility_of_drafts_and_published_resources(world):
    draft, _ = create(world)
    closed = published(world, name="在逃人员信息")
    open_ = published(world, name="公共服务网点信息", open_type="无条件开放")
    with world.db.read() as s:
        for who, expect in {
            "citizen": {open_},
            "consumer": {closed, open_},
            "police_steward": {draft, closed, open_},
            "auditor": {draft, closed, open_},
            "reviewer": {closed, open_},  # drafts are the steward's own until submitted
        }.items():
            seen = {r.id for r in catalog.list_resources(s, world.actor(who), limit=500)[0]}
            assert seen == expect, who
        with pytest.raises(NotFound):
            catalog.get_resource(s, world.actor("market_steward"), draft)
        with pytest.raises(NotFound):
            catalog.get_resource(s, Actor.anonymous(), closed)


# --- evidence -------------------------------------------------------------------------------


def test_each_act_is_in_the_ledger_in_order(world):
    rid = published(world)
    with world.db.read() as s:
        actions = s.execute(
            select(LedgerEvent.action).where(LedgerEvent.subject_type == "resource",
                                             LedgerEvent.subject_id == str(rid)).order_by(LedgerEvent.seq)
        ).scalars().all()
    assert actions == ["catalog.resource.create", "catalog.resource.submit", "catalog.resource.publish"]


def test_a_failed_act_leaves_neither_change_nor_event(world):
    with world.db.read() as s:
        before = s.execute(select(LedgerEvent.seq).order_by(LedgerEvent.seq.desc())).scalars().first()
    with pytest.raises(ValidationFailed), world.db.write() as s:
        catalog.create_resource(s, SYSTEM, resource_in(world, items=[]))
    with world.db.read() as s:
        after = s.execute(select(LedgerEvent.seq).order_by(LedgerEvent.seq.desc())).scalars().first()
        assert catalog.list_resources(s, SYSTEM)[1] == 0
    assert before == after
