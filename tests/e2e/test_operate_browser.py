"""In the browser: the authority authorizes the operator through the console form, the operator
runs a grouped aggregate (released, table shown) and a file read (refused with its reason) in the
sandbox, the authority suspends and the query form disappears; screenshots are not blank."""

from __future__ import annotations

from tests.operate.conftest import GRADES, rows
from yibenzhang.access import Actor
from yibenzhang.catalog.model import ResourceItem
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.collect.pipeline import ingest_arrow

from .steps import fill_login, png_is_not_blank, sign_out


def test_authorize_query_and_suspend_in_the_browser(page, e2e_world, tmp_path):
    from tests.factories import published

    w = e2e_world
    types = {"年龄": "I", "收入": "N"}
    rid = published(w, name="居民收入", items=[ItemIn(name=n, data_type=types.get(n, "C")) for n in GRADES])
    ingest_arrow(w.db, Actor.system(), rid, [rows()], source={"kind": "test"})
    with w.db.write() as s:
        for item in s.query(ResourceItem).filter_by(resource_id=rid):
            item.grade = GRADES[item.name]

    page.goto("/login?next=/console/operate")
    fill_login(page, "reviewer")
    page.wait_for_url("**/console/operate")
    page.select_option("#f-scope-kind", "场景")
    page.fill("#f-scope", "普惠金融")
    page.fill("#f-resources", f"{rid}: 区县, 收入")
    page.fill("#f-purpose", "小微企业信用评估")
    page.fill("#f-starts", "2025-01-01")
    page.fill("#f-ends", "2029-12-31")
    page.fill("#f-fee", "100000")
    page.click("#authorize-form button[type=submit]")
    page.wait_for_url("**/console/operate/*?done=create")
    auth_url = page.url.split("?")[0]
    assert "有效" in page.locator("#auth-state").inner_text()
    sign_out(page)

    page.goto(f"/login?next=/{auth_url.split('/', 3)[3]}")
    fill_login(page, "operator_user")
    page.wait_for_url(auth_url)
    page.fill("#f-sql", f"SELECT 区县, count(*) AS n, avg(收入) AS a FROM r_{rid} GROUP BY 区县 HAVING count(*) >= 10")
    page.click("#query-form button[type=submit]")
    page.wait_for_url("**?run=*")
    assert "已放行" in page.locator("#run-state").inner_text()
    assert page.locator("#run-output tbody tr").count() == 3
    shot = tmp_path / "sandbox.png"
    page.screenshot(path=str(shot), full_page=True)
    assert png_is_not_blank(shot)
    page.fill("#f-sql", "SELECT * FROM read_csv('/etc/passwd')")
    page.click("#query-form button[type=submit]")
    page.wait_for_url("**?run=*")
    assert "sql_function_forbidden" in page.locator("#run-reason").inner_text()
    sign_out(page)

    page.goto(f"/login?next=/{auth_url.split('/', 3)[3]}")
    fill_login(page, "reviewer")
    page.wait_for_url(auth_url)
    page.fill("#f-reason", "核查数据产品")
    page.click("#act-form button[formaction$='/suspend']")
    page.wait_for_url("**?done=suspend")
    assert "暂停" in page.locator("#auth-state").inner_text()
    sign_out(page)

    page.goto(f"/login?next=/{auth_url.split('/', 3)[3]}")
    fill_login(page, "operator_user")
    page.wait_for_url(auth_url)
    assert page.locator("#query-form").count() == 0
