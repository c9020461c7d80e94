"""`ybz share …` (both backends): a conditional request decided from the command line by the
provider and the authority, the grants and usage each side sees, revocation, seal verification from
a file and from stdin, and exit 2 with zh + en messages on bad input."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from tests.factories import published
from yibenzhang import workdays
from yibenzhang.cli import app
from yibenzhang.share import requests as svc

TODAY = workdays.today()


def _request(world, rid: int, who: str = "consumer") -> int:
    with world.db.write() as s:
        req = svc.create_request(s, world.actor(who), rid, items=["姓名"], mode="接口", purpose="低保审核",
                                 basis="履行法定职责", scenario="窗口审核", period_from=TODAY,
                                 period_to=TODAY + timedelta(days=30))
        return req.id


def test_share_commands(world, tmp_path):
    rid = published(world)
    req = _request(world, rid)
    runner = CliRunner()

    def ybz(*args: str, stdin: str | None = None):
        return runner.invoke(app, ["share", *args], input=stdin, catch_exceptions=False)

    def out(r):
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    mine = out(ybz("requests", "--view", "mine", "--as", "consumer", "--json"))
    assert [x["id"] for x in mine["items"]] == [req] and mine["items"][0]["state"] == "待提供方审批"
    todo = out(ybz("requests", "--view", "to_decide", "--as", "police_approver", "--json"))
    assert [x["id"] for x in todo["items"]] == [req]
    assert out(ybz("requests", "--view", "to_decide", "--as", "reviewer", "--json"))["total"] == 0
    table = ybz("requests", "--as", "police_approver")
    assert table.exit_code == 0 and "待提供方审批" in table.stdout

    r = ybz("requests", "--view", "everything", "--as", "consumer")
    assert r.exit_code == 2 and "unknown_value" in r.output and "Unknown value" in r.output
    r = ybz("decide", str(req), "maybe", "--reason", "x", "--as", "police_approver", "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["error"]["code"] == "validation_failed"
    r = ybz("decide", str(req), "approve", "--as", "police_approver")  # --reason is required
    assert r.exit_code == 2
    r = ybz("decide", str(req), "approve", "--reason", "同意", "--as", "consumer", "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["error"]["code"] == "share_decide_denied"
    r = ybz("show", str(req), "--as", "citizen", "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["error"]["code"] == "share_request_not_found"

    assert out(ybz("decide", str(req), "approve", "--reason", "符合条件", "--as", "police_approver",
                   "--json"))["state"] == "待主管部门审核"
    done = out(ybz("decide", str(req), "批准", "--reason", "同意", "--as", "reviewer", "--json"))
    assert done["state"] == "已批准" and done["grant_id"]
    gid = done["grant_id"]
    shown = ybz("show", str(req), "--as", "consumer", "--json")
    assert out(shown)["seal"]["seal"]["algorithm"] == "SM2-SM3"

    # seals: the request as printed, the bare sealed document, stdin; a changed one fails with exit 1
    (tmp_path / "request.json").write_text(shown.stdout, encoding="utf-8")
    assert out(ybz("verify-seal", str(tmp_path / "request.json"), "--json"))["valid"] is True
    sealed = json.loads(shown.stdout)["seal"]
    r = ybz("verify-seal", "-", stdin=json.dumps(sealed, ensure_ascii=False))
    assert r.exit_code == 0 and "云岭省公安厅" in r.stdout
    sealed["content"]["items"] = ["姓名", "公民身份号码"]
    r = ybz("verify-seal", "-", "--json", stdin=json.dumps(sealed, ensure_ascii=False))
    assert r.exit_code == 1 and json.loads(r.stdout) == {"valid": False, "reason": "signature_mismatch",
                                                         "org_uscc": sealed["seal"]["org_uscc"],
                                                         "org_name": "云岭省公安厅"}
    (tmp_path / "junk.json").write_text("{not json", encoding="utf-8")
    assert ybz("verify-seal", str(tmp_path / "junk.json")).exit_code == 2
    assert ybz("verify-seal", str(tmp_path / "missing.json")).exit_code == 2

    # grants: the consumer's own, the provider's side; others see none
    assert [g["id"] for g in out(ybz("grants", "--as", "consumer", "--json"))] == [gid]
    assert [g["id"] for g in out(ybz("grants", "--resource", str(rid), "--as", "police_steward", "--json"))] == [gid]
    assert out(ybz("grants", "--as", "city_steward", "--json")) == []
    table = ybz("grants", "--as", "consumer")
    assert table.exit_code == 0 and "有效" in table.stdout

    usage = out(ybz("usage", "--as", "consumer", "--json"))
    assert usage["calls"] == 0 and [g["grant_id"] for g in usage["grants"]] == [gid]
    assert ybz("usage", "--as", "police_approver").exit_code == 0

    r = ybz("revoke", str(gid), "--reason", "  ", "--as", "police_approver", "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["error"]["errors"][0]["code"] == "reason_required"
    r = ybz("revoke", str(gid), "--reason", "不再需要", "--as", "consumer", "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["error"]["code"] == "permission_denied"
    revoked = out(ybz("revoke", str(gid), "--reason", "职责调整", "--as", "police_approver", "--json"))
    assert revoked["status"] == "已撤销"
    r = ybz("revoke", str(gid), "--reason", "再次", "--as", "police_approver")
    assert r.exit_code == 2 and "grant_revoked" in r.output and "has been revoked" in r.output
    assert ybz("revoke", "999", "--reason", "x", "--as", "police_approver").exit_code == 2

    # withdraw (the consumer org only, while pending) and escalate (the platform or an admin)
    other = _request(world, rid)
    r = ybz("withdraw", str(other), "--as", "police_approver", "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["error"]["code"] == "share_withdraw_denied"
    assert out(ybz("withdraw", str(other), "--as", "market_steward", "--json"))["state"] == "已撤回"
    r = ybz("withdraw", str(other), "--as", "consumer")
    assert r.exit_code == 2 and "share_request_state" in r.output
    assert out(ybz("escalate", "--json"))["escalated"] == 0
    assert ybz("escalate", "--as", "consumer", "--json").exit_code == 2
