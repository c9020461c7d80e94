"""In a real browser: the reviewer signs off a product's compliance checklist in the console, and
anyone opens the printable certificate, which shows it is valid and prints without its controls."""

from __future__ import annotations

from datetime import date, timedelta

from tests.assets.helpers import authorization, make_product, run
from tests.factories import published
from yibenzhang.assets import compliance, registration

from .steps import sign_off_compliance

RIGHTS = {"数据资源持有权": "云岭省公安厅", "数据加工使用权": "云岭数据运营有限公司",
          "数据产品经营权": "云岭数据运营有限公司"}


def test_reviewer_signs_off_and_certificate_prints(page, e2e_world):
    w = e2e_world
    rid = published(w)
    auth = authorization(w, rid)
    pid = make_product(w, auth, [run(w, auth, [rid])])
    with w.db.write() as s:
        compliance.submit_for_review(s, w.actor("operator_user"), pid)

    sign_off_compliance(page, pid)
    assert page.locator("#product-state").inner_text() == "合规通过"
    assert page.locator("#check-5").get_attribute("data-result") == "通过"

    day = date(2026, 3, 2)
    with w.db.write() as s:
        reg = registration.apply(s, w.actor("operator_user"), pid, rights=RIGHTS, today=day)
        registration.accept(s, w.actor("reviewer"), reg.id, today=day)
        registration.formal_check(s, w.actor("reviewer"), reg.id, today=day)
        code = registration.assign_code(s, w.actor("reviewer"), reg.id, today=day + timedelta(days=30)).code

    page.goto(f"/certificates/{code}")
    assert page.locator("#verification").get_attribute("data-valid") == "yes"
    assert page.locator("#code").inner_text() == code
    page.emulate_media(media="print")
    assert not page.locator(".no-print").is_visible()
    assert page.locator("#code").is_visible()
