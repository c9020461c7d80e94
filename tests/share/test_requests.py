"""Share requests: the three share types, two-step decisions with working-day deadlines,
minimum necessary, escalation, seals and a ledger without personal data (both backends)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.factories import published
from yibenzhang.access import Actor
from yibenzhang.catalog.model import ResourceItem
from yibenzhang.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yibenzhang.ledger.model import LedgerEvent
from yibenzhang.registry import load
from yibenzhang.share import requests as R
from yibenzhang.share import seal

MONDAY = date(2025, 3, 3)  # March 2025 has no holidays: the 10th working day after is 17 March
PURPOSE = "核验张三丰的低保申请资格"  # free text that may name a person: never in the ledger


def ask(world, who="consumer", resource=None, today=MONDAY, **kw):
    data = dict(items=["姓名", "公民身份号码"], mode="接口", purpose=PURPOSE, basis="《社会救助暂行办法》第十一条",
                scenario="低保资格审核", period_from=today, period_to=today + timedelta(days=365))
    data.update(kw)
    with world.db.write() as s:
        req = R.create_request(s, world.actor(who), resource, today=today, **data)
        return R.request_dict(s, req, today)


def decide(world, who, rid, verdict, reason="符合共享条件", today=MONDAY):
    with world.db.write() as s:
        return R.request_dict(s, R.decide_request(s, world.actor(who), rid, verdict, reason, today), today)


def test_unconditional_is_approved_at_once_sealed_and_granted(world):
    rid = published(world, share_type="无条件共享", share_condition=None)
    out = ask(world, resource=rid)
    assert out["state"] == "已批准" and out["decisions"][0]["step"] == "无条件共享"
    assert out["seal"]["seal"]["org_uscc"] == world.orgs["police"].uscc
    with world.db.read() as s:
        assert seal.verify(s, out["seal"])["valid"] is True
    if load("yibenzhang.share.grants:grants_for") is not None:
        assert out["grant_id"] is not None
        with world.db.read() as s:
            grants = load("yibenzhang.share.grants:grants_for")(s, world.actor("consumer"),
                                                                org_id=world.orgs["market"].id)
            assert [(g.id, g.items, g.mode) for g in grants] == [(out["grant_id"], ["姓名", "公民身份号码"], "接口")]


def test_conditional_goes_provider_then_authority(world):
    rid = published(world)
    out = ask(world, resource=rid)
    assert out["state"] == "待提供方审批" and out["step_due"] == "2025-03-17" and out["grant_id"] is None
    # The consumer and the authority cannot take the provider's step before it is overdue.
    for who in ("consumer", "reviewer", "police_steward"):
        with pytest.raises(PermissionDenied):
            decide(world, who, out["id"], "approve")
    later = date(2025, 3, 5)
    out = decide(world, "police_approver", out["id"], "approve", today=later)
    assert out["state"] == "待主管部门审核" and out["step_due"] == "2025-03-19"
    with pytest.raises(PermissionDenied):
        decide(world, "police_approver", out["id"], "approve", today=later)
    with pytest.raises(NotFound):  # another region's authority does not even see it
        decide(world, "other_reviewer", out["id"], "approve", today=later)
    out = decide(world, "reviewer", out["id"], "批准", "同意共享", today=later)
    assert out["state"] == "已批准" and [d["step"] for d in out["decisions"]] == ["待提供方审批", "待主管部门审核"]
    assert out["seal"]["content"]["decisions"][-1]["reason"] == "同意共享"
    with pytest.raises(Conflict):
        decide(world, "reviewer", out["id"], "refuse", today=later)


def test_conditional_refused_with_reason(world):
    rid = published(world)
    out = ask(world, resource=rid)
    with pytest.raises(ValidationFailed) as err:
        decide(world, "police_approver", out["id"], "refuse", reason="  ")
    assert err.value.errors[0].field == "reason"
    out = decide(world, "police_approver", out["id"], "refuse", reason="用途与共享条件不符")
    assert out["state"] == "已拒绝" and out["seal"] is None and out["grant_id"] is None
    assert out["decisions"][-1]["reason"] == "用途与共享条件不符"


def test_not_shareable_is_refused_at_once_with_its_basis(world):
    rid = published(world, share_type="不予共享", share_condition=None, share_basis="《居民身份证法》第十九条")
    out = ask(world, resource=rid)
    assert out["state"] == "已拒绝" and "《居民身份证法》第十九条" in out["decisions"][0]["reason"]
    assert out["grant_id"] is None and out["seal"] is None


def test_minimum_necessary(world):
    rid = published(world)
    with pytest.raises(ValidationFailed) as err:
        ask(world, resource=rid, items=["姓名", "公民身份号码", "出生日期"])  # every item
    assert err.value.code == "minimum_necessary"
    with world.db.write() as s:
        item = s.execute(select(ResourceItem).where(ResourceItem.resource_id == rid,
                                                    ResourceItem.name == "出生日期")).scalar_one()
        item.grade = "重要"
    with pytest.raises(ValidationFailed) as err:
        ask(world, resource=rid, items=["出生日期"])
    assert err.value.code == "minimum_necessary"
    out = ask(world, resource=rid, items=["出生日期"], extra_items_reason="核对年龄条件")
    assert out["extra_items_reason"] == "核对年龄条件"
    with pytest.raises(ValidationFailed) as err:
        ask(world, resource=rid, items=["住址"])
    assert err.value.errors[0].code == "unknown_item"
    # Two requests by one org for one resource are shown together.
    again = ask(world, resource=rid)
    assert [r["id"] for r in again["related"]] == [out["id"]]


def test_requester_rules(world):
    rid = published(world)
    with pytest.raises(Conflict):
        ask(world, who="police_steward", resource=rid)  # its own org's resource
    for who in ("citizen", "auditor", "reviewer", "police_approver"):
        with pytest.raises((PermissionDenied, NotFound)):
            ask(world, who=who, resource=rid)
    with world.db.write() as s:
        from tests.factories import resource_in
        from yibenzhang.catalog import service as catalog

        draft = catalog.create_resource(s, Actor.system(), resource_in(world)).id
    with pytest.raises((Conflict, NotFound)):
        ask(world, resource=draft)
    with pytest.raises(ValidationFailed):
        ask(world, resource=rid, mode="下载", period_to=MONDAY - timedelta(days=1))


def test_deadline_tenth_and_eleventh_working_day_and_escalation(world):
    rid = published(world)
    out = ask(world, resource=rid)
    tenth, eleventh = date(2025, 3, 17), date(2025, 3, 18)
    with world.db.read() as s:
        req = s.get(R.ShareRequest, out["id"])
        assert R.request_dict(s, req, tenth)["overdue"] is False
        assert R.request_dict(s, req, eleventh)["overdue"] is True
        # Overdue shows on the authority's list and on the consumer's.
        assert [r.id for r in R.list_requests(s, world.actor("reviewer"), view="to_decide", today=tenth)[0]] == []
        assert [r.id for r in R.list_requests(s, world.actor("reviewer"), view="to_decide", today=eleventh)[0]] \
            == [out["id"]]
        mine, _ = R.list_requests(s, world.actor("consumer"), view="mine", overdue=True, today=eleventh)
        assert [r.id for r in mine] == [out["id"]]
        assert [r.id for r in R.list_requests(s, world.actor("police_approver"), view="to_decide",
                                              today=eleventh)[0]] == [out["id"]]
    with world.db.write() as s:
        with pytest.raises(PermissionDenied):
            R.escalate_overdue(s, world.actor("reviewer"), eleventh)
        assert R.escalate_overdue(s, Actor.system(), tenth)["escalated"] == 0
        assert R.escalate_overdue(s, Actor.system(), eleventh)["ids"] == [out["id"]]
        assert R.escalate_overdue(s, Actor.system(), eleventh)["escalated"] == 0  # idempotent
    # The authority now decides the provider's step in its place, sealed by the region's authority org.
    out = decide(world, "reviewer", out["id"], "approve", "逾期未答复，主管部门代为审批", today=eleventh)
    assert out["state"] == "待主管部门审核" and out["decisions"][0]["on_time"] is False
    out = decide(world, "reviewer", out["id"], "approve", "同意", today=eleventh)
    assert out["seal"]["seal"]["org_uscc"] == world.orgs["authority"].uscc


def test_seal_verifies_and_a_changed_request_does_not(world):
    rid = published(world, share_type="无条件共享", share_condition=None)
    doc = ask(world, resource=rid)["seal"]
    with world.db.read() as s:
        assert seal.verify(s, doc) == {"valid": True, "reason": None, "org_uscc": world.orgs["police"].uscc,
                                       "org_name": world.orgs["police"].name}
        tampered = {**doc, "content": {**doc["content"], "items": ["姓名", "公民身份号码", "出生日期"]}}
        assert seal.verify(s, tampered)["valid"] is False
        forged = {**doc, "seal": {**doc["seal"], "org_uscc": world.orgs["market"].uscc}}
        assert seal.verify(s, forged)["valid"] is False
        assert seal.verify(s, {"content": 1})["valid"] is False
    # The private key is on disk encrypted, never in the clear.
    key_file = seal._key_path(world.orgs["police"].uscc)
    assert key_file.exists()
    with world.db.read() as s:
        private = seal._private(s.get(type(world.orgs["police"]), world.orgs["police"].id))
    assert private.encode() not in key_file.read_bytes()


def test_withdraw(world):
    rid = published(world)
    out = ask(world, resource=rid)
    with world.db.write() as s, pytest.raises(PermissionDenied):
        R.withdraw_request(s, world.actor("police_approver"), out["id"])
    with world.db.write() as s:
        assert R.withdraw_request(s, world.actor("consumer"), out["id"]).state == "已撤回"
    with world.db.write() as s, pytest.raises(Conflict):
        R.withdraw_request(s, world.actor("consumer"), out["id"])


def test_ledger_holds_no_personal_data(world):
    rid = published(world)
    out = ask(world, resource=rid)
    decide(world, "police_approver", out["id"], "approve", "同意，李四的情况已核实")
    decide(world, "reviewer", out["id"], "approve", "同意")
    with world.db.read() as s:
        events = s.execute(select(LedgerEvent).where(LedgerEvent.subject_type == "share_request")).scalars().all()
        assert [e.action for e in events] == ["share.request.create", "share.request.decide", "share.request.decide"]
        text = " ".join(str(e.content) for e in events)
    for secret in (PURPOSE, "张三丰", "李四", "社会救助暂行办法", "同意，"):
        assert secret not in text


def test_seal_signs_and_verifies_with_a_public_key_beginning_04(world, monkeypatch):
    """d = 11 gives a public key whose x starts with byte 0x04: gmssl's constructor would strip
    it as if it were the uncompressed-point marker (CI once failed on such a random key)."""
    from gmssl import sm2

    private = f"{11:064x}"
    public = sm2.CryptSM2(private_key="", public_key="")._kg(11, sm2.default_ecc_table["g"])
    assert public.startswith("04") and len(public) == 128
    monkeypatch.setattr(seal, "_new_pair", lambda: (private, public))
    rid = published(world, share_type="无条件共享", share_condition=None)
    out = ask(world, resource=rid)
    with world.db.read() as s:
        assert seal.verify(s, out["seal"])["valid"] is True
        tampered = {**out["seal"], "content": {**out["seal"]["content"], "purpose": "别的用途"}}
        assert seal.verify(s, tampered)["valid"] is False


def test_queue_filters_sort_by_due_and_days_waiting(world):
    """Issue 17: the approver's queue filters by org and state, sorts by the step's due date and
    says how many working days the step has waited."""
    rid = published(world)
    early = ask(world, resource=rid, today=MONDAY)
    late = ask(world, resource=rid, today=MONDAY + timedelta(days=2))
    approver = world.actor("police_approver")
    with world.db.read() as s:
        rows, total = R.list_requests(s, approver, view="to_decide", sort="due", today=MONDAY)
        assert [r.id for r in rows] == [early["id"], late["id"]] and total == 2
        rows, _ = R.list_requests(s, approver, view="to_decide", sort="due", limit=1, offset=1, today=MONDAY)
        assert [r.id for r in rows] == [late["id"]]
        assert R.list_requests(s, approver, org_id=world.orgs["hospital"].id)[1] == 0
        assert R.list_requests(s, approver, org_id=world.orgs["market"].id)[1] == 2
        assert R.list_requests(s, approver, state="已批准")[1] == 0
        assert R.list_requests(s, approver, region_code="990000")[1] == 2  # the province and below
        assert R.list_requests(s, approver, region_code="990100")[1] == 0
        assert R.list_requests(s, approver, mode="接口")[1] == 2 and R.list_requests(s, approver, mode="文件")[1] == 0
        with pytest.raises(ValidationFailed):
            R.list_requests(s, approver, mode="邮寄")
        with pytest.raises(ValidationFailed):
            R.list_requests(s, approver, state="随便")
        view = R.request_dict(s, s.get(R.ShareRequest, early["id"]), MONDAY + timedelta(days=7))
        assert view["days_waiting"] == 5  # Tue–Fri and the next Monday
