"""Documents a person prints and files (issue 17), in Chromium: the share 审批单 and the product
registration certificate each print on one A4 page (Chromium's print-to-PDF, page.pdf) with the
seal drawn on it and without the console around it."""

from __future__ import annotations

import re
from datetime import date, timedelta

from tests.assets.helpers import authorization, make_product, run
from tests.factories import published
from yibenzhang.assets import compliance, registration
from yibenzhang.share import requests as R

from .steps import fill_login, sign_off_compliance

# The printable area of A4 with the stylesheet's 14 mm margins, in CSS pixels (96 per inch).
A4_CONTENT = {"width": round((210 - 28) / 25.4 * 96), "height": round((297 - 28) / 25.4 * 96)}


def pdf_pages(pdf: bytes) -> int:
    assert pdf.startswith(b"%PDF-")
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def _fits_one_a4_page_with_seal(page, seal_selector: str, tmp_path, name: str) -> None:
    page.set_viewport_size(A4_CONTENT)
    page.emulate_media(media="print")
    assert not page.locator("header.site").is_visible() and not page.locator(".no-print").first.is_visible()
    seal = page.locator(seal_selector)
    assert seal.is_visible()
    box = seal.bounding_box()
    height = page.evaluate("document.documentElement.scrollHeight")
    assert box["y"] + box["height"] <= height <= A4_CONTENT["height"], (box, height)
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    pdf = page.pdf(format="A4", print_background=True, path=str(tmp_path / f"{name}.pdf"))
    assert pdf_pages(pdf) == 1


def print_button_is_there(page) -> None:
    """A visible 打印 / 保存为PDF button, reached with Tab from the verification link before it,
    hidden when printing."""
    button = page.get_by_role("button", name="打印 / 保存为PDF")
    assert button.is_visible() and not button.is_disabled()
    page.locator("#verify-link").focus()
    page.keyboard.press("Tab")
    assert button.evaluate("b => b === document.activeElement")
    page.emulate_media(media="print")
    assert not button.is_visible()
    page.emulate_media(media="screen")


def test_approval_form_prints_on_one_a4_page(page, e2e_world, tmp_path):
    w = e2e_world
    rid = published(w)
    day = date(2026, 3, 2)
    with w.db.write() as s:
        req = R.create_request(s, w.actor("consumer"), rid, today=day, items=["姓名", "公民身份号码"], mode="接口",
                               purpose="低保资格审核", basis="《社会救助暂行办法》第十一条", scenario="窗口审核",
                               period_from=day, period_to=day + timedelta(days=365))
        R.decide_request(s, w.actor("police_approver"), req.id, "approve", "符合共享条件", day)
        R.decide_request(s, w.actor("reviewer"), req.id, "approve", "同意共享", day + timedelta(days=1))
        req_id = req.id

    page.goto(f"/login?next=/console/share/{req_id}")
    fill_login(page, "consumer")
    page.wait_for_url(f"**/console/share/{req_id}")
    page.click("#form-link")
    page.wait_for_url(f"**/console/share/{req_id}/form")
    assert page.locator("#form-seal-check").get_attribute("data-valid") == "yes"
    assert "云岭省公安厅" in page.locator(f"#seal-svg-{req_id}").text_content()
    decisions = page.locator("#form-decisions").inner_text()
    assert "police_approver" in decisions and "2026-03-03" in decisions
    verify_url = page.locator("#verify-link").get_attribute("href")
    print_button_is_there(page)
    _fits_one_a4_page_with_seal(page, f"#seal-svg-{req_id}", tmp_path, "approval-form")

    # The QR code's address: anyone, signed out, sees the check.
    page.emulate_media(media="screen")
    page.context.clear_cookies()
    page.goto(verify_url)
    assert page.locator("#check-result").get_attribute("data-valid") == "yes"


def test_certificate_prints_on_one_a4_page(page, e2e_world, tmp_path):
    w = e2e_world
    rid = published(w)
    auth = authorization(w, rid)
    pid = make_product(w, auth, [run(w, auth, [rid])])
    rights = {"数据资源持有权": "云岭省公安厅", "数据加工使用权": "云岭数据运营有限公司",
              "数据产品经营权": "云岭数据运营有限公司"}
    day = date(2026, 3, 2)
    with w.db.write() as s:
        compliance.submit_for_review(s, w.actor("operator_user"), pid)
    sign_off_compliance(page, pid)
    with w.db.write() as s:
        reg = registration.apply(s, w.actor("operator_user"), pid, rights=rights, today=day)
        registration.accept(s, w.actor("reviewer"), reg.id, today=day)
        registration.formal_check(s, w.actor("reviewer"), reg.id, today=day)
        code = registration.assign_code(s, w.actor("reviewer"), reg.id, today=day + timedelta(days=30)).code

    page.goto(f"/certificates/{code}")
    assert page.locator("#verification").get_attribute("data-valid") == "yes"
    assert page.locator("#certificate-seal svg.segno").count() == 0 and page.locator("figure.qr svg").count() == 1
    assert "云岭省大数据发展管理局" in page.locator("#seal-svg-cert").text_content()
    print_button_is_there(page)
    _fits_one_a4_page_with_seal(page, "#seal-svg-cert", tmp_path, "certificate")
