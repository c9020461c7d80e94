"""Open-data actions in Chromium, filled by their labels: apply for a conditional dataset, the
provider approves, the applicant takes the API key once and uses it (for that dataset only); a
showcase entry listed after the authority's review; the steward's open plan, public and exported."""

from __future__ import annotations

import re

import pytest

from tests.open.conftest import make_dataset
from yibenzhang import workdays

from .steps import sign_in


@pytest.fixture
def datasets(e2e_world) -> dict[str, int]:
    from yibenzhang.open import rows_api

    rows_api.LIMITER.reset()
    return {"free": make_dataset(e2e_world, name="公交站点客流量", open_type="无条件开放"),
            "cond": make_dataset(e2e_world, name="医院门诊量统计", open_type="有条件开放"),
            "cond2": make_dataset(e2e_world, name="景区游客量统计", open_type="有条件开放", rows=False)}


def _logout(page) -> None:
    page.context.clear_cookies()


def test_open_actions_in_the_browser(page, datasets, e2e_world):
    cond = datasets["cond"]
    # apply through the form, by its labels
    sign_in(page, "citizen", f"/datasets/{cond}/apply")
    page.get_by_label("用途").fill("研究门诊量的季节变化")
    page.get_by_label("应用场景").fill("公益研究，不用于商业用途")
    page.get_by_label("我已阅读并同意数据使用协议").check()
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/open/my?done=apply*")
    assert "待审批" in page.locator("#my-applications").inner_text()
    _logout(page)

    # the provider decides in /console/open, with a reason
    sign_in(page, "police_approver", "/console/open")
    assert "研究门诊量的季节变化" in page.locator("#open-applications").inner_text()
    page.get_by_role("link", name=re.compile("审批申请")).first.click()
    page.get_by_label("批准").check()
    page.get_by_label("理由").fill("用途明确，符合开放条件")
    page.get_by_role("button", name="提交决定").click()
    page.wait_for_url("**?done=decide")
    assert "已批准" in page.content()
    _logout(page)

    # the applicant takes the key: shown once, good for this dataset only
    sign_in(page, "citizen", "/open/my")
    page.get_by_role("button", name="领取API密钥").click()
    key = page.locator("#api-key-value").inner_text().strip()
    assert key.startswith("ybzo_")
    ok = page.request.get(f"/api/v1/open/datasets/{cond}/rows", headers={"X-API-Key": key})
    assert ok.status == 200 and ok.json()["rows"]
    assert page.request.get(f"/api/v1/open/datasets/{datasets['cond2']}/rows",
                            headers={"X-API-Key": key}).status == 403
    page.goto("/open/my")
    assert key not in page.content()

    # a showcase entry, reviewed by the authority, then listed
    page.goto(f"/showcase/new?dataset={datasets['free']}")
    page.get_by_label("应用名称").fill("出行助手")
    page.get_by_label("应用简介").fill("根据站点客流提示错峰出行")
    page.get_by_label("网址（可选）").fill("https://example.org/trip")
    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_url("**/open/my?done=showcase")
    _logout(page)
    sign_in(page, "reviewer", "/console/open")
    entry = page.locator("#showcase article").first
    entry.get_by_label("决定").select_option("批准")
    entry.get_by_role("button", name="提交决定").click()
    page.wait_for_url("**/console/open?done=review*")
    page.goto("/showcase")
    assert "出行助手" in page.locator("#showcase").inner_text()
    _logout(page)

    # the steward's open plan: added in the console, public and exported
    sign_in(page, "police_steward", "/console/open")
    page.get_by_label("信息资源").select_option(label="景区游客量统计")
    page.get_by_label("计划季度").select_option(label="第3季度")
    page.get_by_role("button", name="加入开放计划").click()
    page.wait_for_url("**/console/open?done=plan*")
    page.goto(f"/open-plans?year={workdays.today().year}")
    assert "景区游客量统计" in page.locator("#plan").inner_text()
    with page.expect_download() as info:
        page.get_by_role("link", name="导出XLSX").click()
    assert info.value.suggested_filename.endswith(".xlsx")
