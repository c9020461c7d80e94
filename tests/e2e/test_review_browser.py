"""The reviewer's day in the browser (issue 17), on a laptop and a phone: the queue pages and
filters, a change opened from it shows its diff against the published version, and the decision
is taken there with a reason — the queue itself offers no one-click publish. No page is wider
than the screen and none asks another host for anything."""

from __future__ import annotations

import pytest

from tests.e2e.test_offline_responsive import SCREENS, open_context, overflow
from tests.factories import published, resource_in
from yibenzhang.access import Actor
from yibenzhang.catalog import service as catalog

from .steps import sign_in


def _fill_queue(world) -> int:
    """21 first submissions (so the queue has a second page) and one change to a published resource."""
    with world.db.write() as s:
        for i in range(21):
            r = catalog.create_resource(s, Actor.system(), resource_in(world, "police", name=f"治安卡口记录{i:02d}"))
            catalog.submit_resource(s, Actor.system(), r.id)
    rid = published(world, org="market", name="企业年报信息")
    with world.db.write() as s:
        catalog.update_resource(s, Actor.system(), rid, resource_in(world, "market", name="企业年度报告信息"))
        catalog.submit_resource(s, Actor.system(), rid)
    return rid


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_queue_detail_decide(browser, server, e2e_world, screen, tmp_path):
    changed = _fill_queue(e2e_world)
    context, page, log = open_context(browser, server, SCREENS[screen])
    try:
        sign_in(page, "reviewer", "/console/review")
        assert "共22条" in page.locator("#queue-total").inner_text()
        assert page.locator("#queue tbody tr").count() == 20 and page.locator("form.action-publish").count() == 0
        assert overflow(page) == 0
        page.locator(".pager a[rel=next]").click()
        page.wait_for_url("**page=2*")
        assert page.locator("#queue tbody tr").count() == 2

        page.select_option("#f-kind", "变更")
        page.click("#queue-filters button[type=submit]")
        page.wait_for_url("**kind=*")
        assert page.locator("#queue tbody tr").count() == 1
        row = page.locator(f"#queue-{changed}")
        assert "企业年度报告信息" in row.inner_text() and "个工作日" in row.inner_text()
        row.locator("a.button").click()
        page.wait_for_url(f"**/catalog/{changed}*")

        diff = page.locator("#review-diff")
        assert "企业年报信息" in diff.locator(".old").first.inner_text()
        assert "企业年度报告信息" in diff.locator(".new").first.inner_text()
        assert overflow(page) == 0
        page.screenshot(path=str(tmp_path / f"review-{screen}.png"), full_page=True)
        page.check("#f-decision-publish")
        page.click("#review-form button[type=submit]")  # no reason: the browser keeps the form
        assert page.url.split("#")[0].endswith(f"/catalog/{changed}")
        page.fill("#f-review-reason", "名称规范化，同意发布")
        page.click("#review-form button[type=submit]")
        page.wait_for_url("**/console/review?done=publish")
        assert "信息资源已发布" in page.locator("#done").inner_text()
        assert "共21条" in page.locator("#queue-total").inner_text()
        assert overflow(page) == 0
        page.goto(f"/catalog/{changed}")
        assert "已发布" in page.locator(".resource-head .badge").inner_text()
        assert page.locator("#review-form").count() == 0
        page.goto("/console/share?tab=todo")  # the approval queue's filters fit the screen too
        assert page.locator("#share-filters").is_visible() and overflow(page) == 0
        assert log.external == []
    finally:
        context.close()
