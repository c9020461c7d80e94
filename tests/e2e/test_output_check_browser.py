"""In the browser: the output checker's page (issue 16). The operator's row-level result is held;
the checker at the authority opens it from the authorization's held list, sees the query and the
result, approves it with a reason; the operator then sees it released. No inline script runs
(CSP): the page works with forms alone."""

from __future__ import annotations

from tests.operate.conftest import build_op

from .steps import fill_login


def test_the_checker_approves_a_held_result_in_the_browser(browser, server, e2e_world):
    op = build_op(e2e_world)
    sql = f"SELECT 区县, 性别 FROM r_{op.resource_id} WHERE 区县 = '甲' LIMIT 5"
    errors: list[str] = []

    operator = browser.new_context(base_url=server, locale="zh-CN").new_page()
    operator.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    operator.goto(f"/login?next=/console/operate/{op.auth_id}")
    fill_login(operator, "operator_user")
    operator.wait_for_url(f"**/console/operate/{op.auth_id}")
    operator.fill("#f-sql", sql)
    operator.click("#query-form button[type=submit]")
    operator.wait_for_selector("#run-held")
    assert operator.locator("#run-output").count() == 0
    run_id = operator.url.split("run=")[1].split("#")[0]

    checker = browser.new_context(base_url=server, locale="zh-CN").new_page()
    checker.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    checker.goto(f"/login?next=/console/operate/{op.auth_id}")
    fill_login(checker, "reviewer")
    checker.wait_for_url(f"**/console/operate/{op.auth_id}")
    checker.click(f"#held a[href='/console/operate/runs/{run_id}/check']")
    checker.wait_for_selector("#check-form")
    assert "甲" in checker.inner_text("#check-output") and "行级结果" in checker.inner_text("#review-flags")
    checker.fill("#f-reason", "只含区县和性别，可以放行")
    checker.click("#check-form button.primary")
    checker.wait_for_url(f"**/console/operate/{op.auth_id}?done=approve")
    assert "暂无待审核的结果" in checker.inner_text("#held")

    operator.goto(f"/console/operate/{op.auth_id}?run={run_id}")
    operator.wait_for_selector("#run-output")
    assert "甲" in operator.inner_text("#run-output")
    assert "只含区县和性别" in operator.inner_text("#run-review")
    assert not [e for e in errors if "Content Security Policy" in e], errors
    operator.context.close()
    checker.context.close()
