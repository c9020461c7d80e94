"""Objections (异议): deadlines in Chinese working days, escalation, who may do what, the ledger
holding no objection text. Both backends (world fixture)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import published
from yibenzhang import workdays
from yibenzhang.access import Actor
from yibenzhang.errors import Conflict, NotFound, PermissionDenied, Unauthenticated, ValidationFailed
from yibenzhang.ledger.model import LedgerEvent
from yibenzhang.quality import objections as obj_svc
from yibenzhang.quality.objections import Objection

# National Day 2025: Oct 1-8 off; Sun Sep 28 and Sat Oct 11 are make-up working days.
FILED = date(2025, 9, 26)
ANSWER_DUE = date(2025, 10, 10)  # 5th working day
SIXTH = date(2025, 10, 11)  # a Saturday, but a working day
CORRECT_DUE = date(2025, 10, 16)  # 10th working day
ELEVENTH = date(2025, 10, 17)


def file(world, rid, who="consumer", on=FILED, **kw):
    kw.setdefault("claim", "出生日期与户籍登记不一致")
    kw.setdefault("items", ["出生日期"])
    with world.db.write() as s:
        return obj_svc.file_objection(s, world.actor(who), rid, today=on, **kw).id


def act(world, fn, who, *args, **kw):
    with world.db.write() as s:
        actor = Actor.system() if who == "system" else world.actor(who)
        return obj_svc.objection_dict(s, fn(s, actor, *args, **kw), kw.get("today"))


def view(world, oid, on, who="admin"):
    with world.db.read() as s:
        return obj_svc.objection_dict(s, obj_svc.get_objection(s, world.actor(who), oid), on)


def test_deadlines_are_working_days_across_national_day(world):
    rid = published(world)
    oid = file(world, rid)
    v = view(world, oid, FILED)
    assert (v["answer_due"], v["correct_due"]) == (ANSWER_DUE.isoformat(), CORRECT_DUE.isoformat())
    assert v["state"] == "待答复" and v["timeliness"] == "未到期" and v["workdays_left"] == 5
    # May Day 2026: filed on Apr 30, May 1-5 off, Sat May 9 a working day.
    later = file(world, rid, on=date(2026, 4, 30))
    v = view(world, later, date(2026, 4, 30))
    assert (v["answer_due"], v["correct_due"]) == ("2026-05-11", "2026-05-18")


def test_answer_on_the_5th_working_day_is_on_time(world):
    rid = published(world)
    oid = file(world, rid)
    assert view(world, oid, ANSWER_DUE)["state"] == "待答复"
    out = act(world, obj_svc.answer_objection, "police_steward", oid, "accept", today=ANSWER_DUE)
    assert out["state"] == "已受理" and out["answer"] == "受理" and out["answered_on"] == "2025-10-10"


def test_the_6th_working_day_escalates_on_read_and_refuses_the_answer(world):
    rid = published(world)
    oid = file(world, rid)
    v = view(world, oid, SIXTH)
    assert v["state"] == "已升级" and v["stored_state"] == "待答复" and v["overdue"]
    assert v["timeliness"] == "已逾期"
    with pytest.raises(Conflict) as exc:
        act(world, obj_svc.answer_objection, "police_steward", oid, "受理", today=SIXTH)
    assert exc.value.code == "objection_state"
    assert "已升级" in exc.value.message_in("zh") and "escalated" in exc.value.message_in("en")
    # The refused answer rolled back with its transaction: still escalated on read only.
    with world.db.read() as s:
        assert s.get(Objection, oid).state == "待答复"


def test_escalate_overdue_is_durable_idempotent_and_in_the_ledger(world):
    rid = published(world)
    pending = file(world, rid)
    accepted = file(world, rid)
    act(world, obj_svc.answer_objection, "police_steward", accepted, "受理", today=FILED)
    with world.db.write() as s:
        assert obj_svc.escalate_overdue(s, Actor.system(), ANSWER_DUE)["escalated"] == 0
    with world.db.write() as s:
        assert obj_svc.escalate_overdue(s, Actor.system(), SIXTH)["ids"] == [pending]
    with world.db.write() as s:
        assert obj_svc.escalate_overdue(s, Actor.system(), SIXTH)["escalated"] == 0
    with world.db.write() as s:
        assert obj_svc.escalate_overdue(s, Actor.system(), CORRECT_DUE)["escalated"] == 0
        assert obj_svc.escalate_overdue(s, Actor.system(), ELEVENTH)["ids"] == [accepted]
    with world.db.read() as s:
        p, a = s.get(Objection, pending), s.get(Objection, accepted)
        assert (p.state, p.escalated_from, p.escalated_on) == ("已升级", "待答复", SIXTH)
        assert (a.state, a.escalated_from, a.escalated_on) == ("已升级", "已受理", ELEVENTH)
        events = s.execute(select(LedgerEvent.subject_id, LedgerEvent.content).where(
            LedgerEvent.action == "quality.objection.escalate").order_by(LedgerEvent.seq)).all()
    assert [e.subject_id for e in events] == [str(pending), str(accepted)]
    assert json.loads(events[0].content)["missed_due"] == "2025-10-10"
    with pytest.raises(PermissionDenied), world.db.write() as s:
        obj_svc.escalate_overdue(s, world.actor("reviewer"), ELEVENTH)


def test_correction_on_the_10th_working_day_is_on_time_the_11th_late(world):
    rid = published(world)
    on_time, late = file(world, rid), file(world, rid)
    for oid in (on_time, late):
        act(world, obj_svc.answer_objection, "police_steward", oid, "受理", today=date(2025, 9, 29))
    out = act(world, obj_svc.correct_objection, "police_steward", on_time, "已按户籍核对更正",
              today=CORRECT_DUE)
    assert out["state"] == "已更正" and out["timeliness"] == "按时办结"
    assert view(world, late, ELEVENTH)["state"] == "已升级"
    out = act(world, obj_svc.correct_objection, "police_steward", late, "已更正", today=ELEVENTH)
    assert out["state"] == "已更正" and out["timeliness"] == "逾期办结" and out["escalated_on"] == "2025-10-17"
    with world.db.read() as s:
        counts = obj_svc.objection_counts(s, Actor.system(), today=ELEVENTH)
    assert counts[world.orgs["police"].id] == {"total": 2, "open": 0, "overdue": 0, "on_time": 1, "late": 1}


def test_reject_needs_a_reason_and_is_on_time_within_5_days(world):
    rid = published(world)
    oid = file(world, rid)
    with pytest.raises(ValidationFailed) as exc:
        act(world, obj_svc.answer_objection, "police_steward", oid, "reject", today=FILED)
    assert exc.value.errors[0].field == "reason"
    with pytest.raises(ValidationFailed) as exc:
        act(world, obj_svc.answer_objection, "police_steward", oid, "maybe", "?", today=FILED)
    assert exc.value.errors[0].code == "unknown_value"
    out = act(world, obj_svc.answer_objection, "police_steward", oid, "驳回", "与户籍系统一致", today=ANSWER_DUE)
    assert out["state"] == "已驳回" and out["timeliness"] == "按时办结"
    for fn, args in [(obj_svc.answer_objection, ("受理",)), (obj_svc.correct_objection, ("改了",)),
                     (obj_svc.decide_objection, ("uphold", "理由"))]:
        who = "reviewer" if fn is obj_svc.decide_objection else "police_steward"
        with pytest.raises(Conflict) as exc:
            act(world, fn, who, oid, *args, today=SIXTH)
        assert exc.value.code == "objection_state"
    with pytest.raises(Conflict):
        act(world, obj_svc.withdraw_objection, "consumer", oid, today=SIXTH)


def test_state_errors_on_a_fresh_objection(world):
    rid = published(world)
    oid = file(world, rid)
    with pytest.raises(Conflict) as exc:  # correcting before accepting
        act(world, obj_svc.correct_objection, "police_steward", oid, "已更正", today=FILED)
    assert exc.value.code == "objection_state" and exc.value.status == 409
    with pytest.raises(Conflict):  # deciding what is not escalated
        act(world, obj_svc.decide_objection, "reviewer", oid, "uphold", "理由", today=FILED)
    act(world, obj_svc.answer_objection, "police_steward", oid, "accept", today=FILED)
    with pytest.raises(Conflict):  # answering twice
        act(world, obj_svc.answer_objection, "police_steward", oid, "accept", today=FILED)


def test_withdraw_by_the_filer_only(world):
    rid = published(world)
    oid = file(world, rid)
    with pytest.raises(PermissionDenied):
        act(world, obj_svc.withdraw_objection, "police_steward", oid, today=FILED)
    out = act(world, obj_svc.withdraw_objection, "consumer", oid, today=date(2025, 9, 29))
    assert out["state"] == "已撤回" and out["withdrawn_on"] == "2025-09-29" and out["timeliness"] is None
    with pytest.raises(Conflict) as exc:
        act(world, obj_svc.withdraw_objection, "consumer", oid, today=date(2025, 9, 29))
    assert exc.value.code == "objection_state"
    with pytest.raises(Conflict):
        act(world, obj_svc.answer_objection, "police_steward", oid, "accept", today=date(2025, 9, 29))
    with world.db.write() as s:  # withdrawn: never escalated, never counted
        assert obj_svc.escalate_overdue(s, Actor.system(), ELEVENTH)["escalated"] == 0
        assert obj_svc.objection_counts(s, Actor.system(), today=ELEVENTH) == {}


def test_decide_uphold_then_late_correction_and_dismiss(world):
    rid = published(world, org="city_police", reviewer="city_reviewer")
    upheld, dismissed = file(world, rid), file(world, rid)
    with world.db.write() as s:
        obj_svc.escalate_overdue(s, Actor.system(), SIXTH)
    for who in ("other_reviewer", "city_steward", "consumer"):
        with pytest.raises((NotFound, PermissionDenied)):
            act(world, obj_svc.decide_objection, who, upheld, "uphold", "理由", today=SIXTH)
    out = act(world, obj_svc.decide_objection, "city_reviewer", upheld, "uphold", "核实有误，责令更正", today=SIXTH)
    assert out["state"] == "已裁定" and out["decision"] == "支持异议" and out["decided_by"] == "city_reviewer"
    out = act(world, obj_svc.correct_objection, "city_steward", upheld, "已更正", today=date(2025, 10, 13))
    assert out["state"] == "已更正" and out["timeliness"] == "逾期办结"
    # The province's reviewer acts over the city too.
    out = act(world, obj_svc.decide_objection, "reviewer", dismissed, "dismiss", "数据无误", today=SIXTH)
    assert out["decision"] == "不支持异议" and out["timeliness"] == "逾期办结"
    with pytest.raises(Conflict):
        act(world, obj_svc.correct_objection, "city_steward", dismissed, "改", today=SIXTH)


def test_who_may_file_read_and_act(world):
    closed = published(world)  # 有条件共享, 不予开放
    open_ = published(world, name="公共厕所位置", open_type="无条件开放")
    # The public: open resources only; a closed one does not exist for them.
    with pytest.raises(NotFound):
        file(world, closed, who="citizen")
    mine = file(world, open_, who="citizen")
    with pytest.raises(Unauthenticated), world.db.write() as s:
        obj_svc.file_objection(s, Actor.anonymous(), open_, claim="错", items=["姓名"])
    oid = file(world, closed, who="consumer")
    # Readers: filer, provider's steward and approver, the region's authority, the admin.
    for who in ("consumer", "police_steward", "police_approver", "reviewer", "admin"):
        assert view(world, oid, FILED, who)["claim"] == "出生日期与户籍登记不一致"
    for who in ("market_steward", "citizen", "city_reviewer", "other_reviewer", "city_steward", "auditor"):
        with pytest.raises(NotFound):
            view(world, oid, FILED, who)
    # Answering: the provider's steward only.
    for who, error in [("consumer", PermissionDenied), ("police_approver", PermissionDenied),
                       ("reviewer", PermissionDenied), ("market_steward", NotFound)]:
        with pytest.raises(error):
            act(world, obj_svc.answer_objection, who, oid, "accept", today=FILED)
    with pytest.raises(PermissionDenied):  # another filer cannot withdraw mine
        act(world, obj_svc.withdraw_objection, "police_steward", oid, today=FILED)
    # Lists follow the same rule.
    with world.db.read() as s:
        ids = lambda who, **kw: [o.id for o in obj_svc.list_objections(s, world.actor(who), today=FILED, **kw)[0]]  # noqa: E731
        assert ids("citizen") == [mine] and ids("citizen", mine=True) == [mine]
        assert ids("consumer", mine=True) == [oid]
        assert ids("police_steward") == [oid, mine]
        assert ids("police_steward", org_id=world.orgs["police"].id, open_only=True) == [oid, mine]
        assert ids("market_steward") == [] and ids("city_reviewer") == []
        assert ids("police_steward", overdue=True) == []
        s_ids = [o.id for o in obj_svc.list_objections(s, world.actor("reviewer"), overdue=True, today=SIXTH)[0]]
        assert s_ids == [oid, mine]
        assert [o.id for o in obj_svc.list_objections(s, world.actor("reviewer"), state="已升级",
                                                      today=SIXTH)[0]] == [oid, mine]
        assert obj_svc.list_objections(s, world.actor("reviewer"), state="待答复", today=SIXTH)[1] == 0


def test_filing_validates_items_row_and_text(world):
    rid = published(world)
    with pytest.raises(ValidationFailed) as exc:
        file(world, rid, claim="  ", items=["学历", "出生日期", "出生日期"], row_key={"姓名": "张三"},
             row_number=0)
    fields = {(e.field, e.code) for e in exc.value.errors}
    assert fields == {("claim", "required"), ("items.0", "unknown_item"), ("items", "duplicate_item"),
                      ("row_key.姓名", "not_key_item"), ("row_number", "row_number")}
    with pytest.raises(ValidationFailed) as exc:
        file(world, rid, items=[])
    assert exc.value.errors[0].code == "nothing_disputed"
    oid = file(world, rid, items=[], row_key={"公民身份号码": "110101199003071234"}, row_number=12, batch_id=None)
    v = view(world, oid, FILED)
    assert v["row_key"] == {"公民身份号码": "110101199003071234"} and v["row_number"] == 12 and v["items"] == []


def test_the_ledger_holds_ids_states_and_dates_never_the_text(world):
    rid = published(world)
    secret_id = "110101199003071234"
    oid = file(world, rid, claim=f"身份证号{secret_id}的出生日期错了", expected="应为1990年3月7日",
               row_key={"公民身份号码": secret_id})
    act(world, obj_svc.answer_objection, "police_steward", oid, "受理", f"核对{secret_id}属实", today=FILED)
    act(world, obj_svc.correct_objection, "police_steward", oid, f"已更正张三{secret_id}", today=FILED)
    with world.db.read() as s:
        events = s.execute(select(LedgerEvent.action, LedgerEvent.subject_id, LedgerEvent.content).where(
            LedgerEvent.subject_type == "objection").order_by(LedgerEvent.seq)).all()
    assert [e.action for e in events] == ["quality.objection.file", "quality.objection.answer",
                                          "quality.objection.correct"]
    dump = json.dumps([[json.loads(e.content), e.subject_id, e.action] for e in events], ensure_ascii=False)
    for text in (secret_id, "出生日期错了", "1990年3月7日", "核对", "张三"):
        assert text not in dump
    first = json.loads(events[0].content)
    assert first["resource_id"] == rid and first["answer_due"] == "2025-10-10" and first["state"] == "待答复"


def test_the_daily_job_escalates_and_keeps_one_queued(world):
    from yibenzhang import jobs

    rid = published(world)
    oid = file(world, rid, on=date(2025, 9, 26))  # long overdue by the real date
    assert jobs._handlers[obj_svc.ESCALATE_JOB] is obj_svc.escalate_job
    assert obj_svc.escalate_job(world.db)["ids"] == [oid]
    obj_svc.schedule_escalation(world.db)
    obj_svc.schedule_escalation(world.db)
    with world.db.read() as s:
        queued = s.execute(select(jobs.Job).where(jobs.Job.kind == obj_svc.ESCALATE_JOB)).scalars().all()
        assert len(queued) == 1 and queued[0].run_at.date() >= workdays.today()
