"""A delivery that cannot be served, in a real browser (issue 20): the consumer asks for a file of
a grant whose every item the masking policy withholds; one worker poll later the page — still
open, refreshed by htmx, not reloaded — shows the delivery failed with its reason, and the API
says the same."""

from __future__ import annotations

import pytest

from tests.share.test_grants import issue, share_fixture  # noqa: F401  (the `share` fixture)

from .steps import fill_login


@pytest.fixture
def world(e2e_world):
    """The share fixture's world is the browser server's (SQLite) world."""
    return e2e_world


def test_a_failed_delivery_appears_on_the_open_page_after_one_worker_poll(page, share):
    from yibenzhang.jobs import Worker

    w = share.world
    gid = issue(share, mode="文件", items=["内部备注"])  # ungraded: the 共享 policy withholds it
    page.goto(f"/login?next=/console/share/grants/{gid}")
    fill_login(page, "consumer")
    page.wait_for_url(f"**/console/share/grants/{gid}")
    page.click("#delivery-form button[type=submit]")
    page.wait_for_url(f"**/console/share/grants/{gid}*")
    row = page.locator("#deliveries tbody tr").first
    assert row.get_attribute("data-status") == "queued"
    marker = page.evaluate("() => (window.__notReloaded = true)")  # lost if the page reloads

    assert Worker(w.db, run_tickers=False).run(once=True) == 1
    failed = page.locator('#deliveries tbody tr[data-status="failed"]')
    failed.wait_for(timeout=15000)  # htmx re-reads the table every 3 s while a file is queued
    assert marker and page.evaluate("() => window.__notReloaded === true")
    reason = failed.locator(".delivery-reason")
    assert "失败" in failed.inner_text() and "请提供方确认信息项分级" in reason.inner_text()
    did = failed.get_attribute("id").removeprefix("delivery-")
    api = page.request.get(f"/api/v1/deliveries/{did}").json()
    assert (api["status_en"], api["error_code"]) == ("failed", "delivery_nothing_to_serve")
    assert "confirm the items' grades" in api["reason_en"]
