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
    assert f'id="request-{req_id}"' in todo and 'id="share-filters"' in todo
    assert f'id="request-{req_id}"' in client.get("/console/share?tab=todo&region_code=990000&mode=接口&sort=due").text
    assert f'id="request-{req_id}"' not in client.get("/console/share?tab=todo&mode=文件").text
    assert client.get("/console/share?tab=todo&state=随便").status_code == 422
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


# --- grants, deliveries, verification, revocation and usage in the console ---------------------

from tests.share.test_grants import PROTECTED, ROWS, issue, share_fixture  # noqa: E402, F401
from yibenzhang import workdays  # noqa: E402


def test_detail_shows_the_seal_check_and_links_the_grant(client, world, signed_in):
    rid = published(world, share_type="无条件共享", share_condition=None)
    csrf = signed_in("consumer")
    data = {"csrf_token": csrf, "resource": str(rid), "items": ["姓名"], "mode": "接口", "purpose": "核对",
            "basis": "履行法定职责", "scenario": "窗口", "period_from": "2030-01-01", "period_to": "2030-12-31"}
    r = client.post("/share/new", data=data, follow_redirects=False)
    page = client.get(r.headers["location"]).text
    assert 'id="seal-check"' in page and 'data-valid="yes"' in page and "云岭省公安厅" in page
    gid = int(re.search(r'/console/share/grants/(\d+)" id="grant-link"', page).group(1))
    assert f'id="grant-{gid}"' in client.get("/console/share?tab=mine").text
    grant = client.get(f"/console/share/grants/{gid}").text
    assert "未生效" in grant and "/api/v1/grants/" not in grant  # not yet valid: nothing to use
    assert 'id="share-find"' in client.get("/console/share").text


def test_consumer_delivery_downloads_once(client, share, signed_in):
    from yibenzhang.jobs import Worker

    gid = issue(share, mode="文件", items=["姓名", "宗教信仰", "内部备注"])
    csrf = signed_in("consumer")
    page = client.get(f"/console/share/grants/{gid}").text
    assert 'id="delivery-form"' in page and "尚无交付文件" in page and 'id="revoke-form"' not in page
    r = client.post(f"/console/share/grants/{gid}/deliveries", data={"csrf_token": csrf, "format": "csv"},
                    follow_redirects=False)
    assert r.status_code == 303
    queued = client.get(f"/console/share/grants/{gid}").text
    assert "排队" in queued and 'hx-trigger="every 3s"' in queued  # htmx re-reads the table while queued
    Worker(share.world.db, run_tickers=False).run(once=True)
    page = client.get(f"/console/share/grants/{gid}").text
    assert 'hx-trigger="every 3s"' not in page
    did = int(re.search(r"/console/share/deliveries/(\d+)/download", page).group(1))
    got = client.get(f"/console/share/deliveries/{did}/download")
    assert got.status_code == 200 and got.headers["content-disposition"].endswith('.csv"')
    assert got.text.splitlines()[0] == '"姓名","宗教信仰"' and len(got.text.splitlines()) == 7
    assert not any(v in got.text for v in PROTECTED)
    again = client.get(f"/console/share/deliveries/{did}/download")
    assert again.status_code == 410 and "重新申请" in again.text and "text/html" in again.headers["content-type"]
    assert "已下载" in client.get(f"/console/share/grants/{gid}").text
    bad = client.post(f"/console/share/grants/{gid}/deliveries", data={"csrf_token": csrf, "format": "xlsx"})
    assert bad.status_code == 400 and "csv" in bad.text


def test_verification_form_answers_match_or_not_never_the_value(client, share, signed_in):
    gid = issue(share, mode="核验", items=["公民身份号码", "姓名"])
    csrf = signed_in("consumer")
    assert 'id="verify-form"' in client.get(f"/console/share/grants/{gid}").text
    form = {"csrf_token": csrf, "key_item": "公民身份号码", "key_value": ROWS["公民身份号码"][1],
            "claim.姓名": "张伟"}
    page = client.post(f"/console/share/grants/{gid}/verify", data=form)
    assert page.status_code == 200 and 'data-item="姓名" data-match="yes"' in page.text
    page = client.post(f"/console/share/grants/{gid}/verify", data={**form, "claim.姓名": "李四"})
    assert 'data-item="姓名" data-match="no"' in page.text and "张伟" not in page.text
    page = client.post(f"/console/share/grants/{gid}/verify", data={**form, "claim.姓名": ""})
    assert page.status_code == 422 and "须给出待核验的信息项" in page.text


def test_provider_revokes_from_the_console_and_sees_usage(client, share, signed_in):
    w = share.world
    gid = issue(share, items=["姓名", "行政区划代码"])
    h = w.headers("consumer")
    for params in ({}, {"filter.行政区划代码": "990101"}, {"filter.公民身份号码": "x"}):
        client.get(f"/api/v1/grants/{gid}/rows", params=params, headers=h)
    csrf = signed_in("police_approver")
    listing = client.get("/console/share").text
    assert 'id="provided-grants"' in listing and f'id="grant-{gid}"' in listing
    page = client.get(f"/console/share/grants/{gid}").text
    assert 'id="revoke-form"' in page and 'id="grant-usage-chart"' in page and "被拒绝1次" in page
    usage = client.get("/console/share/usage").text
    assert 'id="usage-summary"' in usage and 'id="usage-chart"' in usage and 'id="usage-days"' in usage
    assert f'<tr data-key="{gid}">' in usage and "<td class=\"num\">3</td>" in usage
    for by in ("resource", "org"):
        page = client.get(f"/console/share/usage?by={by}&days=7").text
        assert "云岭省市场监督管理局" in page if by == "org" else "人口基本信息" in page
    assert client.get("/console/share/usage?by=nonsense&days=x").status_code == 200
    for text in (listing, page, usage):
        # (the division codes of the world's regions are in the queue's region filter: not row values)
        assert not any(v in text for vals in ROWS.values() for v in vals if v not in ("990101", *w.regions))
    r = client.post(f"/console/share/grants/{gid}/revoke", data={"csrf_token": csrf, "reason": " "})
    assert r.status_code == 422 and "须说明理由" in r.text
    r = client.post(f"/console/share/grants/{gid}/revoke", data={"csrf_token": csrf, "reason": "职责调整"},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "已撤销" in client.get(f"/console/share/grants/{gid}").text

    client.cookies.clear()
    csrf = signed_in("consumer")
    page = client.get(f"/console/share/grants/{gid}").text
    assert "已撤销" in page and "职责调整" in page and 'id="revoke-form"' not in page
    r = client.post(f"/console/share/grants/{gid}/revoke", data={"csrf_token": csrf, "reason": "x"})
    assert r.status_code in (403, 404) and "text/html" in r.headers["content-type"]
    client.cookies.clear()
    signed_in("city_steward")
    assert client.get(f"/console/share/grants/{gid}").status_code == 404
    assert f'data-key="{gid}"' not in client.get("/console/share/usage").text


def test_overdue_steps_are_marked_on_both_sides_task_lists(client, world, signed_in):
    from datetime import timedelta

    from yibenzhang.share import requests as svc

    rid = published(world)
    with world.db.write() as s:
        late = svc.create_request(s, world.actor("consumer"), rid, items=["姓名"], mode="接口", purpose="核对",
                                  basis="履行法定职责", scenario="窗口", period_from=workdays.today(),
                                  period_to=workdays.today() + timedelta(days=30),
                                  today=workdays.today() - timedelta(days=40)).id
    signed_in("police_approver")
    todo = client.get("/console/share?tab=todo").text
    row = re.search(rf'<tr id="request-{late}" class="overdue">(.*?)</tr>', todo, re.S)
    assert row and "已逾期" in row.group(1)
    assert f'id="request-{late}"' in client.get("/console/share?tab=overdue").text
    client.cookies.clear()
    signed_in("reviewer")  # the authority may now decide the provider's step in its place
    assert f'id="request-{late}" class="overdue"' in client.get("/console/share?tab=todo").text
    assert 'id="decide-form"' in client.get(f"/console/share/{late}").text
    client.cookies.clear()
    signed_in("consumer")
    assert f'id="request-{late}" class="overdue"' in client.get("/console/share?tab=mine").text


def test_grant_and_usage_pages_in_english(client, share, signed_in):
    gid = issue(share, mode="核验", items=["公民身份号码", "姓名"])
    signed_in("consumer")
    page = client.get(f"/console/share/grants/{gid}?lang=en").text
    for text in ("share grant", "Verification", "key item", "Claimed 公民身份号码", "No calls in the last 30 days"):
        assert text in page, text
    usage = client.get("/console/share/usage?lang=en").text
    assert "Sharing usage" in usage and "by consumer org" in usage and "No calls in this period" in usage


def test_rows_preview_is_masked_and_counted(client, share, signed_in):
    gid = issue(share, items=["姓名", "宗教信仰", "内部备注"])
    signed_in("consumer")
    page = client.get(f"/console/share/grants/{gid}").text
    assert 'id="preview-link"' in page and 'id="rows-preview"' not in page
    page = client.get(f"/console/share/grants/{gid}?preview=1").text
    table = re.search(r'<table class="grid" id="rows-preview">(.*?)</table>', page, re.S).group(1)
    assert all(n in table for n in ROWS["姓名"]) and "(sm4)" in table and "内部备注" not in table
    assert "内部备注" in page.split('id="rows-preview"')[1]  # named as not shared, never its values
    assert not any(v in page for v in PROTECTED)
    assert "1次调用" in client.get(f"/console/share/grants/{gid}").text
    client.cookies.clear()
    signed_in("police_approver")  # the provider sees the grant but takes no rows through it
    assert 'id="rows-preview"' not in client.get(f"/console/share/grants/{gid}?preview=1").text


def _approved_request(client, world, signed_in) -> int:
    rid = published(world)
    csrf = signed_in("consumer")
    data = {"csrf_token": csrf, "resource": str(rid), "items": ["姓名"], "mode": "接口", "purpose": "低保资格审核",
            "basis": "履行法定职责", "scenario": "窗口审核", "period_from": "2030-01-01", "period_to": "2030-12-31"}
    r = client.post("/share/new", data=data, follow_redirects=False)
    req_id = int(re.search(r"/console/share/(\d+)", r.headers["location"]).group(1))
    for who, reason in (("police_approver", "符合共享条件"), ("reviewer", "同意共享")):
        client.cookies.clear()
        csrf = signed_in(who)
        r = client.post(f"/console/share/{req_id}/decide", data={"csrf_token": csrf, "decision": "批准",
                                                                 "reason": reason}, follow_redirects=False)
        assert r.status_code == 303
    return req_id


def test_printable_approval_form_with_seal_names_and_public_check(client, world, signed_in):
    """Issue 17: the 审批单 a person prints — decisions with who and when, the seal drawn with the
    org's name, the verification, a check code and QR code leading to a public check page."""
    req_id = _approved_request(client, world, signed_in)
    detail = client.get(f"/console/share/{req_id}").text
    assert "<pre" not in detail and "public_key" not in detail  # the seal as a seal, not JSON
    assert 'class="seal-svg"' in detail and f'href="/console/share/{req_id}/form"' in detail
    form = client.get(f"/console/share/{req_id}/form").text
    decisions = form.split('id="form-decisions"')[1].split("</table>")[0]
    assert "police_approver" in decisions and "reviewer" in decisions and "符合共享条件" in decisions
    assert "云岭省公安厅" in decisions and re.search(r"\d{4}-\d\d-\d\d", decisions)
    seal_svg = form.split('class="seal-svg"')[1].split("</svg>")[0]
    assert "云岭省公安厅" in seal_svg and "数据共享专用章" in seal_svg
    assert 'data-valid="yes"' in form and 'class="segno"' in form and "onclick" not in form
    code = re.search(r'id="check-code">([0-9a-f]{16})<', form).group(1)
    link = re.search(r'id="verify-link" href="([^"]+)"', form).group(1)
    assert link.endswith(f"/verify/share/{req_id}/{code}")

    sealed = client.get(f"/console/share/{req_id}/seal.json")
    assert sealed.headers["content-disposition"].startswith("attachment")
    assert client.post("/api/v1/seals/verify", json=sealed.json()).json()["valid"] is True

    anonymous = client.__class__(client.app)
    check = anonymous.get(f"/verify/share/{req_id}/{code}")
    assert check.status_code == 200 and 'data-valid="yes"' in check.text and "云岭省公安厅" in check.text
    assert "低保资格审核" not in check.text  # no purpose text on the public page
    assert anonymous.get(f"/verify/share/{req_id}/{'0' * 16}").status_code == 404
    assert anonymous.get(f"/console/share/{req_id}/form", follow_redirects=False).status_code in (302, 303, 401)
    client.cookies.clear()
    signed_in("citizen")
    assert client.get(f"/console/share/{req_id}/form").status_code == 404
