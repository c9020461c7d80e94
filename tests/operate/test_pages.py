"""Operation console pages: the authority authorizes through the form (the term edge shown beside
the field), suspends and resumes; the operator runs released and refused queries in the sandbox."""

from __future__ import annotations

import re


def test_authorize_and_query_through_the_pages(client, op, signed_in):
    csrf = signed_in("reviewer")
    page = client.get("/console/operate")
    assert page.status_code == 200 and 'id="authorize-form"' in page.text
    assert f'id="authorization-{op.auth_id}"' in page.text
    data = {"csrf_token": csrf, "operator_org_id": str(op.world.orgs["operator"].id), "scope_kind": "场景",
            "scope": "普惠金融", "resources": f"{op.resource_id}: 区县, 收入", "purpose": "信用评估", "conditions": "",
            "starts_on": "2025-01-01", "ends_on": "2030-01-01", "fee_cap_fen": "100"}
    bad = client.post("/console/operate/new", data=data, follow_redirects=False)
    assert bad.status_code == 422 and "授权期限不能超过5年" in bad.text
    r = client.post("/console/operate/new", data={**data, "ends_on": "2029-12-31"}, follow_redirects=False)
    assert r.status_code == 303
    auth_id = int(re.search(r"/console/operate/(\d+)", r.headers["location"]).group(1))
    detail = client.get(f"/console/operate/{auth_id}").text
    assert 'id="act-form"' in detail and 'id="query-form"' not in detail and f"r_{op.resource_id}" in detail
    r = client.post(f"/console/operate/{auth_id}/suspend", data={"csrf_token": csrf, "reason": "核查"},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "暂停" in client.get(f"/console/operate/{auth_id}").text
    client.post(f"/console/operate/{auth_id}/resume", data={"csrf_token": csrf, "reason": "核查完毕"})

    client.cookies.clear()
    csrf = signed_in("operator_user")
    detail = client.get(f"/console/operate/{auth_id}").text
    assert 'id="query-form"' in detail and 'id="act-form"' not in detail
    sql = f"SELECT 区县, count(*) AS n FROM r_{op.resource_id} GROUP BY 区县 HAVING count(*) >= 10"
    r = client.post(f"/console/operate/{auth_id}/query", data={"csrf_token": csrf, "sql": sql}, follow_redirects=False)
    assert r.status_code == 303
    shown = client.get(r.headers["location"]).text
    assert 'id="run-output"' in shown and "<td>甲</td>" in shown and 'id="run-state"' in shown
    r = client.post(f"/console/operate/{auth_id}/query",
                    data={"csrf_token": csrf, "sql": "SELECT * FROM read_csv('/x')"}, follow_redirects=False)
    refused = client.get(r.headers["location"]).text
    assert 'id="run-reason"' in refused and "sql_function_forbidden" in refused
    english = client.get(r.headers["location"].replace("#run", "") + "&lang=en").text
    assert "is not allowed" in english
    r = client.post(f"/console/operate/{auth_id}/suspend", data={"csrf_token": csrf, "reason": "x"},
                    follow_redirects=False)
    assert r.status_code == 403


def test_others_do_not_see_an_authorization(client, op, signed_in):
    signed_in("consumer")
    assert f'id="authorization-{op.auth_id}"' not in client.get("/console/operate").text
    assert client.get(f"/console/operate/{op.auth_id}").status_code == 404
