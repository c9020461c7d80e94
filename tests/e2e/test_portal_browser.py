"""The open-data portal in Chromium: search with a facet, open a dataset, its preview and chart,
download CSV (UTF-8 with BOM), file a demand, apply for a conditional dataset and, as the
provider, approve it; the applicant then no longer needs to apply."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.portal.catalog_data import build_open_catalog

from .steps import sign_in


@pytest.fixture
def catalog_ids(e2e_world) -> dict[str, int]:
    return build_open_catalog(e2e_world)


def _logout(page) -> None:
    page.goto("/console")  # a citizen's /console is 我的 on the portal (issue 17), which has its own sign-out
    page.click("header .who button, #my-account button")
    page.wait_for_url("**/")


def test_portal_in_the_browser(page, catalog_ids, tmp_path):
    ids = catalog_ids
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("#stat-resources").inner_text() == "4"

    # search with a facet
    page.click("nav.main-nav a[href='/datasets']")
    page.wait_for_url("**/datasets")
    assert "共 4 个开放数据集" in page.locator("#result-total").inner_text()
    page.locator('[data-facet="open_type"] a', has_text="无条件开放").click()
    page.wait_for_url("**open_type=*")
    assert "共 2 个开放数据集" in page.locator("#result-total").inner_text()
    page.fill("#datasets-q", "学校")
    page.press("#datasets-q", "Enter")
    page.wait_for_url(re.compile(r".*q=.*"))
    expect(page.locator("#result-total")).to_contain_text("共 1 个")  # no eval: the pages' CSP forbids it
    assert page.locator(".result").count() == 1

    # open the dataset: masked preview, chart drawn from the embedded JSON
    page.locator(".result h3 a").click()
    page.wait_for_url(f"**/datasets/{ids['schools']}")
    assert "春城第一中学" in page.locator("#preview-table").inner_text()
    assert "王建国" not in page.content()
    expect(page.locator("#dataset-chart")).to_have_attribute("data-ready", "1")
    assert page.locator("#dataset-chart canvas").count() >= 1

    # download CSV: UTF-8 with a BOM, so Excel reads the Chinese text
    with page.expect_download() as info:
        page.click("#downloads a[href$='download.csv']")
    path = tmp_path / "schools.csv"
    info.value.save_as(path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert "学校名称" in text.splitlines()[0] and "春城第一中学" in text

    # a signed-in visitor files a demand
    sign_in(page, "citizen", "/demands/new")
    page.fill("#f-title", "全省体育场馆开放时间")
    page.fill("#f-description", "希望开放各地体育场馆的名称、地址和开放时间。")
    page.select_option("#f-domain", "体育")
    page.click("#demand-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/demands/\d+\?done=create"))
    assert "全省体育场馆开放时间" in page.content()

    # …and applies for a conditionally open dataset from its page
    page.goto(f"/datasets/{ids['licences']}")
    page.click("#apply")
    page.wait_for_url(f"**/datasets/{ids['licences']}/apply")
    page.fill("#f-purpose", "开发食品安全查询小程序")
    page.fill("#f-scenario", "市民查询附近食品经营者的许可状态")
    page.check("#f-agreement")
    page.click("#apply-form button[type=submit]")
    page.wait_for_url("**/open/my?done=apply*")
    _logout(page)

    # the provider approves it in the console
    sign_in(page, "market_steward", "/console/open")
    page.locator("#open-applications a.button").first.click()
    page.wait_for_url(re.compile(r".*/console/open/applications/\d+$"))
    page.check("#f-approve")
    page.fill("#f-reason", "用途合理，同意开放")
    page.click("#decide-form button[type=submit]")
    page.wait_for_url("**?done=decide")
    assert "已批准" in page.content()
    _logout(page)

    # the applicant no longer needs to apply
    sign_in(page, "citizen", f"/datasets/{ids['licences']}")
    assert page.locator("#apply").count() == 0
