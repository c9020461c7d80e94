"""The operate API end to end: authorize over HTTP, run released and refused queries, permissions."""

from __future__ import annotations

from datetime import date

from tests.factories import PASSWORD
from yibenzhang.access import Actor
from yibenzhang.codes import make_uscc
from yibenzhang.orgs import service as orgs
from yibenzhang.orgs.service import RoleSpec

API = "/api/v1/operate"


def second_operator(op) -> dict[str, str]:
    with op.db.write() as s:
        org = orgs.create_org(s, Actor.system(), name="春城数据运营有限公司", uscc=make_uscc("91990100MA0000011"),
                              kind="授权运营机构", region_code="990100")
        orgs.create_user(s, Actor.system(), username="other_operator", display_name="other", password=PASSWORD,
                         roles=[RoleSpec("运营方", org.uscc, None)])
    return op.world.headers("other_operator")


def test_authorize_query_suspend_resume_revoke_over_http(client, op):
    reviewer, operator = op.world.headers("reviewer"), op.world.headers("operator_user")
    body = {"operator_org_id": op.world.orgs["operator"].id, "scope_kind": "scenario", "scope": "普惠金融",
            "resources": [{"resource_id": op.resource_id, "items": ["区县", "收入"]}], "purpose": "信用评估",
            "starts_on": "2025-01-01", "ends_on": "2030-01-01", "fee_cap_fen": 500000}
    refused = client.post(f"{API}/authorizations", json=body, headers=reviewer)
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "term_too_long"
    assert client.post(f"{API}/authorizations", json={**body, "ends_on": "2029-12-31"},
                       headers=operator).status_code == 403
    created = client.post(f"{API}/authorizations", json={**body, "ends_on": "2029-12-31"}, headers=reviewer)
    assert created.status_code == 201, created.text
    auth = created.json()
    assert auth["scope_kind"] == "场景" and auth["state"] == "有效" and auth["fee_cap_fen"] == 500000
    listed = client.get(f"{API}/authorizations", headers=operator).json()
    assert {a["id"] for a in listed["items"]} == {op.auth_id, auth["id"]}

    sql = f"SELECT 区县, count(*) AS n, avg(收入) AS a FROM r_{op.resource_id} GROUP BY 区县 HAVING count(*) >= 10"
    ok = client.post(f"{API}/sandbox/queries", json={"authorization_id": auth["id"], "sql": sql}, headers=operator)
    assert ok.status_code == 201, ok.text
    run = ok.json()
    assert run["state"] == "已放行" and len(run["output"]["rows"]) == 3 and len(run["output_digest"]) == 64
    parquet = client.get(f"{API}/sandbox/runs/{run['id']}/output.parquet", headers=operator)
    assert parquet.status_code == 200 and parquet.headers["x-output-digest"] == run["output_digest"]

    small = client.post(f"{API}/sandbox/queries", headers=operator, json={
        "authorization_id": auth["id"], "sql": f"SELECT 区县, count(*) AS n FROM r_{op.resource_id} GROUP BY 区县"})
    assert small.status_code == 201
    assert {c["group"][0]: c["reason"] for c in small.json()["suppressed"]} == {"丙": "secondary", "丁": "threshold"}

    failing = client.post(f"{API}/sandbox/queries", headers=operator, json={
        "authorization_id": auth["id"], "sql": f"SELECT count(*) FROM r_{op.resource_id} WHERE CAST(区县 AS INT) > 0"})
    problem = failing.json()
    assert failing.status_code == 422 and problem["code"] == "release_refused"  # the same for every data error
    assert client.get(f"{API}/sandbox/runs/{problem['run_id']}", headers=operator).json()["reason_code"] == \
        "release_refused"
    assert client.get(f"{API}/sandbox/runs/{problem['run_id']}", headers=reviewer).json()["reason_code"] == \
        "sql_runtime_error"  # the authority sees why

    bad = client.post(f"{API}/sandbox/queries", headers=operator, json={
        "authorization_id": auth["id"], "sql": "SELECT * FROM read_csv('/etc/passwd')"})
    assert bad.status_code == 422 and bad.json()["code"] == "sql_function_forbidden"

    for act, state in (("suspend", "暂停"), ("resume", "有效"), ("suspend", "暂停")):
        r = client.post(f"{API}/authorizations/{auth['id']}/{act}", json={"reason": "核查"}, headers=reviewer)
        assert r.status_code == 200 and r.json()["state"] == state
    suspended = client.post(f"{API}/sandbox/queries", json={"authorization_id": auth["id"], "sql": sql},
                            headers=operator)
    assert suspended.status_code == 409 and suspended.json()["code"] == "authorization_inactive"
    assert client.post(f"{API}/authorizations/{auth['id']}/revoke", json={"reason": "违约"},
                       headers=operator).status_code == 403
    revoked = client.post(f"{API}/authorizations/{auth['id']}/revoke", json={"reason": "违约"}, headers=reviewer)
    assert revoked.json()["state"] == "撤销"
    assert client.post(f"{API}/authorizations/{auth['id']}/resume", json={"reason": "x"},
                       headers=reviewer).status_code == 409
    again = client.post(f"{API}/sandbox/queries", json={"authorization_id": auth["id"], "sql": sql}, headers=operator)
    assert again.status_code == 409

    runs = client.get(f"{API}/authorizations/{auth['id']}/runs", headers=reviewer).json()
    assert [r["state"] for r in runs["items"]] == ["已拒绝", "已拒绝", "已拒绝", "已拒绝", "已放行", "已放行"]


def test_an_expired_authorization_refuses_queries(client, op):
    with op.db.write() as s:
        from yibenzhang.operate import authorizations as auths

        expired = auths.create_authorization(
            s, op.actor("reviewer"), operator_org_id=op.world.orgs["operator"].id, scope_kind="全域",
            resources=[{"resource_id": op.resource_id, "items": ["区县"]}], purpose="历史授权",
            starts_on=date(2020, 1, 1), ends_on=date(2020, 12, 31), fee_cap_fen=0).id
    r = client.post(f"{API}/sandbox/queries", headers=op.world.headers("operator_user"),
                    json={"authorization_id": expired, "sql": f"SELECT count(*) FROM r_{op.resource_id}"})
    assert r.status_code == 409 and r.json()["code"] == "authorization_inactive"
    assert client.get(f"{API}/authorizations/{expired}", headers=op.world.headers("operator_user")
                      ).json()["state"] == "已到期"


def test_others_cannot_query_or_read(client, op):
    sql = {"authorization_id": op.auth_id, "sql": f"SELECT count(*) FROM r_{op.resource_id}"}
    other = second_operator(op)
    assert client.post(f"{API}/sandbox/queries", json=sql, headers=other).status_code == 404
    assert client.get(f"{API}/authorizations/{op.auth_id}", headers=other).status_code == 404
    assert client.post(f"{API}/sandbox/queries", json=sql, headers=op.world.headers("reviewer")).status_code == 403
    assert client.post(f"{API}/sandbox/queries", json=sql, headers=op.world.headers("consumer")).status_code == 404
    assert client.post(f"{API}/sandbox/queries", json=sql).status_code == 401
    run = client.post(f"{API}/sandbox/queries", json=sql, headers=op.world.headers("operator_user")).json()
    assert client.get(f"{API}/sandbox/runs/{run['id']}", headers=other).status_code == 404
    assert client.get(f"{API}/sandbox/runs/{run['id']}", headers=op.world.headers("auditor")).status_code == 200
    assert client.get(f"{API}/authorizations", headers=other).json()["items"] == []
