"""In the browser: the authority orders an audit and extends it, the handler's steward records its
people count and sees its duties; the calendar page is screenshotted, not blank."""

from __future__ import annotations

from .steps import fill_login, png_is_not_blank, sign_out


def test_order_extend_and_record_people(page, e2e_world, tmp_path):
    police = e2e_world.orgs["police"].id
    page.goto("/login?next=/console/calendar")
    fill_login(page, "reviewer")
    page.wait_for_url("**/console/calendar")
    page.fill("#fm-name", "云岭合规审计事务所")
    page.click("#firm-form button[type=submit]")
    page.wait_for_url("**/console/calendar?done=firm")
    page.select_option("#a-org", str(police))
    page.select_option("#a-kind", "ordered")
    page.fill("#a-ordered", "2025-09-01")
    page.fill("#a-basis", "省网信办责令整改")
    page.click("#audit-form button[type=submit]")
    page.wait_for_url("**/console/calendar?done=audit")
    row = page.locator("#calendar-audits tbody tr").first
    assert "责令审计" in row.inner_text()
    row.locator('input[name="due_on"]').fill("2026-06-30")
    row.locator('input[name="approver"]').fill("省网信办")
    row.locator('input[name="reason"]').fill("系统迁移")
    row.get_by_role("button", name="延期").click()
    page.wait_for_url("**/console/calendar?done=extend*")
    assert "2026-06-30" in page.locator("#calendar-audits").inner_text()
    sign_out(page)

    page.goto("/login?next=/console/calendar")
    fill_login(page, "police_steward")
    page.wait_for_url("**/console/calendar")
    page.fill("#p-people", "1000001")
    page.click("#people-form button[type=submit]")
    page.wait_for_url("**/console/calendar?done=people")
    assert "1,000,001" in page.locator("#calendar-handlers").inner_text()
    entries = page.locator("#calendar-entries").inner_text()
    assert "个人信息合规审计" in entries and "责令合规审计" in entries
    shot = tmp_path / "calendar.png"
    page.screenshot(path=str(shot), full_page=True)
    assert png_is_not_blank(shot)
