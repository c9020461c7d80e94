"""Products, compliance review, registration, certificates, pricing, valuation and 入表 at the
service layer, on both backends; rule numbers tested at their edges."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests.assets.helpers import CAP, authorization, grade, make_product, product_data, run
from tests.factories import published
from yibenzhang import workdays
from yibenzhang.assets import accounting, certificates, compliance, pricing, products, registration, valuation
from yibenzhang.config import get_settings
from yibenzhang.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yibenzhang.workdays import add_workdays

RIGHTS = {"数据资源持有权": "云岭省公安厅", "数据加工使用权": "云岭数据运营有限公司",
          "数据产品经营权": "云岭数据运营有限公司"}


def _setup(world, **auth_kw):
    rid = published(world)
    auth = authorization(world, rid, **auth_kw)
    return rid, auth, run(world, auth, [rid])


def _codes(exc) -> list[str]:
    return [e.code for e in exc.value.errors]


# --- pricing ------------------------------------------------------------------------------------


def test_price_equal_to_cap_is_allowed_and_one_fen_above_is_refused(world):
    _, auth, r = _setup(world)
    pid = make_product(world, auth, [r], price_fen=CAP)
    with world.db.read() as s:
        assert products.get_product(s, world.actor("operator_user"), pid).price_fen == CAP
    with pytest.raises(ValidationFailed) as exc:
        make_product(world, auth, [r], price_fen=CAP + 1)
    assert _codes(exc) == ["price_above_cap"]
    with world.db.write() as s, pytest.raises(ValidationFailed) as exc:
        products.update_product(s, world.actor("operator_user"), pid, {"price_fen": CAP + 1})
    assert _codes(exc) == ["price_above_cap"]


def test_public_governance_and_public_interest_are_free(world):
    _, auth, r = _setup(world)
    for category in ("公共治理", "公益事业"):
        with pytest.raises(ValidationFailed) as exc:
            make_product(world, auth, [r], pricing_category=category, price_fen=1)
        assert _codes(exc) == ["free_use"]
        pid = make_product(world, auth, [r], pricing_category=category, price_fen=0)
        with world.db.read() as s:
            assert products.product_dict(s, products.get_product(s, world.actor("operator_user"), pid))["free"]


def test_product_needs_released_runs_of_the_operator_and_an_operator_user(world):
    _, auth, _ = _setup(world)
    refused = run(world, auth, [], state="已拒绝")
    with pytest.raises(ValidationFailed) as exc:
        make_product(world, auth, [refused, 999])
    assert _codes(exc) == ["run_not_released", "unknown_run"]
    with world.db.write() as s, pytest.raises(NotFound):
        products.create_product(s, world.actor("police_steward"), authorization_id=auth, data=product_data([]))


# --- compliance review ----------------------------------------------------------------------------


def test_personal_data_without_consent_and_no_scenario_fail_then_pass_after_signoff(world):
    rid, auth, r = _setup(world)
    grade(world, rid, {"姓名": "一般-3级", "公民身份号码": "一般-4级", "出生日期": "一般-3级"})
    pid = make_product(world, auth, [r], scenario="")
    op, reviewer = world.actor("operator_user"), world.actor("reviewer")
    with world.db.write() as s:
        review = compliance.review_dict(compliance.submit_for_review(s, op, pid))
    assert review["state"] == "不通过"
    failed = {f["kind"]: f for f in review["failed"]}
    assert set(failed) == {3, 4}
    assert failed[3]["rule"] == "001:1236 第二十七条第（三）项" and failed[3]["rule_en"] == "001:1236 Art. 27(3)"
    assert "应用场景" in failed[3]["reason"] and "scenario" in failed[3]["reason_en"]
    assert "公民身份号码" in failed[4]["reason"] and "consent" in failed[4]["reason_en"]
    assert all(c["rule"] for c in review["checks"])
    with world.db.read() as s:
        assert products.get_product(s, op, pid).state == "合规未通过"
        stored = compliance.review_dict(compliance.get_review(s, op, pid))
        assert stored["state"] == "不通过" and stored["awaiting_signoff"] == []
        assert [c["result"] for c in stored["checks"]] == ["未审查", "未审查", "不通过", "不通过", "未审查", "通过",
                                                           "未审查"]
    # A refused product cannot be signed off; the operator fixes it and submits again.
    with world.db.write() as s:
        products.update_product(s, op, pid, {"scenario": "公共服务设施选址", "pi_consent": True,
                                             "pi_consent_ref": "同意书编号 TY-2026-001"})
        review = compliance.review_dict(compliance.submit_for_review(s, op, pid))
    assert review["state"] == "待签核" and review["awaiting_signoff"] == [1, 2, 5, 7]
    with world.db.write() as s, pytest.raises(PermissionDenied):
        compliance.sign_off(s, op, pid, [{"kind": 1, "verdict": "通过", "note": "x"}])
    with world.db.write() as s, pytest.raises(ValidationFailed) as exc:
        compliance.sign_off(s, reviewer, pid, [{"kind": 3, "verdict": "通过", "note": "x"},
                                               {"kind": 5, "verdict": "通过", "note": ""}])
    assert _codes(exc) == ["not_signable", "required"]
    with world.db.write() as s:
        compliance.sign_off(s, reviewer, pid, [{"kind": 1, "verdict": "通过", "note": "不涉密"},
                                               {"kind": 2, "verdict": "pass", "note": "无危害"}])
        assert products.get_product(s, op, pid).state == "合规审查中"
        review = compliance.review_dict(compliance.sign_off(s, reviewer, pid, [
            {"kind": 5, "verdict": "通过", "note": "无商业秘密"}, {"kind": 7, "verdict": "通过", "note": "无"}]))
        assert review["state"] == "通过" and review["failed"] == []
        assert products.get_product(s, op, pid).state == "合规通过"


def test_reviewer_refusing_an_item_refuses_the_product_with_the_note(world):
    _, auth, r = _setup(world)
    pid = make_product(world, auth, [r])
    with world.db.write() as s:
        compliance.submit_for_review(s, world.actor("operator_user"), pid)
        review = compliance.review_dict(compliance.sign_off(s, world.actor("reviewer"), pid, [
            {"kind": k, "verdict": "通过" if k != 5 else "不通过", "note": "含企业报价"} for k in (1, 2, 5, 7)]))
    assert review["state"] == "不通过" and [f["kind"] for f in review["failed"]] == [5]
    assert "含企业报价" in review["failed"][0]["reason"]


@pytest.mark.parametrize("grades,failed", [({"出生日期": "核心"}, {1, 2}), ({"出生日期": "重要"}, {2})])
def test_core_and_important_sources_fail(world, grades, failed):
    rid, auth, r = _setup(world)
    grade(world, rid, grades)
    pid = make_product(world, auth, [r])
    with world.db.write() as s:
        review = compliance.review_dict(compliance.submit_for_review(s, world.actor("operator_user"), pid))
    assert {f["kind"] for f in review["failed"]} == failed


def test_sources_outside_the_authorization_or_an_inactive_one_fail_kind_6(world):
    rid, auth, r = _setup(world)
    other_res = published(world, name="企业登记信息", org="market")
    other = run(world, auth, [other_res])  # a run that read a resource the authorization does not list
    pid = make_product(world, auth, [r, other])
    with world.db.write() as s:
        review = compliance.review_dict(compliance.submit_for_review(s, world.actor("operator_user"), pid))
    assert [(f["kind"], f["rule_en"]) for f in review["failed"]] == [(6, "001:1236 Art. 27(6)")]
    assert review["checks"][5]["reason_code"] == "source_outside_authorization"
    suspended = authorization(world, rid, state="暂停")
    pid2 = make_product(world, suspended, [run(world, suspended, [rid])])
    with world.db.write() as s:
        review = compliance.review_dict(compliance.submit_for_review(s, world.actor("operator_user"), pid2))
    assert review["checks"][5]["reason_code"] == "authorization_inactive"


# --- registration, publicity and certificates -------------------------------------------------------


def _passed(world, **overrides) -> int:
    _, auth, r = _setup(world)
    pid = make_product(world, auth, [r], **overrides)
    with world.db.write() as s:
        compliance.submit_for_review(s, world.actor("operator_user"), pid)
        compliance.sign_off(s, world.actor("reviewer"), pid,
                            [{"kind": k, "verdict": "通过", "note": "符合"} for k in (1, 2, 5, 7)])
    return pid


def _to_publicity(world, pid: int, day: date, kind: str = "首次", rights: dict | None = None) -> int:
    op, rv = world.actor("operator_user"), world.actor("reviewer")
    with world.db.write() as s:
        reg = registration.apply(s, op, pid, kind=kind, rights=rights or RIGHTS, today=day)
        registration.accept(s, rv, reg.id, today=day)
        registration.formal_check(s, rv, reg.id, today=day)
        return reg.id


def test_code_only_after_the_publicity_period_has_fully_passed(world):
    pid = _passed(world)
    start = date(2026, 9, 25)  # a Friday before the National Day holidays
    rid = _to_publicity(world, pid, start)
    last = add_workdays(start, get_settings().rules.registration_publicity_days)
    rv = world.actor("reviewer")
    with world.db.read() as s:
        d = registration.registration_dict(s, s.get(registration.Registration, rid), today=last)
    assert d["publicity_until"] == last.isoformat() and not d["publicity_over"]
    with world.db.write() as s, pytest.raises(Conflict) as exc:
        registration.assign_code(s, rv, rid, today=last)
    assert exc.value.code == "publicity_not_over"
    with world.db.write() as s:
        reg = registration.assign_code(s, rv, rid, today=last + timedelta(days=1))
        assert reg.code == f"YBZ-990000-{last.year}-000001" and reg.state == "赋码"
        assert reg.rights == RIGHTS
        cert = reg.certificate
        assert products.get_product(s, rv, pid).state == "已登记"
    with world.db.read() as s:
        assert certificates.verify(s, cert)["valid"] is True


def test_certificate_tampering_fails_with_a_reason(world):
    pid = _passed(world)
    day = date(2026, 3, 2)
    rid = _to_publicity(world, pid, day)
    with world.db.write() as s:
        cert = registration.assign_code(s, world.actor("reviewer"), rid, today=day + timedelta(days=60)).certificate
    import copy

    with world.db.read() as s:
        bad = copy.deepcopy(cert)
        bad["content"]["product"]["price_fen"] = 1
        out = certificates.verify(s, bad)
        assert out["valid"] is False and out["reason"] == "digest_mismatch" and "tampered" in out["message_en"]
        bad = copy.deepcopy(cert)
        bad["content"]["rights"]["数据产品经营权"] = "别的公司"
        assert certificates.verify(s, bad)["reason"] == "signature_mismatch"
        bad = copy.deepcopy(cert)
        bad["content"]["product"]["name"] = "另一个产品"
        bad["content"]["product_digest"] = certificates.content_digest(bad["content"]["product"])
        assert certificates.verify(s, bad)["reason"] == "signature_mismatch"
        assert certificates.verify(s, {"content": 1})["reason"] == "malformed"


def test_objection_blocks_coding_and_upheld_rejects(world):
    pid = _passed(world)
    day = date(2026, 3, 2)
    rid = _to_publicity(world, pid, day)
    rv = world.actor("reviewer")
    with world.db.write() as s:
        registration.object_to(s, world.actor("citizen"), rid, "该产品数据来源存疑", today=day + timedelta(days=1))
    with world.db.write() as s, pytest.raises(Conflict) as exc:
        registration.assign_code(s, rv, rid, today=day + timedelta(days=60))
    assert exc.value.code == "objection_open"
    with world.db.write() as s, pytest.raises(Conflict):
        registration.object_to(s, world.actor("citizen"), rid, "迟到的异议", today=day + timedelta(days=60))
    with world.db.write() as s:
        reg = registration.resolve_objection(s, rv, rid, 1, upheld=True, answer="来源需补充说明")
        assert reg.state == "已驳回"
        assert products.get_product(s, rv, pid).state == "合规通过"


def test_change_supersedes_and_cancellation_ends_the_registration(world):
    pid = _passed(world)
    op, rv = world.actor("operator_user"), world.actor("reviewer")
    day = date(2026, 3, 2)
    with world.db.write() as s:
        first = registration.assign_code(s, rv, _to_publicity(world, pid, day), today=day + timedelta(days=30))
        first_cert, first_id = first.certificate, first.id
    with world.db.write() as s, pytest.raises(Conflict):
        registration.apply(s, op, pid, kind="首次", rights=RIGHTS)
    # 变更: the product changes, passes review again, and a new registration replaces the first.
    with world.db.write() as s:
        products.update_product(s, op, pid, {"price_fen": 20_000})
        compliance.submit_for_review(s, op, pid)
        compliance.sign_off(s, rv, pid, [{"kind": k, "verdict": "通过", "note": "符合"} for k in (1, 2, 5, 7)])
    day2 = date(2026, 5, 6)
    rid2 = _to_publicity(world, pid, day2, kind="变更")
    with world.db.write() as s:
        second = registration.assign_code(s, rv, rid2, today=day2 + timedelta(days=30))
        assert second.previous_id == first_id and second.code.endswith("-000002")
        assert second.certificate["content"]["previous_code"] == first.code
    with world.db.read() as s:
        assert certificates.verify(s, first_cert)["reason"] == "superseded"
        assert certificates.verify(s, second.certificate)["valid"]
    day3 = date(2026, 7, 1)
    rid3 = _to_publicity(world, pid, day3, kind="注销")
    with world.db.write() as s:
        registration.assign_code(s, rv, rid3, today=day3 + timedelta(days=30))
        assert products.get_product(s, rv, pid).state == "已注销"
        assert certificates.verify(s, second.certificate)["reason"] == "cancelled"


def test_rights_holders_are_required(world):
    pid = _passed(world)
    with world.db.write() as s, pytest.raises(ValidationFailed) as exc:
        registration.apply(s, world.actor("operator_user"), pid, rights={"数据资源持有权": "公安厅"})
    assert _codes(exc) == ["right_holder_required", "right_holder_required"]


# --- revenue and disclosure ------------------------------------------------------------------------


def test_revenue_within_and_above_the_cap_carries_a_deduction(world):
    pid = _passed(world, price_fen=CAP)
    op = world.actor("operator_user")
    with world.db.write() as s, pytest.raises(Conflict) as exc:
        pricing.record_revenue(s, op, pid, period="2026-01", units=1, amount_fen=1)
    assert exc.value.code == "product_not_registered"
    day = date(2026, 1, 5)
    rid = _to_publicity(world, pid, day)
    with world.db.write() as s:
        registration.assign_code(s, world.actor("reviewer"), rid, today=day + timedelta(days=30))
    with world.db.write() as s:
        within = pricing.revenue_dict(pricing.record_revenue(s, op, pid, period="2026-01", units=10,
                                                             amount_fen=10 * CAP))
        above = pricing.revenue_dict(pricing.record_revenue(s, op, pid, period="2026-02", units=10,
                                                            amount_fen=10 * CAP + 1))
        nxt = pricing.revenue_dict(pricing.record_revenue(s, op, pid, period="2026-03", units=10,
                                                          amount_fen=10 * CAP))
    assert within["within_cap"] and within["excess_fen"] == 0
    assert above["excess_fen"] == 1 and above["carried_to_next_fen"] == 1
    assert nxt["deduction_fen"] == 1 and nxt["allowed_fen"] == 10 * CAP - 1 and nxt["excess_fen"] == 1
    with world.db.write() as s, pytest.raises(Conflict):
        pricing.record_revenue(s, op, pid, period="2026-01", units=1, amount_fen=1)


def test_disclosure_due_by_end_of_march_and_exports(world):
    assert pricing.disclosure_due(2025) == date(2026, 3, 31)
    _, auth, r = _setup(world)
    make_product(world, auth, [r])
    with world.db.read() as s:
        data = pricing.disclosure(s, world.actor("operator_user"), world.orgs["operator"].id, workdays.today().year)
        with pytest.raises(PermissionDenied):
            pricing.disclosure(s, world.actor("consumer"), world.orgs["operator"].id, workdays.today().year)
    assert [a["id"] for a in data["authorizations"]] == [auth]
    assert data["products"][0]["price_fen"] == 10_000 and data["products"][0]["free"] is False
    wb = load_workbook(io.BytesIO(pricing.disclosure_xlsx(data)))
    assert wb.sheetnames == ["授权", "产品与价格"] and wb["产品与价格"]["H2"].value == 100


# --- valuation and 入表 ------------------------------------------------------------------------------


def test_valuation_methods_give_known_figures_and_reproduce(world):
    cost = valuation.compute("cost", {"costs": {"planning": 100_000, "采集": 200_000, "存储": 50_000,
                                                "加工": 150_000, "合规": 30_000, "税费": 20_000},
                                      "quality_score": "90", "remaining_life_years": 3, "elapsed_life_years": 1})
    # C = 550,000; δ = 0.9 × 3/4 = 0.675; P = 371,250
    assert cost["value_fen"] == 371_250 and Decimal(cost["steps"]["delta"]) == Decimal("0.675")
    income = valuation.compute("收益法", {"discount_rate": "0.1", "cash_flows_fen": [110_000, 121_000]})
    assert income["value_fen"] == 200_000  # 110000/1.1 + 121000/1.21
    market = valuation.compute("market", {"comparables": [
        {"name": "A", "price_fen": 100_000, "factors": {"质量": "1.1", "时效": "0.9"}},
        {"name": "B", "price_fen": 200_000, "factors": {"质量": "1"}}]})
    assert market["value_fen"] == 149_500  # (99,000 + 200,000) / 2
    with pytest.raises(ValidationFailed):
        valuation.compute("cost", {"costs": {"广告": 1}, "quality_score": 101, "remaining_life_years": 1})
    _, auth, r = _setup(world)
    pid = make_product(world, auth, [r])
    with world.db.write() as s:
        row = valuation.value_product(s, world.actor("operator_user"), pid, "cost",
                                      {"costs": {"planning": 100_000}, "quality_score": 80,
                                       "remaining_life_years": 2, "elapsed_life_years": 2})
        vid = row.id
    with world.db.read() as s:
        again = valuation.reproduce(valuation.get_valuation(s, world.actor("reviewer"), vid))
    assert again["reproduced"] and again["value_fen"] == 40_000
    assert again["inputs_digest"] == valuation.compute("cost", {"costs": {"规划": "100000"}, "quality_score": "80",
                                                                "remaining_life_years": "2",
                                                                "elapsed_life_years": "2"})["inputs_digest"]


def test_booking_classifies_by_intention_and_splits_costs(world):
    _, auth, r = _setup(world)
    pid = make_product(world, auth, [r])
    op = world.actor("operator_user")
    with world.db.write() as s:
        use = accounting.book(s, op, pid, intention="内部使用", cost_items=[
            {"item": "外购", "amount_fen": 100_000}, {"item": "cleaning", "amount_fen": 20_000},
            {"item": "研究", "amount_fen": 5_000}])
        sale = accounting.book(s, op, pid, intention="对外出售", cost_items=[{"item": "标注", "amount_fen": 1}])
        assert (use.asset_class, use.capitalised_fen, use.expensed_fen) == ("无形资产", 120_000, 5_000)
        assert sale.asset_class == "存货"
        with pytest.raises(PermissionDenied):
            accounting.book(s, world.actor("reviewer"), pid, intention="内部使用", cost_items=[])
        rows = accounting.bookings_of(s, op, pid)
        csv_text = accounting.export_csv(s, rows).decode("utf-8-sig")
        xlsx = load_workbook(io.BytesIO(accounting.export_xlsx(s, rows)))
    assert "清洗,200.00,资本化,无形资产—数据资源" in csv_text and "研究,50.00,费用化,管理费用" in csv_text
    assert xlsx.active["G2"].value == 1000.0


def test_correction_changes_rights_and_rejections_send_the_product_back(world):
    pid = _passed(world)
    op, rv = world.actor("operator_user"), world.actor("reviewer")
    day = date(2026, 3, 2)
    with world.db.write() as s:
        reg = registration.apply(s, op, pid, rights=RIGHTS, today=day)
        with pytest.raises(Conflict):
            registration.apply(s, op, pid, rights=RIGHTS, today=day)  # one in progress at a time
        with pytest.raises(ValidationFailed):
            registration.accept(s, rv, reg.id, reject=True, note="")
        registration.accept(s, rv, reg.id, reject=True, note="材料不全", today=day)
        assert reg.state == "已驳回" and products.get_product(s, op, pid).state == "合规通过"
    first = _to_publicity(world, pid, day)
    with world.db.write() as s:
        first_code = registration.assign_code(s, rv, first, today=day + timedelta(days=30)).code
        fixed = {**RIGHTS, "数据产品经营权": "云岭数据运营有限公司第一分公司"}
        with pytest.raises(Conflict):
            registration.apply(s, op, pid, kind="变更", rights=fixed)  # 变更 needs a changed, re-reviewed product
    rid = _to_publicity(world, pid, date(2026, 4, 1), kind="更正", rights=fixed)
    with world.db.write() as s:
        corrected = registration.assign_code(s, rv, rid, today=date(2026, 5, 1))
        assert corrected.certificate["content"]["previous_code"] == first_code
        assert corrected.certificate["content"]["rights"]["数据产品经营权"] == "云岭数据运营有限公司第一分公司"
        assert s.get(registration.Registration, first).state == "已被取代"


def test_publicity_days_is_a_setting(world, monkeypatch):
    from yibenzhang.config import reset_settings

    monkeypatch.setenv("YBZ_RULE_REGISTRATION_PUBLICITY_DAYS", "3")
    reset_settings()
    start = date(2026, 3, 2)  # a Monday: three working days end on Thursday
    assert registration.publicity_until(start) == date(2026, 3, 5)
    pid = _passed(world)
    rid = _to_publicity(world, pid, start)
    with world.db.write() as s, pytest.raises(Conflict):
        registration.assign_code(s, world.actor("reviewer"), rid, today=date(2026, 3, 5))
    with world.db.write() as s:
        assert registration.assign_code(s, world.actor("reviewer"), rid, today=date(2026, 3, 6)).code
