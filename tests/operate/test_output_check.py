"""Human output checking (DOMAIN §7 输出检查; issue 16 item 6): flagged releases are held, a
checker at the authority approves or rejects with a reason, never the query's author, nothing
leaves before approval, and every decision is in the ledger."""

from __future__ import annotations

import json

import pytest

from yibenzhang.access import Actor, Grant
from yibenzhang.config import reset_settings
from yibenzhang.enums import Role
from yibenzhang.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yibenzhang.ledger.model import LedgerEvent
from yibenzhang.operate import output_check, privacy, run_record, sandbox
from yibenzhang.operate.model import OutputReview


def setenv(monkeypatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    reset_settings()


ROWS = "SELECT 区县, 性别 FROM {r} WHERE 区县 = '甲' LIMIT 5"
BY_COUNTY = "SELECT 区县, count(*) AS n FROM {r} GROUP BY 区县"


def submit(op, sql: str, actor: Actor | None = None):
    return sandbox.submit_query(op.db, actor or op.actor(), op.auth_id, sql.format(r=f"r_{op.resource_id}"))


def seen(op, run_id: int, who: str = "operator_user") -> dict:
    with op.db.read() as s:
        run = sandbox.get_run(s, op.actor(who), run_id)
        return sandbox.run_as_dict(run, with_output=True, for_authority=sandbox.reviews(s, op.actor(who), run))


def decide(op, run_id: int, approve: bool, reason: str = "已核对：不含可识别个人的信息", who: str = "reviewer"):
    with op.db.write() as s:
        return output_check.review_as_dict(output_check.decide(s, op.actor(who), run_id, approve=approve,
                                                               reason=reason))


def test_row_level_output_is_held_and_leaves_only_when_a_checker_approves(op):
    run = submit(op, ROWS)
    mine = seen(op, run.id)
    assert mine["state"] == "待审核" and mine["held"] and mine["output"] is None  # nothing leaves
    assert mine["review"] == {"state": "待审核", "flags": ["row_level"]}
    checker = seen(op, run.id, "reviewer")
    assert checker["output"]["rows"] and checker["columns"] == ["区县", "性别"]  # the checker sees the result
    with op.db.read() as s:
        assert [r.run_id for r in output_check.pending(s, op.actor("reviewer"))] == [run.id]
        assert output_check.pending(s, op.actor("operator_user")) == []
    decided = decide(op, run.id, approve=True)
    assert decided["state"] == "已批准" and decided["checker_id"] == op.actor("reviewer").user_id
    mine = seen(op, run.id)
    assert mine["state"] == "已放行" and len(mine["output"]["rows"]) == 5
    assert mine["review"]["state"] == "已批准" and mine["review"]["reason"] == "已核对：不含可识别个人的信息"
    with op.db.read() as s:
        event = s.query(LedgerEvent).filter_by(action="operate.output_check.decide").one()
        content = json.loads(event.content)
        assert content["decision"] == "已批准" and content["flags"] == ["row_level"]
        assert "已核对" not in event.content and len(content["reason_digest"]) == 64  # the reason stays on the row


def test_a_rejected_output_never_leaves_and_the_operator_sees_why(op):
    run = submit(op, ROWS)
    path = run_record.output_path(run)
    assert path is not None and path.exists()
    with op.db.write() as s, pytest.raises(ValidationFailed):
        output_check.decide(s, op.actor("reviewer"), run.id, approve=False, reason="  ")
    decide(op, run.id, approve=False, reason="行级明细超出授权用途")
    mine = seen(op, run.id)
    assert mine["state"] == "已拒绝" and mine["reason_code"] == "output_check_rejected"
    assert "行级明细超出授权用途" in mine["reason"] and mine["output"] is None
    assert not path.exists()  # the refused output is not kept where it could be fetched
    with op.db.write() as s, pytest.raises(Conflict):  # decided once
        output_check.decide(s, op.actor("reviewer"), run.id, approve=True, reason="改判")


def test_two_person_rule_the_checker_is_never_the_author(op):
    """A user who is both an operator and a reviewer (a mis-assigned role) cannot check their own
    query; the operator cannot check at all."""
    author = op.actor("operator_user")
    both = Actor(user_id=author.user_id, username=author.username,
                 grants=(*author.grants, Grant(Role.REVIEWER, region_path=op.actor("reviewer").reviewer_paths()[0])))
    run = submit(op, ROWS, actor=both)
    assert run.state == "待审核"
    with op.db.write() as s, pytest.raises(PermissionDenied) as err:
        output_check.decide(s, both, run.id, approve=True, reason="自审")
    assert err.value.code == "output_check_same_person"
    with op.db.write() as s, pytest.raises(PermissionDenied) as err:
        output_check.decide(s, op.actor("operator_user"), run.id, approve=True, reason="自审")
    assert err.value.code == "output_check_denied"
    with op.db.write() as s, pytest.raises(NotFound):  # someone else's org sees nothing
        output_check.decide(s, op.actor("consumer"), run.id, approve=True, reason="无关")
    assert decide(op, run.id, approve=True)["state"] == "已批准"  # another person at the authority


def test_large_tables_are_held_above_the_setting_and_not_at_it(op, monkeypatch):
    # 4 counties, 丁 (9) suppressed and 丙 secondary: 2 of 4 cells, not more than 50 %
    setenv(monkeypatch, "YBZ_RULE_SANDBOX_REVIEW_ROWS", "4")
    at = submit(op, BY_COUNTY)
    assert at.state == "已放行" and at.row_count == 4
    setenv(monkeypatch, "YBZ_RULE_SANDBOX_REVIEW_ROWS", "3")
    above = submit(op, BY_COUNTY)
    assert above.state == "待审核" and seen(op, above.id)["review"]["flags"] == ["large_table"]


def test_many_suppressed_cells_hold_the_table(op, monkeypatch):
    setenv(monkeypatch, "YBZ_RULE_SANDBOX_REVIEW_SUPPRESSED_PERCENT", "50")
    assert submit(op, BY_COUNTY).state == "已放行"  # exactly 50 %: not more
    setenv(monkeypatch, "YBZ_RULE_SANDBOX_REVIEW_SUPPRESSED_PERCENT", "49")
    run = submit(op, BY_COUNTY)
    assert run.state == "待审核" and seen(op, run.id)["review"]["flags"] == ["many_suppressed"]
    assert {c["reason"] for c in seen(op, run.id)["suppressed"]} == {"threshold", "secondary"}


def test_repeated_near_identical_queries_are_held(op, monkeypatch):
    setenv(monkeypatch, "YBZ_RULE_SANDBOX_REVIEW_REPEATS", "2")
    sql = "SELECT 区县, count(*) AS n FROM {r} WHERE 年龄 >= {a} AND 区县 IN ('甲', '乙') GROUP BY 区县"
    states = [submit(op, sql.replace("{a}", str(a))).state for a in (20, 21, 22)]
    assert states == ["已放行", "已放行", "待审核"]


def test_the_authority_can_hold_every_release_of_an_authorization(op):
    with op.db.write() as s:
        privacy.set_policy(s, op.actor("reviewer"), op.auth_id, review_all=True)
    run = submit(op, "SELECT count(*) AS n FROM {r}")
    assert run.state == "待审核" and seen(op, run.id)["review"]["flags"] == ["review_all"]
    # noisy releases too, when the authority says so
    with op.db.write() as s:
        privacy.set_policy(s, op.actor("reviewer"), op.auth_id, mode="隐私预算", epsilon_total=1)
    noisy = privacy.release(op.db, op.actor(), op.auth_id,
                            privacy.NoisyRequest(resource_id=op.resource_id, statistic="count", epsilon=0.5))
    assert noisy.state == "待审核" and seen(op, noisy.id)["output"] is None


def test_a_held_run_is_not_in_the_access_log_until_approved_nor_a_product_source(op):
    run = submit(op, ROWS)
    with op.db.read() as s:
        assert s.query(LedgerEvent).filter_by(action="data.read").count() == 0
    decide(op, run.id, approve=True)
    with op.db.read() as s:
        entry = json.loads(s.query(LedgerEvent).filter_by(action="data.read").one().content)
        assert entry["run_id"] == run.id and entry["rows"] == 5


def test_output_checking_over_http(op, client):
    operator, reviewer = op.world.headers("operator_user"), op.world.headers("reviewer")
    r = client.post("/api/v1/operate/sandbox/queries", headers=operator,
                    json={"authorization_id": op.auth_id, "sql": ROWS.format(r=f"r_{op.resource_id}")})
    assert r.status_code == 201 and r.json()["state"] == "待审核" and r.json().get("output") is None
    run_id = r.json()["id"]
    assert client.get(f"/api/v1/operate/sandbox/runs/{run_id}/output.parquet", headers=operator).status_code == 404
    assert client.get(f"/api/v1/operate/sandbox/runs/{run_id}/output.parquet", headers=reviewer).status_code == 200
    queue = client.get("/api/v1/operate/output-checks", headers=reviewer).json()
    assert [i["run_id"] for i in queue["items"]] == [run_id]
    assert client.post(f"/api/v1/operate/sandbox/runs/{run_id}/approve", headers=operator,
                       json={"reason": "我自己批"}).status_code == 403
    r = client.post(f"/api/v1/operate/sandbox/runs/{run_id}/approve", headers=reviewer, json={"reason": "可以"})
    assert r.status_code == 200 and r.json()["state"] == "已批准"
    assert client.post(f"/api/v1/operate/sandbox/runs/{run_id}/reject", headers=reviewer,
                       json={"reason": "再改"}).status_code == 409
    assert client.get(f"/api/v1/operate/sandbox/runs/{run_id}/output.parquet", headers=operator).status_code == 200
    assert client.get(f"/api/v1/operate/sandbox/runs/{run_id}/review", headers=operator).json()["state"] == "已批准"
    with op.db.read() as s:
        assert s.query(OutputReview).count() == 1
