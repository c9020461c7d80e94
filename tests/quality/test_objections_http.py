"""/api/v1/objections and `ybz objection`: the same rules over HTTP and the CLI — problem+json
errors with stable codes, denials as 401/403/404 and never a 500."""

from __future__ import annotations

import json
from datetime import date

from typer.testing import CliRunner

from tests.factories import published
from yibenzhang.access import Actor
from yibenzhang.cli import app
from yibenzhang.quality import objections as obj_svc

BODY = {"claim": "出生日期与户籍登记不一致", "expected": "1990-03-07", "items": ["出生日期"]}


def test_http_file_answer_correct_flow(client, world):
    rid = published(world)
    consumer, steward = world.headers("consumer"), world.headers("police_steward")
    r = client.post("/api/v1/objections", json={**BODY, "resource": rid}, headers=consumer)
    assert r.status_code == 201, r.text
    oid = r.json()["id"]
    assert r.json()["state"] == "待答复" and r.json()["timeliness"] == "未到期"

    mine = client.get("/api/v1/objections?mine=true", headers=consumer).json()
    assert [o["id"] for o in mine["items"]] == [oid] and mine["total"] == 1
    org = world.orgs["police"].id
    listed = client.get(f"/api/v1/objections?org_id={org}&open=true", headers=steward).json()
    assert [o["id"] for o in listed["items"]] == [oid]
    assert client.get("/api/v1/objections?overdue=true", headers=steward).json()["total"] == 0

    r = client.post(f"/api/v1/objections/{oid}/answer", json={"answer": "accept"}, headers=steward)
    assert r.status_code == 200 and r.json()["state"] == "已受理"
    r = client.post(f"/api/v1/objections/{oid}/answer", json={"answer": "accept"}, headers=steward)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "objection_state" and "accepted" in r.json()["detail_en"]
    r = client.post(f"/api/v1/objections/{oid}/correct", json={"note": "已更正", "batch_id": None}, headers=steward)
    assert r.status_code == 200 and r.json()["state"] == "已更正" and r.json()["timeliness"] == "按时办结"
    counts = client.get("/api/v1/objections/counts", headers=steward).json()
    assert counts[str(org)]["on_time"] == 1


def test_http_denials_are_clear_and_never_500(client, world):
    closed = published(world)
    open_ = published(world, name="公共厕所位置", open_type="无条件开放")
    consumer = world.headers("consumer")
    oid = client.post("/api/v1/objections", json={**BODY, "resource": closed}, headers=consumer).json()["id"]

    assert client.post("/api/v1/objections", json={**BODY, "resource": closed}).status_code == 401
    r = client.post("/api/v1/objections", json={**BODY, "resource": closed}, headers=world.headers("citizen"))
    assert r.status_code == 404 and r.json()["code"] == "resource_not_found"
    r = client.post("/api/v1/objections", json={**BODY, "resource": open_, "items": ["姓名"]},
                    headers=world.headers("citizen"))
    assert r.status_code == 201
    r = client.get(f"/api/v1/objections/{oid}", headers=world.headers("market_steward"))
    assert r.status_code == 404 and r.json()["code"] == "objection_not_found"
    r = client.post(f"/api/v1/objections/{oid}/answer", json={"answer": "accept"}, headers=consumer)
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    r = client.post(f"/api/v1/objections/{oid}/decide", json={"decision": "uphold", "reason": "x"},
                    headers=world.headers("reviewer"))
    assert r.status_code == 409 and r.json()["code"] == "objection_state"
    r = client.post(f"/api/v1/objections/{oid}/decide", json={"decision": "uphold", "reason": "x"},
                    headers=world.headers("other_reviewer"))
    assert r.status_code == 404
    r = client.post(f"/api/v1/objections/{oid}/answer", json={"answer": "驳回"},
                    headers=world.headers("police_steward"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = client.post("/api/v1/objections", json={**BODY, "resource": closed, "items": ["学历"]}, headers=consumer)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_item"
    assert client.get("/api/v1/objections/999999", headers=consumer).status_code == 404
    assert client.post("/api/v1/objections/escalate", headers=consumer).status_code == 403
    r = client.post(f"/api/v1/objections/{oid}/withdraw", headers=consumer)
    assert r.status_code == 200 and r.json()["state"] == "已撤回"


def test_http_escalate_and_decide(client, world):
    rid = published(world)
    with world.db.write() as s:  # filed long ago: both deadlines have passed
        oid = obj_svc.file_objection(s, world.actor("consumer"), rid, claim="错", items=["姓名"],
                                     today=date(2025, 9, 26)).id
    reviewer = world.headers("reviewer")
    assert client.get(f"/api/v1/objections/{oid}", headers=reviewer).json()["state"] == "已升级"
    assert client.get("/api/v1/objections?overdue=true", headers=reviewer).json()["total"] == 1
    r = client.post("/api/v1/objections/escalate", headers=world.headers("admin"))
    assert r.status_code == 200 and r.json()["ids"] == [oid]
    r = client.post(f"/api/v1/objections/{oid}/decide", json={"decision": "dismiss", "reason": "数据无误"},
                    headers=reviewer)
    assert r.status_code == 200 and r.json()["state"] == "已裁定" and r.json()["timeliness"] == "逾期办结"


def test_cli_objection_group(world):
    rid = published(world)
    runner = CliRunner()

    def ybz(*args: str):
        return runner.invoke(app, ["objection", *args], catch_exceptions=False)

    r = ybz("file", str(rid), "--claim", "身份号码有误", "--key", "公民身份号码=110101199003071234",
            "--row", "7", "--as", "consumer", "--json")
    assert r.exit_code == 0, r.output
    oid = json.loads(r.stdout)["id"]
    r = ybz("list", "--org", str(world.orgs["police"].id), "--as", "police_steward", "--json")
    assert [o["id"] for o in json.loads(r.stdout)["items"]] == [oid]
    r = ybz("answer", str(oid), "reject", "--as", "police_steward")
    assert r.exit_code == 2 and "reason" in r.output and "必填项不能为空" in r.output
    r = ybz("answer", str(oid), "受理", "--as", "police_steward", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["state"] == "已受理"
    r = ybz("withdraw", str(oid), "--as", "police_steward", "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["error"]["code"] == "permission_denied"
    r = ybz("correct", str(oid), "--note", "已更正", "--as", "police_steward", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["state"] == "已更正"
    r = ybz("correct", str(oid), "--note", "再次", "--as", "police_steward")
    assert r.exit_code == 2 and "objection_state" in r.output and "cannot be corrected" in r.output
    r = ybz("show", str(oid), "--as", "market_steward", "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["error"]["code"] == "objection_not_found"
    assert ybz("escalate", "--json").exit_code == 0  # the platform itself may escalate
    r = ybz("counts", "--json")
    assert json.loads(r.stdout) == [{"org_id": world.orgs["police"].id, "total": 1, "open": 0, "overdue": 0,
                                     "on_time": 1, "late": 0}]
    with world.db.read() as s:
        assert obj_svc.get_objection(s, Actor.system(), oid).row_number == 7
