"""Console pages of issue 16: the authority's view of an authorization (release mode and budget,
held outputs, refusals with their real reasons), the output checker's page, the operator's noisy
release form and what the operator sees of a held, approved or rejected result."""

from __future__ import annotations


def test_held_output_checked_on_its_page_and_the_operator_sees_each_state(client, op, signed_in):
    csrf = signed_in("operator_user")
    sql = f"SELECT 区县, 性别 FROM r_{op.resource_id} WHERE 区县 = '甲' LIMIT 5"
    r = client.post(f"/console/operate/{op.auth_id}/query", data={"csrf_token": csrf, "sql": sql},
                    follow_redirects=False)
    run_page = client.get(r.headers["location"]).text
    assert 'id="run-held"' in run_page and 'id="run-output"' not in run_page and "<td>甲</td>" not in run_page
    run_id = int(r.headers["location"].split("run=")[1].split("#")[0])
    refused = client.post(f"/console/operate/{op.auth_id}/query",
                          data={"csrf_token": csrf, "sql": f"SELECT count(*) AS n FROM r_{op.resource_id} "
                                                          "WHERE CAST(区县 AS INTEGER) = 1"}, follow_redirects=False)
    mine = client.get(refused.headers["location"]).text
    assert "release_refused" in mine and "sql_runtime_error" not in mine  # the operator: one generic reason
    # the operator cannot decide, and cannot reach the checker's decision form
    assert 'id="check-form"' not in client.get(f"/console/operate/runs/{run_id}/check").text
    assert client.post(f"/console/operate/runs/{run_id}/approve", data={"csrf_token": csrf, "reason": "x"},
                       follow_redirects=False).status_code == 403

    client.cookies.clear()
    csrf = signed_in("reviewer")
    detail = client.get(f"/console/operate/{op.auth_id}").text
    assert 'id="held"' in detail and f'href="/console/operate/runs/{run_id}/check"' in detail
    assert "行级结果" in detail and 'id="policy-form"' in detail and 'id="policy-mode"' in detail
    assert "sql_runtime_error" in detail and "release_refused" not in detail  # the authority: the real reason
    check = client.get(f"/console/operate/runs/{run_id}/check").text
    assert 'id="check-form"' in check and 'id="check-output"' in check and "<td>甲</td>" in check
    assert "SELECT 区县, 性别" in check
    empty = client.post(f"/console/operate/runs/{run_id}/approve", data={"csrf_token": csrf, "reason": ""},
                        follow_redirects=False)
    assert empty.status_code == 422
    ok = client.post(f"/console/operate/runs/{run_id}/approve", data={"csrf_token": csrf, "reason": "只含区县和性别"},
                     follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"].endswith("done=approve")
    assert "已批准放行该结果" in client.get(ok.headers["location"]).text
    assert 'id="check-form"' not in client.get(f"/console/operate/runs/{run_id}/check").text

    client.cookies.clear()
    signed_in("operator_user")
    released = client.get(f"/console/operate/{op.auth_id}?run={run_id}").text
    assert 'id="run-output"' in released and "<td>甲</td>" in released and "只含区县和性别" in released


def test_the_authority_sets_a_privacy_budget_and_the_operator_spends_it(client, op, signed_in):
    csrf = signed_in("reviewer")
    r = client.post(f"/console/operate/{op.auth_id}/policy",
                    data={"csrf_token": csrf, "mode": "隐私预算", "epsilon_total": "0.3"}, follow_redirects=False)
    assert r.status_code == 303
    assert "发布方式和隐私预算已更新" in client.get(r.headers["location"]).text

    client.cookies.clear()
    csrf = signed_in("operator_user")
    detail = client.get(f"/console/operate/{op.auth_id}").text
    assert 'id="noisy-form"' in detail and 'id="query-form"' not in detail
    assert '<span id="budget-left" hidden>0.3</span>' in detail
    data = {"csrf_token": csrf, "resource_id": str(op.resource_id), "statistic": "sum", "item": "收入",
            "lower": "0", "upper": "5000", "group_by": "区县", "groups": "甲，乙", "epsilon": "0.2"}
    r = client.post(f"/console/operate/{op.auth_id}/noisy", data=data, follow_redirects=False)
    shown = client.get(r.headers["location"]).text
    assert 'id="run-noise"' in shown and 'id="run-output"' in shown and "<td>乙</td>" in shown
    assert '<span id="budget-left" hidden>0.1</span>' in shown and 'id="spends"' in shown
    r = client.post(f"/console/operate/{op.auth_id}/noisy", data=data, follow_redirects=False)
    refused = client.get(r.headers["location"]).text
    assert "privacy_budget_exhausted" in refused and "隐私预算不足" in refused
    assert client.post(f"/console/operate/{op.auth_id}/policy", data={"csrf_token": csrf, "epsilon_total": "9"},
                       follow_redirects=False).status_code == 403
