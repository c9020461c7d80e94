"""The open-data pages without a browser (both backends): apply through the form, approve in
/console/open, take the key once; file a demand; showcase and review; open plans and exports;
a signed-in member of the public objects to an open dataset's value."""

from __future__ import annotations

import io
import re


def test_apply_approve_and_take_the_key(client, opendata, signed_in):
    rid = opendata.cond
    # anonymous: the form sends the browser to sign in first
    r = client.get(f"/datasets/{rid}/apply", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    csrf = signed_in("citizen")
    form = client.get(f"/datasets/{rid}/apply")
    assert form.status_code == 200 and 'for="f-purpose"' in form.text and 'for="f-agreement"' in form.text
    bad = client.post(f"/datasets/{rid}/apply", data={"csrf_token": csrf, "purpose": "研究", "scenario": ""})
    assert bad.status_code == 422 and "须阅读并同意数据使用协议" in bad.text and "必填项不能为空" in bad.text
    ok = client.post(f"/datasets/{rid}/apply", data={"csrf_token": csrf, "purpose": "研究门诊分布",
                                                      "scenario": "公益研究", "agreement": "yes"},
                     follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"].startswith("/open/my")
    mine = client.get("/open/my").text
    app_id = int(re.search(r'id="application-(\d+)"', mine).group(1))
    assert "待审批" in mine
    again = client.post(f"/datasets/{rid}/apply", data={"csrf_token": csrf, "purpose": "x", "scenario": "y",
                                                         "agreement": "yes"})
    assert again.status_code == 409 and "已有待审批的申请" in again.text
    assert client.get(f"/open/datasets/{rid}/download.csv").status_code == 403
    client.post("/logout", data={"csrf_token": csrf})

    csrf = signed_in("police_approver")
    console = client.get("/console/open")
    assert console.status_code == 200 and f'id="application-{app_id}"' in console.text
    assert "研究门诊分布" in console.text
    detail = client.get(f"/console/open/applications/{app_id}")
    assert 'for="f-reason"' in detail.text and 'for="f-approve"' in detail.text
    missing = client.post(f"/console/open/applications/{app_id}/decide", data={"csrf_token": csrf,
                                                                              "decision": "批准", "reason": ""})
    assert missing.status_code == 422
    done = client.post(f"/console/open/applications/{app_id}/decide",
                       data={"csrf_token": csrf, "decision": "批准", "reason": "用途合规"}, follow_redirects=False)
    assert done.status_code == 303
    assert "已批准" in client.get(f"/console/open/applications/{app_id}").text
    client.post("/logout", data={"csrf_token": csrf})

    # another provider's people see nothing of it
    csrf = signed_in("market_steward")
    assert f'id="application-{app_id}"' not in client.get("/console/open?tab=all").text
    assert client.get(f"/console/open/applications/{app_id}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf})

    csrf = signed_in("citizen")
    assert client.get(f"/open/datasets/{rid}/download.csv").status_code == 200
    shown = client.post(f"/open/my/applications/{app_id}/key", data={"csrf_token": csrf})
    key = re.search(r'id="api-key-value">([^<]+)<', shown.text).group(1)
    assert client.get(f"/api/v1/open/datasets/{rid}/rows", headers={"X-API-Key": key}).status_code == 200
    assert key not in client.get("/open/my").text  # shown once


def test_demand_through_the_form_and_public_list(client, opendata, signed_in):
    assert client.get("/demands/new", follow_redirects=False).status_code == 303
    csrf = signed_in("citizen")
    page = client.get("/demands/new")
    for field in ("f-title", "f-description", "f-domain", "f-contact"):
        assert f'for="{field}"' in page.text
    bad = client.post("/demands/new", data={"csrf_token": csrf, "title": "", "description": ""})
    assert bad.status_code == 422
    r = client.post("/demands/new", data={"csrf_token": csrf, "title": "公交站点客流量按小时",
                                          "description": "用于出行研究", "domain": "公共交通",
                                          "contact": "me@example.org"}, follow_redirects=False)
    assert r.status_code == 303
    demand_id = int(r.headers["location"].split("/")[2].split("?")[0])
    assert f'href="/demands/{demand_id}"' in client.get("/open/my").text
    client.post("/logout", data={"csrf_token": csrf})
    public = client.get("/demands")
    assert public.status_code == 200 and "公交站点客流量按小时" in public.text and "待答复" in public.text
    detail = client.get(f"/demands/{demand_id}")
    assert "云岭省公安厅" in detail.text and "me@example.org" not in detail.text and "answer-form" not in detail.text
    csrf = signed_in("police_steward")
    assert f'id="demand-{demand_id}"' in client.get("/console/open").text
    assert "answer-form" in client.get(f"/demands/{demand_id}").text
    client.post(f"/demands/{demand_id}/answer", data={"csrf_token": csrf, "answer": "将于下季度开放"})
    assert "将于下季度开放" in client.get("/demands").text
    assert client.get("/demands?state=已答复").status_code == 200


def test_showcase_submit_review_list(client, opendata, signed_in):
    csrf = signed_in("citizen")
    bad = client.post("/showcase/new", data={"csrf_token": csrf, "name": "出行助手", "description": "实时客流",
                                             "url": "ftp://x", "datasets": str(opendata.closed)})
    assert bad.status_code == 422 and "不是开放数据集" in bad.text
    ok = client.post("/showcase/new", data={"csrf_token": csrf, "name": "出行助手", "description": "实时客流提示",
                                            "url": "https://example.org/app", "datasets": f"{opendata.free}"},
                     follow_redirects=False)
    assert ok.status_code == 303
    assert "出行助手" not in client.get("/showcase").text  # listed only after review
    client.post("/logout", data={"csrf_token": csrf})
    csrf = signed_in("other_reviewer")  # 石林市: not the dataset's region
    assert "出行助手" not in client.get("/console/open").text
    client.post("/logout", data={"csrf_token": csrf})
    csrf = signed_in("reviewer")
    console = client.get("/console/open").text
    entry_id = int(re.search(r'id="review-(\d+)"', console).group(1))
    client.post(f"/console/open/showcase/{entry_id}/review", data={"csrf_token": csrf, "decision": "批准"})
    listed = client.get("/showcase").text
    assert "出行助手" in listed and "公交站点客流量" in listed


def test_open_plan_kept_by_the_steward_public_and_exported(client, opendata, signed_in):
    from openpyxl import load_workbook

    w = opendata.world
    csrf = signed_in("police_steward")
    console = client.get("/console/open").text
    assert 'id="plan-form"' in console
    year = int(re.search(r'name="year" value="(\d+)"', console).group(1))
    r = client.post("/console/open/plans", data={"csrf_token": csrf, "year": year, "org_id": w.orgs["police"].id,
                                                 "resource_id": opendata.closed, "planned_quarter": "3",
                                                 "open_type": "有条件开放", "note": "脱敏后开放"},
                    follow_redirects=False)
    assert r.status_code == 303
    client.post("/console/open/plans", data={"csrf_token": csrf, "year": year, "org_id": w.orgs["police"].id,
                                              "resource_id": opendata.free, "planned_quarter": "1"})
    client.post("/logout", data={"csrf_token": csrf})
    page = client.get(f"/open-plans?year={year}&org={w.orgs['police'].id}").text
    assert "户籍人口信息" in page and "计划中" in page and "已开放" in page
    csv = client.get(f"/open-plans?year={year}&format=csv")
    assert csv.content.startswith(b"\xef\xbb\xbf") and "户籍人口信息" in csv.content.decode("utf-8-sig")
    xlsx = client.get(f"/open-plans?year={year}&format=xlsx")
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "年度" and len(rows) == 3
    cat = client.get(f"/open-plans/catalogue?org={w.orgs['police'].id}&format=csv").content.decode("utf-8-sig")
    assert "公交站点客流量" in cat and "医院门诊量统计" in cat and "户籍人口信息" not in cat
    # someone else's org: refused
    csrf = signed_in("market_steward")
    denied = client.post("/console/open/plans", data={"csrf_token": csrf, "year": year,
                                                      "org_id": w.orgs["police"].id, "title": "x",
                                                      "planned_quarter": "1"})
    assert denied.status_code == 403


def test_the_public_can_object_to_an_open_datasets_value(client, opendata, signed_in):
    csrf = signed_in("citizen")
    form = client.get(f"/objections/new?resource={opendata.free}")
    assert form.status_code == 200
    r = client.post("/objections/new", data={"csrf_token": csrf, "resource": str(opendata.free),
                                             "claim": "金马站客流量应为310", "items": "客流量"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    # not-open data stays invisible to the public
    assert client.get(f"/objections/new?resource={opendata.closed}").status_code == 404
    assert "金马站客流量应为310" in client.get("/console/objections?tab=mine").text
