"""Sharing console pages: a consumer requests through the form, the provider and the authority
decide from their task lists, the seal shows on the detail page; nav and detail links."""

from __future__ import annotations

import re

from tests.factories import published


def test_request_decide_and_seal_through_the_pages(client, world, signed_in):
    rid = published(world)
    csrf = signed_in("consumer")
    detail = client.get(f"/catalog/{rid}").text
    assert f'href="/share/new?resource={rid}"' in detail and 'href="/console/share"' in client.get("/console").text
    form = client.get(f"/share/new?resource={rid}")
    assert form.status_code == 200 and 'name="items" value="姓名"' in form.text
    data = {"csrf_token": csrf, "resource": str(rid), "items": ["姓名", "公民身份号码", "出生日期"], "mode": "接口",
            "purpose": "低保资格审核", "basis": "履行法定职责", "scenario": "窗口审核", "period_from": "2030-01-01",
            "period_to": "2030-12-31"}
    bad = client.post("/share/new", data=data, follow_redirects=False)
    assert bad.status_code == 422 and "须说明理由" in bad.text  # minimum necessary, shown in the form
    r = client.post("/share/new", data={**data, "items": ["姓名"]}, follow_redirects=False)
    assert r.status_code == 303
    req_id = int(re.search(r"/console/share/(\d+)", r.headers["location"]).group(1))
    mine = client.get("/console/share?tab=mine").text
    assert f'id="request-{req_id}"' in mine and "待提供方审批" in mine and "撤回申请" in mine
    assert 'id="decide-form"' not in client.get(f"/console/share/{req_id}").text

    client.cookies.clear()
    csrf = signed_in("police_approver")
    todo = client.get("/console/share?tab=todo").text
    assert f'id="request-{req_id}"' in todo
    page = client.get(f"/console/share/{req_id}").text
    assert 'id="decide-form"' in page and "低保资格审核" in page
    r = client.post(f"/console/share/{req_id}/decide", data={"csrf_token": csrf, "decision": "批准",
                                                             "reason": "符合条件"}, follow_redirects=False)
    assert r.status_code == 303

    client.cookies.clear()
    csrf = signed_in("reviewer")
    assert f'id="request-{req_id}"' in client.get("/console/share?tab=todo").text
    r = client.post(f"/console/share/{req_id}/decide", data={"csrf_token": csrf, "decision": "批准",
                                                             "reason": "同意"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/console/share/{req_id}").text
    assert "已批准" in page and 'id="seal"' in page and "SM2-SM3" in page

    client.cookies.clear()
    signed_in("citizen")
    assert client.get(f"/console/share/{req_id}").status_code == 404
    assert "/share/new" not in client.get(f"/catalog/{rid}").text


def test_provider_sees_no_request_link_on_its_own_resource(client, world, signed_in):
    rid = published(world)
    signed_in("police_steward")
    assert "/share/new" not in client.get(f"/catalog/{rid}").text
