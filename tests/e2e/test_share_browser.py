"""In the browser: a consumer requests a conditional resource picking items, the provider's approver
approves it from the task list, the authority approves, the consumer sees the grant and its seal
verifies (on the page and through /api/v1/seals/verify); the pages are screenshotted, not blank."""

from __future__ import annotations

from tests.factories import published

from .steps import fill_login, png_is_not_blank, sign_out


def _approve(page, username: str, req_id: str) -> None:
    page.goto("/login?next=/console/share?tab=todo")
    fill_login(page, username)
    page.wait_for_url("**/console/share?tab=todo")
    row = page.locator(f"#request-{req_id}")
    assert row.is_visible()
    row.get_by_role("link", name="审批").click()
    page.wait_for_url(f"**/console/share/{req_id}")
    page.select_option("#f-decision", "批准")
    page.fill("#f-reason", "符合共享条件")
    page.click("#decide-form button[type=submit]")
    page.wait_for_url(f"**/console/share/{req_id}?done=decide")
    sign_out(page)


def test_request_approve_twice_and_verify_the_seal(page, e2e_world, tmp_path):
    rid = published(e2e_world)  # the police's, 有条件共享

    # The consumer finds the resource, picks two items and asks.
    page.goto(f"/login?next=/catalog/{rid}")
    fill_login(page, "consumer")
    page.wait_for_url(f"**/catalog/{rid}")
    page.click(f'a[href="/share/new?resource={rid}"]')
    page.wait_for_url(f"**/share/new?resource={rid}")
    page.check('input[name="items"][value="姓名"]')
    page.check('input[name="items"][value="出生日期"]')
    page.select_option("#f-mode", "接口")
    page.fill("#f-purpose", "最低生活保障资格审核")
    page.fill("#f-basis", "《社会救助暂行办法》")
    page.fill("#f-scenario", "窗口办理低保时核对申请人信息")
    page.click("#share-form button[type=submit]")
    page.wait_for_url("**/console/share/*?done=create")
    req_id = page.url.split("/console/share/")[1].split("?")[0]
    assert "待提供方审批" in page.locator("h1").inner_text()
    assert page.locator("#decide-form").count() == 0
    sign_out(page)

    _approve(page, "police_approver", req_id)
    _approve(page, "reviewer", req_id)

    # The consumer sees the grant on its list and the verified seal on the request.
    page.goto("/login?next=/console/share?tab=mine")
    fill_login(page, "consumer")
    page.wait_for_url("**/console/share?tab=mine")
    assert "已批准" in page.locator(f"#request-{req_id}").inner_text()
    grants = page.locator("#share-grants tbody tr")
    assert grants.count() == 1 and "姓名、出生日期" in grants.first.inner_text()
    page.click(f'#request-{req_id} a[href="/console/share/{req_id}"]')
    page.wait_for_url(f"**/console/share/{req_id}")
    check = page.locator("#seal-check")
    assert check.get_attribute("data-valid") == "yes" and "云岭省公安厅" in check.inner_text()
    assert "云岭省公安厅" in page.locator("#seal svg").text_content()  # the seal drawn, not raw JSON
    sealed = page.request.get(page.url.split("?")[0] + "/seal.json").json()
    assert page.request.post("/api/v1/seals/verify", data=sealed).json()["valid"] is True
    sealed["content"]["items"].append("公民身份号码")
    assert page.request.post("/api/v1/seals/verify", data=sealed).json()["valid"] is False
    shot = tmp_path / "share-request.png"
    page.screenshot(path=str(shot), full_page=True)
    assert png_is_not_blank(shot)

    page.click("#grant-link")
    page.wait_for_url("**/console/share/grants/*")
    assert "姓名、出生日期" in page.locator("#grant-items").inner_text()
    assert page.locator("#revoke-form").count() == 0  # the consumer cannot revoke its own grant
    shot = tmp_path / "share-grant.png"
    page.screenshot(path=str(shot), full_page=True)
    assert png_is_not_blank(shot)

    # One call through the grant (a resource without rows yet answers a clear error, also counted):
    # the usage page lists it and draws the chart with the vendored ECharts.
    gid = page.url.rsplit("/", 1)[1]
    r = page.request.get(f"/api/v1/grants/{gid}/rows")
    assert r.status < 500, r.text()
    page.goto("/console/share/usage")
    assert page.locator(f'#usage-summary tr[data-key="{gid}"]').count() == 1
    page.wait_for_selector('#usage-chart[data-ready="1"]')
    assert page.locator("#usage-chart canvas").count() >= 1
    shot = tmp_path / "share-usage.png"
    page.screenshot(path=str(shot), full_page=True)
    assert png_is_not_blank(shot)
