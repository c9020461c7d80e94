"""Applications for 有条件开放 data (both backends): the deadline in working days across a
holiday at its edges, who may decide, reasons, keys scoped to the approved dataset."""

from __future__ import annotations

from datetime import date

import pytest

from yibenzhang import workdays
from yibenzhang.access import Actor
from yibenzhang.errors import Conflict, NotFound, PermissionDenied, Unauthenticated, ValidationFailed
from yibenzhang.open import applications as apps
from yibenzhang.open.access import access_for
from yibenzhang.open.datasets import get_open_resource

FRIDAY = date(2025, 9, 26)  # ten working days later, across National Day, is Thursday 16 October
DUE = date(2025, 10, 16)


def _apply(w, rid, who="citizen", today=FRIDAY):
    with w.db.write() as s:
        return apps.apply(s, w.actor(who), rid, purpose="研究门诊分布", scenario="公益研究", agreement=True,
                          today=today).id


def test_answer_due_on_the_tenth_working_day_across_a_holiday(opendata):
    w = opendata.world
    app_id = _apply(w, opendata.cond)
    with w.db.read() as s:
        app = apps.get_application(s, w.actor("citizen"), app_id)
        assert app.due == DUE
        assert not apps.is_overdue(app, DUE) and apps.is_overdue(app, date(2025, 10, 17))
        view = apps.application_dict(s, app, today=date(2025, 10, 17))
        assert view["overdue"] is True and view["workdays_left"] is None
        assert apps.application_dict(s, app, today=date(2025, 10, 15))["workdays_left"] == 1
    with w.db.write() as s:
        assert apps.mark_overdue(s, Actor.system(), today=DUE)["marked"] == 0
        assert apps.mark_overdue(s, Actor.system(), today=date(2025, 10, 17))["ids"] == [app_id]
        assert apps.mark_overdue(s, Actor.system(), today=date(2025, 10, 18))["marked"] == 0  # once
        with pytest.raises(PermissionDenied):
            apps.mark_overdue(s, w.actor("reviewer"))


@pytest.mark.parametrize("day,on_time", [(DUE, True), (date(2025, 10, 17), False)])
def test_answer_on_the_due_day_is_on_time_the_next_is_late(opendata, day, on_time):
    w = opendata.world
    app_id = _apply(w, opendata.cond)
    with w.db.write() as s:
        app = apps.decide(s, w.actor("police_approver"), app_id, "refuse", "用途与开放条件不符", today=day)
        assert (app.state, app.on_time, app.reason) == ("已拒绝", on_time, "用途与开放条件不符")


def test_only_the_provider_org_decides(opendata):
    w = opendata.world
    app_id = _apply(w, opendata.cond)
    for who in ("market_steward", "reviewer", "consumer", "operator_user"):
        with w.db.write() as s, pytest.raises((PermissionDenied, NotFound)):
            apps.decide(s, w.actor(who), app_id, "approve", "同意")
    with w.db.write() as s, pytest.raises(PermissionDenied):
        apps.decide(s, w.actor("citizen"), app_id, "approve", "自己批准")  # the applicant reads, never decides
    with w.db.write() as s, pytest.raises(ValidationFailed) as bad:
        apps.decide(s, w.actor("police_approver"), app_id, "maybe", " ")
    assert {e.field for e in bad.value.errors} == {"decision", "reason"}
    with w.db.write() as s:  # the provider's steward decides too
        assert apps.decide(s, w.actor("police_steward"), app_id, "批准", "同意").state == "已批准"
    with w.db.write() as s, pytest.raises(Conflict):
        apps.decide(s, w.actor("police_approver"), app_id, "refuse", "改主意")


def test_the_form_is_the_same_for_everyone_and_complete(opendata):
    w = opendata.world
    with w.db.write() as s, pytest.raises(ValidationFailed) as bad:
        apps.apply(s, w.actor("citizen"), opendata.cond, purpose="", scenario=" ", agreement=False)
    assert {e.code for e in bad.value.errors} == {"required", "agreement_required"}
    with w.db.write() as s, pytest.raises(Unauthenticated):
        apps.apply(s, Actor.anonymous(), opendata.cond, purpose="x", scenario="y", agreement=True)
    with w.db.write() as s, pytest.raises(Conflict):
        apps.apply(s, w.actor("citizen"), opendata.free, purpose="x", scenario="y", agreement=True)
    for rid in (opendata.closed, 999999):
        with w.db.write() as s, pytest.raises(NotFound):
            apps.apply(s, w.actor("citizen"), rid, purpose="x", scenario="y", agreement=True)
    _apply(w, opendata.cond)
    with w.db.write() as s, pytest.raises(Conflict) as dup:
        apps.apply(s, w.actor("citizen"), opendata.cond, purpose="x", scenario="y", agreement=True)
    assert dup.value.code == "open_apply_pending"
    _apply(w, opendata.cond, who="consumer")  # a government user applies through the same form


def test_access_for_drives_the_dataset_page(opendata):
    w = opendata.world
    with w.db.read() as s:
        free, cond = get_open_resource(s, opendata.free), get_open_resource(s, opendata.cond)
        assert access_for(s, Actor.anonymous(), free) == {"can_download": True, "needs_application": False,
                                                         "application": None}
        assert access_for(s, Actor.anonymous(), cond)["needs_application"] is True
        assert access_for(s, w.actor("citizen"), cond)["application"] is None
        assert access_for(s, w.actor("police_steward"), cond)["can_download"] is True  # the provider's own
    app_id = _apply(w, opendata.cond)
    with w.db.read() as s:
        got = access_for(s, w.actor("citizen"), get_open_resource(s, opendata.cond), today=date(2025, 10, 17))
        assert got["can_download"] is False and got["application"] == {
            "id": app_id, "state": "待审批", "due": DUE.isoformat(), "overdue": True}
    with w.db.write() as s:
        apps.decide(s, w.actor("police_approver"), app_id, "approve", "同意")
    with w.db.read() as s:
        got = access_for(s, w.actor("citizen"), get_open_resource(s, opendata.cond))
        assert got["can_download"] is True and got["needs_application"] is False


def test_key_is_taken_by_the_applicant_once_and_replaced_on_retake(opendata):
    from yibenzhang.open import keys

    w = opendata.world
    app_id = _apply(w, opendata.cond)
    with w.db.write() as s, pytest.raises(Conflict):
        apps.take_key(s, w.actor("citizen"), app_id)  # not approved yet
    with w.db.write() as s:
        apps.decide(s, w.actor("police_approver"), app_id, "approve", "同意")
    with w.db.write() as s, pytest.raises(PermissionDenied):
        apps.take_key(s, w.actor("police_approver"), app_id)  # the decider never sees the key
    with w.db.write() as s:
        first, raw1 = apps.take_key(s, w.actor("citizen"), app_id)
        assert first.resource_ids == [opendata.cond] and raw1 not in (first.secret_digest, first.prefix)
    with w.db.write() as s:
        _, raw2 = apps.take_key(s, w.actor("citizen"), app_id)
    with w.db.read() as s:
        with pytest.raises(Unauthenticated):
            keys.key_for(s, raw1)
        assert keys.key_for(s, raw2).application_id == app_id
        with pytest.raises(Unauthenticated):
            keys.key_for(s, raw2, today=workdays.today().replace(year=workdays.today().year + 2))  # expired


def test_ledger_holds_no_typed_text(opendata):
    from yibenzhang.ledger.model import LedgerEvent

    w = opendata.world
    app_id = _apply(w, opendata.cond)
    with w.db.write() as s:
        apps.decide(s, w.actor("police_approver"), app_id, "refuse", "理由甲乙丙")
    with w.db.read() as s:
        events = s.query(LedgerEvent).filter(LedgerEvent.action.like("open.application.%")).all()
        assert {e.action for e in events} == {"open.application.create", "open.application.decide"}
        for e in events:
            text = str(e.content)
            assert "研究门诊分布" not in text and "理由甲乙丙" not in text and "citizen" not in text
