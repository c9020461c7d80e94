"""A steward uploads a GBK CSV in the console, watches it to completion, reads the summary with
its reject count, and opens the quality page whose chart is drawn by the vendored ECharts."""

from __future__ import annotations

from tests.factories import published
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.quality.validators import id_check_character

from .steps import fill_login, png_is_not_blank

ROWS, BAD = 2000, 15  # 0.75 % rejected: below the hold rate, so the batch is published and assessed
WRONG_CHECK = 10


def _csv() -> bytes:
    lines = ["姓名,公民身份号码,出生日期"]
    for i in range(ROWS):
        body = f"99010219{70 + i % 30}0{1 + i % 9}1{i % 9}{i % 1000:03d}"
        born = "2023-02-30" if i < BAD else f"19{70 + i % 30}年{1 + i % 9}月1{i % 9}日"
        check = id_check_character(body)
        if BAD <= i < BAD + WRONG_CHECK:  # accepted rows whose check character is wrong: quality finds them
            check = "0" if check != "0" else "1"
        lines.append(f"张{i},{body + check},{born}")
    return ("\n".join(lines) + "\n").encode("gbk")


def test_steward_uploads_watches_progress_and_sees_quality_chart(page, e2e_world, tmp_path):
    rid = published(e2e_world, items=[
        ItemIn(name="姓名", data_type="C", length=50, required=True),
        ItemIn(name="公民身份号码", data_type="C", length=18, required=True, is_key=True),
        ItemIn(name="出生日期", data_type="D"),
    ])
    data = tmp_path / "人口.csv"
    data.write_bytes(_csv())

    page.goto(f"/login?next=/catalog/{rid}")
    fill_login(page, "police_steward")
    page.wait_for_url(f"**/catalog/{rid}")
    assert page.locator("#collection").is_visible()
    page.click("#upload-link")
    page.wait_for_url(f"**/console/resources/{rid}/upload")
    page.set_input_files("#f-file", str(data))
    page.select_option("#f-encoding", "GBK")
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if r.url.endswith("/progress") else None)
    with page.expect_navigation(url="**/console/ingests/*") as nav:
        page.click("#upload-form button[type=submit]")
    first = nav.value.text()  # the progress page as first served
    progress_url = page.url

    # htmx replaces the progress block until the ingest is done (no reload of the page).
    page.wait_for_selector("#ingest-done", timeout=60000)
    assert page.url == progress_url
    if "hx-trigger" in first:  # it was still running when the page loaded: htmx polled for the rest
        assert polls and all(u.startswith(progress_url) for u in polls)
    assert page.locator("#rows-read").inner_text() == f"{ROWS:,}"
    assert page.locator("#rows-rejected").inner_text() == str(BAD)
    assert page.locator("#rows-accepted").inner_text() == f"{ROWS - BAD:,}"
    assert page.locator("#rejects-link").is_visible()
    assert page.locator("#ingest-quality").is_visible()

    page.click("#ingest a#quality-link")
    page.wait_for_url(f"**/console/resources/{rid}/quality")
    page.wait_for_selector("#quality-chart[data-ready='1'] canvas")
    assert page.evaluate("echarts.getInstanceByDom(document.getElementById('quality-chart')) !== undefined")
    shot = tmp_path / "chart.png"
    page.locator("#quality-chart").screenshot(path=str(shot))
    assert png_is_not_blank(shot)
    failed = page.locator("#rule-results tr.failed[data-rule='format:公民身份号码'] td").nth(5).inner_text()
    assert failed == str(WRONG_CHECK)
