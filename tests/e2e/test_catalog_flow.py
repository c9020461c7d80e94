"""A steward catalogues a resource in the browser, a reviewer publishes it, the public finds it."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.factories import published

from .steps import fill_login, png_is_not_blank, sign_out


def test_catalogue_from_form_to_public(page, e2e_world, tmp_path):
    w = e2e_world
    published(w, open_type="无条件开放")  # something to filter away with a facet

    # Anonymous → login page → back to the console.
    page.goto("/console/catalog/new")
    page.wait_for_url("**/login?next=/console/catalog/new")
    page.fill("#username", "market_steward")
    page.fill("#password", "wrong-password")
    page.click("form.form button[type=submit]")
    assert page.locator("#login-error").is_visible()
    fill_login(page, "market_steward")
    page.wait_for_url("**/console/catalog/new")
    assert "market_steward" in page.locator("header .who").inner_text()

    # Fill the edit form, leaving one item's data type empty.
    page.fill("#f-name", "企业登记信息")
    page.fill("#f-abstract", "企业设立、变更、注销登记的基本信息。")
    page.select_option("#f-category_code", "102002")
    page.select_option("#f-system_id", str(w.systems["market"]))
    page.select_option("#f-library", "基础库")
    page.select_option("#f-format_kind", "数据库")
    page.select_option("#f-update_cycle", "每日")
    page.select_option("#f-share_type", "无条件共享")
    page.select_option("#f-share_method", "接口")
    page.select_option("#f-open_type", "无条件开放")
    page.fill("#items-0-name", "统一社会信用代码")
    page.select_option("#items-0-data_type", "字符型")
    page.fill("#items-0-length", "18")
    page.check("#items-0-required")
    page.fill("#items-1-name", "企业名称")
    page.click("button[name=action][value=save]:not(.sr)")
    error = page.locator("#err-items-1-data_type")
    assert error.inner_text() == "必填项不能为空"
    assert page.locator("#items-1-name").input_value() == "企业名称"  # what was typed is kept

    # Correct it and save: the detail page shows the draft.
    page.select_option("#items-1-data_type", "字符型")
    page.click("button[name=action][value=save]:not(.sr)")
    page.wait_for_url("**/catalog/*?done=saved")
    assert "草稿" in page.locator(".resource-head .badge").inner_text()
    detail_url = page.url.split("?")[0]
    page.click("form.action-submit button")
    page.wait_for_url("**?done=submit")
    assert "待审核" in page.locator(".resource-head .badge").inner_text()
    sign_out(page)

    # The reviewer opens it from the queue and publishes it there, with a reason.
    page.goto("/login?next=/console/review")
    fill_login(page, "reviewer")
    page.wait_for_url("**/console/review")
    row = page.locator("#queue tr", has_text="企业登记信息")
    row.locator("a.button").click()
    page.check("#f-decision-publish")
    page.fill("#f-review-reason", "内容完整，同意发布")
    page.click("#review-form button[type=submit]")
    page.wait_for_url("**/console/review?done=publish")
    assert page.locator("#queue", has_text="企业登记信息").count() == 0
    sign_out(page)

    # The public searches, narrows with a facet and opens it.
    page.fill("#site-q", "企业登记")
    page.press("#site-q", "Enter")
    page.wait_for_url("**/catalog?q=*")
    assert page.locator(".result", has_text="企业登记信息").count() == 1
    page.goto("/catalog")
    assert "共 2 条" in page.locator("#result-total").inner_text()
    page.locator('[data-facet="share_type"] a', has_text="无条件共享").click()
    page.wait_for_url("**share_type=*")
    assert "共 1 条" in page.locator("#result-total").inner_text()
    # htmx: typing updates the results without a page load
    page.fill("#catalog-q", "不存在的资源名称")
    expect(page.locator("#result-total")).to_contain_text("共 0 条")  # no eval: the pages' CSP forbids it
    page.fill("#catalog-q", "企业")
    expect(page.locator("#result-total")).to_contain_text("共 1 条")  # no eval: the pages' CSP forbids it
    page.locator(".result a", has_text="企业登记信息").click()
    page.wait_for_url(detail_url)
    assert "已发布" in page.locator(".resource-head .badge").inner_text()
    assert page.locator("#items").inner_text().count("字符型") == 2

    shot = tmp_path / "detail.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert png_is_not_blank(shot)


def test_language_switch_in_the_browser(page):
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.click("nav.lang a[lang=en]")
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto("/catalog")  # the cookie keeps the choice
    assert page.locator("h1").inner_text() == "Catalogue"
