"""The privacy budget (DOMAIN §7, "default strongest mode": a differential-privacy budget ε per
authorization set by the authority, spent by noisy counts and sums; issue 16 item 4).

The `op` resource: 区县 甲 100, 乙 50, 丙 10, 丁 9 rows; 收入 3000 + 10·n (protected, numeric)."""

from __future__ import annotations

import json
import math
import statistics
import threading

import pyarrow as pa
import pytest

from yibenzhang.errors import PermissionDenied, ValidationFailed
from yibenzhang.ledger.model import LedgerEvent
from yibenzhang.operate import privacy, sandbox
from yibenzhang.operate.model import PrivacySpend, ReleasePolicy
from yibenzhang.quality.model import QualityRule


def set_budget(op, epsilon: float, mode: str = "隐私预算", **kw) -> dict:
    with op.db.write() as s:
        return privacy.policy_as_dict(privacy.set_policy(s, op.actor("reviewer"), op.auth_id, mode=mode,
                                                         epsilon_total=epsilon, **kw), op.auth_id)


def release(op, statistic: str = "count", epsilon: float = 0.1, **kw) -> dict:
    req = privacy.NoisyRequest(resource_id=op.resource_id, statistic=statistic, epsilon=epsilon, **kw)
    run = privacy.release(op.db, op.actor(), op.auth_id, req)
    return sandbox.run_as_dict(run, with_output=True)


def budget(op) -> dict:
    with op.db.read() as s:
        return privacy.read_policy(s, op.actor(), op.auth_id)


def test_only_the_authority_sets_the_mode_and_budget_and_both_sides_see_it(op):
    with op.db.write() as s, pytest.raises(PermissionDenied):
        privacy.set_policy(s, op.actor(), op.auth_id, mode="隐私预算", epsilon_total=100)
    with op.db.write() as s, pytest.raises(ValidationFailed) as err:
        privacy.set_policy(s, op.actor("reviewer"), op.auth_id, mode="随便", epsilon_total=-1)
    assert {e.code for e in err.value.errors} == {"release_mode_invalid", "privacy_epsilon_invalid"}
    assert budget(op)["mode"] == "输出检查"  # the default, until the authority chooses
    set_budget(op, 2.5)
    for who in ("operator_user", "reviewer"):
        with op.db.read() as s:
            seen = privacy.read_policy(s, op.actor(who), op.auth_id)
        assert seen["mode"] == "隐私预算" and seen["epsilon_total"] == 2.5 and seen["epsilon_remaining"] == 2.5
    with op.db.read() as s:
        event = s.query(LedgerEvent).filter_by(action="operate.release_policy.set").one()
        assert json.loads(event.content)["epsilon_total_micro"] == 2_500_000


def test_the_budget_is_exact_at_its_edge_and_the_release_that_would_exceed_debits_nothing(op):
    set_budget(op, 1.0)
    first = release(op, epsilon=0.4)
    second = release(op, epsilon=0.6)  # exactly the rest: spent == total is allowed
    assert first["state"] == second["state"] == "已放行" and first["release_kind"] == "差分隐私"
    assert budget(op)["epsilon_spent"] == 1.0 and budget(op)["epsilon_remaining"] == 0
    over = release(op, epsilon=0.000001)  # one millionth more than the budget
    assert over["state"] == "已拒绝" and over["reason_code"] == "privacy_budget_exhausted"
    assert "剩余ε=0" in over["reason"]  # not a data-dependent refusal: the operator sees why
    with op.db.read() as s:
        assert s.get(ReleasePolicy, op.auth_id).epsilon_spent_micro == 1_000_000
        spends = s.query(PrivacySpend).order_by(PrivacySpend.id).all()
        assert [(p.epsilon_micro, p.spent_after_micro) for p in spends] == [(400_000, 400_000), (600_000, 1_000_000)]
        events = [json.loads(e.content) for e in s.query(LedgerEvent).filter_by(action="operate.privacy.spend")]
        assert [e["spent_after_micro"] for e in events] == [400_000, 1_000_000]
        assert [p["run_id"] for p in privacy.spends(s, op.actor(), op.auth_id)] == [first["id"], second["id"]]
    # a new period set by the authority starts from nothing spent
    set_budget(op, 1.0, new_period=True)
    assert release(op, epsilon=1.0)["state"] == "已放行"


def test_two_concurrent_releases_cannot_overspend(op):
    set_budget(op, 1.0)
    results: list[dict] = []
    gate = threading.Barrier(2)

    def one() -> None:
        gate.wait()
        results.append(release(op, epsilon=0.6))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["state"] for r in results) == ["已拒绝", "已放行"]
    assert [r["reason_code"] for r in results if r["state"] == "已拒绝"] == ["privacy_budget_exhausted"]
    assert budget(op)["epsilon_spent"] == 0.6
    with op.db.read() as s:
        assert s.query(PrivacySpend).count() == 1


def test_the_debit_itself_is_one_conditional_update(op):
    set_budget(op, 0.000002)
    with op.db.write() as s:
        assert privacy.debit(s, op.auth_id, 1) == 1
        assert privacy.debit(s, op.auth_id, 1) == 2
        assert privacy.debit(s, op.auth_id, 1) is None
    assert budget(op)["epsilon_spent"] == 0.000002


def test_the_noise_scale_is_opendps_for_the_stated_epsilon(op):
    set_budget(op, 10)
    out = release(op, "sum", epsilon=0.5, item="收入", bounds=(0, 5000))
    noise = out["noise"]
    assert noise["sensitivity"] == 5000 and noise["sum_scale"] == pytest.approx(10_000)  # Δ/ε
    meas, scale = privacy.measurement(integer=False, sensitivity=5000, epsilon=0.5, size=1)
    assert scale == noise["sum_scale"] and meas.map(5000.0) <= 0.5
    import opendp.prelude as dp

    tighter = dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=float, nan=False), size=1),
                                dp.l1_distance(T=float), scale=scale * 0.99)
    assert tighter.map(5000.0) > 0.5  # the smallest scale: any less noise would spend more than ε
    count = release(op, "count", epsilon=0.25)["noise"]
    assert count["count_scale"] == pytest.approx(4.0) and count["sensitivity"] == 1
    mean = release(op, "mean", epsilon=1.0, item="收入", bounds=(0, 5000))["noise"]
    assert mean["sum_scale"] == pytest.approx(10_000) and mean["count_scale"] == pytest.approx(2.0)  # ε/2 each


def test_the_noise_has_the_configured_scale_over_1000_draws():
    """OpenDP takes no seed (a CSPRNG): the test bounds the deviation at 6 standard errors."""
    plan = privacy._Plan(sql="", checked=None, view=None, statistic="sum", epsilon_micro=500_000,  # type: ignore[arg-type]
                         bounds=(0.0, 100.0), groups=[], group_by=None, item="x")
    exact = pa.table({"g": [None], "n": [1_000_000], "s": [50_000_000.0]})
    draws = [privacy.noisy_values(plan, exact)[0].column("sum")[0].as_py() - 50_000_000.0 for _ in range(1000)]
    scale = 100 / 0.5  # Laplace(b): E|X| = b, sd(|X|) = b, mean 0 with sd b·√2
    se = scale / math.sqrt(1000)
    assert abs(statistics.fmean(abs(d) for d in draws) - scale) < 6 * se
    assert abs(statistics.fmean(draws)) < 6 * se * math.sqrt(2)
    plan.statistic = "count"
    counts = [privacy.noisy_values(plan, exact)[0].column("count")[0].as_py() - 1_000_000 for _ in range(1000)]
    t = 1 / 0.5  # discrete Laplace(t): Var = 2e^{-1/t} / (1 - e^{-1/t})²
    var = 2 * math.exp(-1 / t) / (1 - math.exp(-1 / t)) ** 2
    assert abs(statistics.pvariance(counts) - var) < 6 * var * math.sqrt(5 / 1000)  # kurtosis 6


def test_repeated_averaging_is_stopped_by_the_budget(op):
    """The averaging attack: ask the same small count again and again and average the noise away.
    With ε = 1 and 0.1 per query, the 11th is refused, and the average of ten answers still has
    the noise of one query at ε = 1 (its standard deviation ≥ 1 person)."""
    set_budget(op, 1.0)
    answers, refused = [], []
    for _ in range(15):
        out = release(op, epsilon=0.1, filters={"区县": "丁"})
        (answers if out["state"] == "已放行" else refused).append(out)
    assert len(answers) == 10 and len(refused) == 5
    assert {r["reason_code"] for r in refused} == {"privacy_budget_exhausted"}
    assert budget(op)["epsilon_spent"] == 1.0
    # each answer's discrete Laplace scale is 10: the mean of ten has sd ≈ 10·√2/√10 ≈ 4.5 people
    assert answers[0]["noise"]["count_scale"] == pytest.approx(10.0)


def test_groups_are_named_in_advance_and_the_rest_is_not_shown(op):
    set_budget(op, 10)
    out = release(op, epsilon=1.0, group_by="区县", groups=["甲", "丁", "不存在"])
    assert out["state"] == "已放行" and out["columns"] == ["区县", "count"]
    assert [r["区县"] for r in out["output"]["rows"]] == ["甲", "丁", "不存在"]  # 乙 and 丙 not asked
    assert all(r["count"] >= 0 for r in out["output"]["rows"])
    assert release(op, epsilon=1.0, group_by="区县")["reason_code"] == "privacy_groups_required"
    # numbers as filter and group values (JSON numbers) compare with the column as text
    ages = release(op, epsilon=1.0, filters={"年龄": [30, 31]}, group_by="年龄", groups=[30, 31, 32])
    assert ages["state"] == "已放行" and [r["年龄"] for r in ages["output"]["rows"]] == [30, 31, 32]


def test_contributions_are_bounded_by_declared_or_catalogue_bounds(op):
    set_budget(op, 10)
    assert release(op, "sum", epsilon=1.0, item="收入")["reason_code"] == "privacy_bounds_required"
    assert release(op, "sum", epsilon=1.0, item="收入", bounds=(10, 1))["reason_code"] == "privacy_bounds_invalid"
    with op.db.write() as s:
        s.add(QualityRule(resource_id=op.resource_id, kind="range", items=["收入"], params={"min": 0, "max": 6000},
                          created_by="steward"))
    out = release(op, "mean", epsilon=1.0, item="收入")
    assert out["state"] == "已放行" and out["noise"]["bounds"] == [0.0, 6000.0]
    assert 0 <= out["output"]["rows"][0]["mean"] <= 6000  # the mean stays within its bounds
    # identifiers are pseudonyms: nothing to sum, filter or group by
    assert release(op, "sum", epsilon=1.0, item="身份证号", bounds=(0, 1))["reason_code"] == "privacy_item"
    assert release(op, epsilon=1.0, filters={"收入": 3000})["reason_code"] == "privacy_column"


def test_the_mode_decides_which_door_is_open(op):
    # output checking (the default): no noisy releases
    assert release(op)["reason_code"] == "privacy_mode_off"
    set_budget(op, 1.0)
    # privacy budget: no SQL, whose answers would not be paid for
    run = sandbox.submit_query(op.db, op.actor(), op.auth_id, f"SELECT count(*) AS n FROM r_{op.resource_id}")
    assert run.state == "已拒绝" and run.reason_code == "privacy_mode_sql"
    assert budget(op)["epsilon_spent"] == 0
    assert release(op, "median")["reason_code"] == "privacy_statistic"
    assert release(op, epsilon=1000)["reason_code"] == "privacy_epsilon_invalid"


def test_noisy_release_and_budget_over_http(op, client):
    reviewer, operator = op.world.headers("reviewer"), op.world.headers("operator_user")
    r = client.put(f"/api/v1/operate/authorizations/{op.auth_id}/release-policy",
                   json={"mode": "隐私预算", "epsilon_total": 0.5}, headers=reviewer)
    assert r.status_code == 200 and r.json()["epsilon_remaining"] == 0.5
    assert client.put(f"/api/v1/operate/authorizations/{op.auth_id}/release-policy",
                      json={"epsilon_total": 99}, headers=operator).status_code == 403
    body = {"authorization_id": op.auth_id, "resource_id": op.resource_id, "statistic": "count", "epsilon": 0.5}
    r = client.post("/api/v1/operate/sandbox/noisy", json=body, headers=operator)
    assert r.status_code == 201 and r.json()["release_kind"] == "差分隐私", r.text
    r = client.post("/api/v1/operate/sandbox/noisy", json=body, headers=operator)
    assert r.status_code == 409 and r.json()["code"] == "privacy_budget_exhausted"
    seen = client.get(f"/api/v1/operate/authorizations/{op.auth_id}/privacy-spends", headers=operator).json()
    assert seen["total"] == 1 and seen["budget"]["epsilon_remaining"] == 0
    assert client.post("/api/v1/operate/sandbox/noisy", json=dict(body, epsilon=-1),
                       headers=operator).status_code == 422
