"""The steward's journey on files whose column names are not the items' (issue 15), in Chromium
at a laptop's and a phone's width: upload a department's XLSX, map its columns on the page
(pinyin initials and containment suggested, the rest chosen), see the rejects with their lines
and reasons, download the reject file from the page, fix the rows, upload them again as a GBK CSV
(the saved mapping applies, no mapping step) and see the batch published. Every refusal on the
way offers the next step."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from tests.factories import published
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.quality.validators import id_check_character

from .steps import fill_login

ROWS = 60
HEADERS = ["XM", "身份证号", "出生年月日", "家庭人口数", "经办人备注"]
# (row index, column, bad value, reject code): below the 5 % hold rate, so the batch is published
BAD = [(4, "家庭人口数", "2.5", "integer_fraction"), (17, "出生年月日", "2023-02-30", "date_nonexistent")]


def _id(i: int) -> str:
    body = f"5301021980010{1 + i % 9}{i:03d}"[:17]
    return body + id_check_character(body)


def _rows(fixed: bool) -> list[list[str]]:
    rows = [[f"张{i}", _id(i), f"1980年1月{1 + i % 28}日", str(1 + i % 6), f"第{i}户"] for i in range(ROWS)]
    if not fixed:
        for i, column, value, _code in BAD:
            rows[i][HEADERS.index(column)] = value
    return rows


def _xlsx(path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "人口"
    ws.append(HEADERS)
    for row in _rows(fixed=False):
        ws.append(row)  # every cell as text, as a department's export often is
    wb.save(path)


def _gbk_csv(path) -> None:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")  # as Excel saves "CSV (逗号分隔)" on a Chinese system
    w.writerow(HEADERS)
    w.writerows(_rows(fixed=True))
    path.write_bytes(out.getvalue().encode("gbk"))


def _fits(page) -> None:
    """Nothing makes the page wider than the screen (tables scroll inside themselves)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _upload_page(browser, server, rid: int, **context_args):
    """A steward's browser context on the resource's upload page (close the context when done)."""
    context = browser.new_context(base_url=server, locale="zh-CN", **context_args)
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(f"/login?next=/console/resources/{rid}/upload")
    fill_login(page, "police_steward")
    page.wait_for_url(f"**/console/resources/{rid}/upload")
    return context, page


@pytest.mark.parametrize("width", [1366, 390])
def test_steward_maps_columns_sees_and_downloads_rejects_then_publishes_the_fix(browser, server, e2e_world,
                                                                                  tmp_path, width):
    rid = published(e2e_world, items=[
        ItemIn(name="姓名", data_type="C", length=50, required=True),
        ItemIn(name="公民身份号码", data_type="C", length=18, required=True, is_key=True),
        ItemIn(name="出生日期", data_type="D"),
        ItemIn(name="家庭人口", data_type="I"),
    ])
    xlsx, fixed = tmp_path / "人口登记.xlsx", tmp_path / "人口登记（修正）.csv"
    _xlsx(xlsx)
    _gbk_csv(fixed)
    context, page = _upload_page(browser, server, rid, viewport={"width": width, "height": 900},
                                 accept_downloads=True)
    try:
        # 1. The XLSX: its names are not the items' → the mapping step, not an error.
        page.set_input_files("#f-file", str(xlsx))
        page.click("#upload-form button[type=submit]")
        page.wait_for_url("**/console/uploads/*/mapping")
        _fits(page)
        assert "人口登记.xlsx" in page.locator("#mapping-intro").inner_text()
        assert page.locator("#mapping tbody tr").count() == len(HEADERS)
        assert page.locator("#col-0").input_value() == "姓名"  # XM: pinyin initials
        assert page.locator("#col-3").input_value() == "家庭人口"  # 家庭人口数 contains the item
        assert page.locator("#col-1").input_value() == ""  # 身份证号: the steward chooses
        assert "公民身份号码" in page.locator("#mapping-missing").inner_text()

        # Confirming with a column still unchosen: the problem beside it, the choices kept.
        page.select_option("#col-2", "出生日期")
        page.click("#mapping-submit")
        page.wait_for_selector("#mapping-problems")
        problems = page.locator("#mapping-problems").inner_text()
        assert "身份证号" in problems and "经办人备注" in problems and "缺少必填信息项“公民身份号码”" in problems
        assert page.locator("#col-1").get_attribute("aria-invalid") == "true"
        assert page.locator("#col-2").input_value() == "出生日期"
        _fits(page)

        page.select_option("#col-1", "公民身份号码")
        page.select_option("#col-4", "-")  # not collected
        page.click("#mapping-submit")
        page.wait_for_url("**/console/ingests/*")
        page.wait_for_selector("#ingest-done", timeout=60000)
        assert page.locator("#rows-read").inner_text() == str(ROWS)
        assert page.locator("#rows-rejected").inner_text() == str(len(BAD))
        assert "已发布" in page.locator("#ingest-done").inner_text()
        _fits(page)

        # 2. The rejects on the page: the sheet's row (header is row 1), item, code, reason in Chinese.
        shown = [[c.strip() for c in r.split("\t")] for r in
                 page.locator("#rejects tbody tr").evaluate_all("rs => rs.map(r => r.innerText)")]
        expected = {(str(i + 2), {"家庭人口数": "家庭人口", "出生年月日": "出生日期"}[col], code)
                    for i, col, _v, code in BAD}
        assert {(r[0], r[1], r[2]) for r in shown} == expected
        reasons = " ".join(r[3] for r in shown)
        assert "小数" in reasons and "不存在" in reasons
        assert "2.5" not in page.locator("#rejects").inner_text()  # values only in the (ledgered) file

        # 3. The reject file from the page itself: every rejected row with its value as sent.
        with page.expect_download() as download:
            page.click("#rejects-download")
        body = download.value.path().read_bytes()
        assert body.startswith(b"\xef\xbb\xbf")
        lines = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
        assert {(r["行号"], r["代码"], r["原值"]) for r in lines} == {
            (str(i + 2), code, value) for i, _c, value, code in BAD}

        # 4. Fixed and sent again as a GBK CSV: the saved mapping applies, the batch is published.
        page.click("#reupload")
        page.wait_for_url(f"**/console/resources/{rid}/upload")
        page.set_input_files("#f-file", str(fixed))
        page.click("#upload-form button[type=submit]")
        page.wait_for_url("**/console/ingests/*")  # no mapping step the second time
        page.wait_for_selector("#ingest-done", timeout=60000)
        assert page.locator("#rows-rejected").inner_text() == "0"
        assert page.locator("#rejects").count() == 0
        source = page.locator("#ingest-source").inner_text()
        assert "GB" in source.upper()  # the detected encoding is reported (GBK is read as GB18030)
        assert "已发布" in page.locator("#ingest-done").inner_text()
        _fits(page)
        page.click("#ingest a[href$='#collection']")
        page.wait_for_url(f"**/catalog/{rid}*")
        assert page.locator("#record-count").inner_text() == str(ROWS)
    finally:
        context.close()


def test_unreadable_file_and_abandoned_mapping_offer_the_next_step(browser, server, e2e_world, tmp_path):
    rid = published(e2e_world, items=[ItemIn(name="姓名", data_type="C", required=True)])
    empty, other = tmp_path / "空.csv", tmp_path / "别的.csv"
    empty.write_bytes(b"")
    other.write_bytes("名字,年龄\r\n张三,3\r\n".encode("gbk"))
    context, page = _upload_page(browser, server, rid)
    try:
        # An empty file: the upload form again with the reason beside the file field.
        page.set_input_files("#f-file", str(empty))
        page.click("#upload-form button[type=submit]")
        page.wait_for_selector("#err-file")
        assert "文件为空" in page.locator("#err-file").inner_text()
        assert page.locator("#upload-form").is_visible()
        # A file of other columns, abandoned on the mapping step: back to the upload form.
        page.set_input_files("#f-file", str(other))
        page.click("#upload-form button[type=submit]")
        page.wait_for_url("**/console/uploads/*/mapping")
        mapping_url = page.url
        page.click("#mapping-cancel")
        page.wait_for_url(f"**/console/resources/{rid}/upload")
        # The abandoned upload is gone: its page is a 404 that still offers a way on.
        response = page.goto(mapping_url)
        assert response is not None and response.status == 404
        assert page.locator("a[href='/']").count() >= 1
    finally:
        context.close()
