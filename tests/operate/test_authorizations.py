"""Authorizations: who may grant them, the term edge, scope and resources, states, the ledger."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import published
from tests.operate.conftest import AUTHORIZED, make_auth
from yibenzhang.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yibenzhang.ledger.model import LedgerEvent
from yibenzhang.operate import authorizations as auths
from yibenzhang.operate.model import Authorization


def codes(exc: ValidationFailed) -> set[str]:
    return {e.code for e in exc.errors}


def test_a_term_of_exactly_five_years_is_allowed_and_one_day_more_is_refused(op):
    assert auths.latest_end(date(2025, 1, 1)) == date(2029, 12, 31)
    make_auth(op.world, op.resource_id, ["区县"], starts_on=date(2025, 1, 1), ends_on=date(2029, 12, 31))
    with pytest.raises(ValidationFailed) as exc:
        make_auth(op.world, op.resource_id, ["区县"], starts_on=date(2025, 1, 1), ends_on=date(2030, 1, 1))
    assert codes(exc.value) == {"term_too_long"}


def test_a_term_starting_on_29_february_counts_from_1_march():
    assert auths.latest_end(date(2024, 2, 29)) == date(2029, 2, 28)
    assert auths.latest_end(date(2024, 3, 1)) == date(2029, 2, 28)


def test_the_term_follows_the_setting(op, monkeypatch):
    from yibenzhang.config import reset_settings

    monkeypatch.setenv("YBZ_RULE_OPERATION_TERM_YEARS_MAX", "3")
    reset_settings()
    assert auths.latest_end(date(2025, 1, 1)) == date(2027, 12, 31)
    with pytest.raises(ValidationFailed):
        make_auth(op.world, op.resource_id, ["区县"], starts_on=date(2025, 1, 1), ends_on=date(2028, 1, 1))


def test_only_an_operator_org_can_be_authorized(op):
    with pytest.raises(ValidationFailed) as exc:
        make_auth(op.world, op.resource_id, ["区县"], operator_org_id=op.world.orgs["market"].id)
    assert "not_an_operator" in codes(exc.value)


def test_only_the_authority_of_the_region_authorizes(op):
    for who in ("operator_user", "police_steward", "city_reviewer", "consumer"):
        with op.db.write() as s, pytest.raises(PermissionDenied):
            auths.create_authorization(
                s, op.actor(who), operator_org_id=op.world.orgs["operator"].id, scope_kind="全域",
                resources=[{"resource_id": op.resource_id, "items": ["区县"]}], purpose="测试",
                starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31), fee_cap_fen=0)
    with op.db.write() as s:
        auth = auths.create_authorization(
            s, op.actor("admin"), operator_org_id=op.world.orgs["operator"].id, scope_kind="全域",
            resources=[{"resource_id": op.resource_id, "items": ["区县"]}], purpose="测试",
            starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31), fee_cap_fen=0)
        assert auth.scope is None and auth.state == "有效"


def test_resources_items_scope_and_fee_are_validated(op):
    unpublished_items = {"resource_id": 999999, "items": ["x"]}
    with pytest.raises(ValidationFailed) as exc:
        make_auth(op.world, op.resource_id, ["区县"], scope_kind="领域", scope="",
                  resources=[{"resource_id": op.resource_id, "items": ["区县", "没有这项"]}, unpublished_items],
                  fee_cap_fen=-1, ends_on=date(2024, 1, 1))
    assert codes(exc.value) >= {"required", "unknown_item", "resource_not_published", "invalid", "before_start"}


def test_a_resource_outside_the_region_is_refused(op):
    city = published(op.world, org="city_police", reviewer="city_reviewer", name="春城市人口")
    with pytest.raises(ValidationFailed) as exc:
        make_auth(op.world, city, ["姓名"], region_id=op.world.regions["990200"])
    assert "resource_outside_region" in codes(exc.value)


def test_covers_and_is_active(op):
    with op.db.read() as s:
        auth = s.get(Authorization, op.auth_id)
        assert auths.covers(auth, op.resource_id, ["区县", "收入"])
        assert not auths.covers(auth, op.resource_id, ["区县", "姓名"])
        assert not auths.covers(auth, op.other_resource_id, [])
        assert auths.is_active(auth, date(2025, 1, 1)) and auths.is_active(auth, date(2029, 12, 31))
        assert not auths.is_active(auth, date(2024, 12, 31)) and not auths.is_active(auth, date(2030, 1, 1))
        assert auths.effective_state(auth, date(2030, 1, 1)) == "已到期"


def test_suspend_resume_revoke_with_reasons_in_the_ledger_without_them(op):
    reviewer = op.actor("reviewer")
    with op.db.write() as s, pytest.raises(ValidationFailed):
        auths.suspend(s, reviewer, op.auth_id, "")
    with op.db.write() as s:
        assert auths.suspend(s, reviewer, op.auth_id, "核查数据使用情况").state == "暂停"
    with op.db.write() as s, pytest.raises(Conflict):
        auths.suspend(s, reviewer, op.auth_id, "再次暂停")
    with op.db.write() as s:
        assert auths.resume(s, reviewer, op.auth_id, "核查完毕").state == "有效"
    with op.db.write() as s:
        assert auths.revoke(s, reviewer, op.auth_id, "违反授权条件").state == "撤销"
    with op.db.write() as s, pytest.raises(Conflict):
        auths.resume(s, reviewer, op.auth_id, "恢复")
    with op.db.read() as s:
        auth = s.get(Authorization, op.auth_id)
        assert [h["act"] for h in auth.history] == ["授予", "暂停", "恢复", "撤销"]
        events = s.query(LedgerEvent).filter(LedgerEvent.subject_type == "operate_authorization").all()
        actions = [e.action for e in events]
        assert actions == ["operate.authorization.create", "operate.authorization.suspend",
                           "operate.authorization.resume", "operate.authorization.revoke"]
        assert all("违反" not in (e.content or "") for e in events)


def test_operators_see_their_own_and_others_do_not(op):
    with op.db.read() as s:
        assert [a.id for a in auths.list_authorizations(s, op.actor("operator_user"))] == [op.auth_id]
        assert auths.list_authorizations(s, op.actor("consumer")) == []
        assert [a.id for a in auths.list_authorizations(s, op.actor("reviewer"))] == [op.auth_id]
        assert auths.list_authorizations(s, op.actor("other_reviewer")) == []
        with pytest.raises(NotFound):
            auths.get_authorization(s, op.actor("consumer"), op.auth_id)
        with pytest.raises(PermissionDenied):
            auths.suspend(s, op.actor("operator_user"), op.auth_id, "自行暂停")
    assert AUTHORIZED


def test_the_daily_job_records_each_expiry_once(op):
    from yibenzhang.operate import jobs

    expired = make_auth(op.world, op.resource_id, ["区县"], starts_on=date(2020, 1, 1), ends_on=date(2020, 12, 31))
    assert jobs.record_expiries(op.db, date(2026, 1, 1)) == {"expired": [expired]}
    assert jobs.record_expiries(op.db, date(2026, 1, 2)) == {"expired": []}
    with op.db.read() as s:
        auth = s.get(Authorization, expired)
        assert auth.history[-1]["act"] == "到期" and auths.effective_state(auth, date(2026, 1, 1)) == "已到期"
        assert s.query(LedgerEvent).filter_by(action="operate.authorization.expire").count() == 1
