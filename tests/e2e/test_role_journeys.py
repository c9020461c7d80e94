"""Each role's main journey, walked in Chromium through the real pages at a laptop's (1366×768) and
a phone's (390×844) size (issue 17's acceptance): the steward, the approver and the reviewer, the
consumer, the operator and the citizen. What another role would have done first is set up through
the services; the role's own steps are clicks and forms. At every page the walk reaches, the page
is no wider than the screen (1 px of rounding allowed), and over the whole walk no request leaves
this server (Playwright's request log). Each walk ends with a full-page screenshot in tmp_path.

One server and one world for the module (each walk makes its own resources, named per screen);
one log-in per role and walk."""

from __future__ import annotations

import csv
import io
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa
import pytest

from tests.e2e.test_documents_print import print_button_is_there
from tests.e2e.test_mapping_browser import _id
from tests.e2e.test_offline_responsive import SCREENS  # laptop 1366×768, phone 390×844
from tests.factories import PASSWORD, published, resource_in
from tests.live_server import serve_app
from yibenzhang import workdays
from yibenzhang.access import Actor
from yibenzhang.catalog.schemas import ItemIn

# --------------------------------------------------------------------------- the module's server

@pytest.fixture(scope="module")
def jworld(templates, tmp_path_factory) -> Iterator[object]:
    """A copy of the test world's SQLite store for the whole module (the `home`/`sqlite_db`
    fixtures are per test; this is their module-long equivalent)."""
    from tests.conftest import TEST_SECRET, _copy_home, _open, world_copy
    from yibenzhang.config import reset_settings
    from yibenzhang.db import reset_databases
    from yibenzhang.open import downloads, rows_api
    from yibenzhang.share import grants as G
    from yibenzhang.share import service_rows

    home = tmp_path_factory.mktemp("journeys") / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("YBZ_HOME", str(home))
        mp.setenv("YBZ_SECRET_KEY", TEST_SECRET)
        mp.delenv("YBZ_ZONE", raising=False)
        _copy_home(templates.get("sqlite", True), home)
        db = _open(f"sqlite:///{home / 'ybz.sqlite3'}", mp)
        G.BUCKETS.reset()
        rows_api.LIMITER.reset()
        downloads.clear_cache()
        w = world_copy(templates, "sqlite", db)
        try:
            yield w
        finally:
            # the data service buffers usage records: write them before this database goes away
            try:
                G.USAGE.flush(db)
            finally:
                G.USAGE.discard(db)
                service_rows.clear_cache()
                downloads.clear_cache()
                reset_databases()
    reset_settings()
    reset_databases()


@pytest.fixture(scope="module")
def jserver(jworld) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    with serve_app(port) as url:
        yield url


# --------------------------------------------------------------------------- the walk

@dataclass
class Walk:
    """A role's browser at one screen size: remembers every request and every page it reached,
    and checks each page's width as the walk passes it."""

    page: object
    server: str
    width: int
    folder: Path
    requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    navigated: list[str] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)
    too_wide: dict[str, str] = field(default_factory=dict)

    def on_request(self, request) -> None:
        self.requests.append(request.url)

    def on_console(self, message) -> None:
        """A request the page's CSP stopped never reaches the request log: Chromium reports it here."""
        if message.type == "error" and "Content Security Policy" in message.text:
            self.refused.append(message.text)

    def on_navigated(self, frame) -> None:
        if frame == self.page.main_frame:
            self.navigated.append(_bare(frame.url))

    @property
    def external(self) -> list[str]:
        here = urlsplit(self.server).netloc
        return [u for u in self.requests if not u.startswith(("data:", "blob:")) and urlsplit(u).netloc != here]

    def fits(self) -> None:
        """The page now shown is no wider than the screen (a wider one is photographed)."""
        url = _bare(self.page.url)
        wide = int(self.page.evaluate("document.documentElement.scrollWidth"))
        if wide > self.width + 1:
            self.too_wide[url] = f"{wide} px, widened by {self.page.evaluate(WIDENERS, self.width)}"
            self.page.screenshot(path=str(self.folder / f"too-wide-{len(self.too_wide)}.png"), full_page=True)
        self.checked.add(url)

    def go(self, path: str) -> None:
        self.page.goto(path)
        self.fits()

    def click_to(self, selector: str, url_glob: str) -> None:
        """Click a link or a submit button and wait for the page it leads to."""
        self.page.click(selector)
        self.page.wait_for_url(url_glob)
        self.fits()

    def login(self, username: str, next_path: str) -> None:
        self.page.context.clear_cookies()
        self.go(f"/login?next={next_path}")
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.click_to("form.form button[type=submit]", f"**{next_path}*")

    def end(self, name: str) -> None:
        self.page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)
        assert self.too_wide == {}, f"pages wider than {self.width} px: {self.too_wide}; see {self.folder}"
        assert self.external == [], f"requests off this server: {self.external}"
        assert self.refused == [], f"refused by the pages' CSP: {self.refused}"
        unchecked = set(self.navigated) - self.checked
        assert not unchecked, f"pages reached but not checked: {unchecked}"


# The outermost elements that reach past the screen's right edge (what to fix when a page is too wide).
WIDENERS = """w => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > w + 1 && e.parentElement.getBoundingClientRect().right <= w + 1)
  .filter(e => { if (['absolute', 'fixed'].includes(getComputedStyle(e).position)) return true;
      for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== 'visible') return false; } return true; })
  .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
    + ' ' + Math.round(e.getBoundingClientRect().right))"""


def _bare(url: str) -> str:
    return url.split("#", 1)[0]


@pytest.fixture(scope="module")
def contexts(browser, jserver) -> Iterator[dict[str, object]]:
    """One browser context per screen size for the module, so the walks share its cache of the
    static files (each walk signs in afresh: the cookies are cleared between walks)."""
    made = {name: browser.new_context(base_url=jserver, locale="zh-CN", viewport=size, accept_downloads=True)
            for name, size in SCREENS.items()}
    yield made
    for context in made.values():
        context.close()


@pytest.fixture(params=sorted(SCREENS))
def walk(request, contexts, jserver, tmp_path) -> Iterator[Walk]:
    context = contexts[request.param]
    context.clear_cookies()
    page = context.new_page()
    page.set_default_timeout(20000)
    w = Walk(page, jserver, SCREENS[request.param]["width"], tmp_path)
    page.on("request", w.on_request)
    page.on("console", w.on_console)
    page.on("framenavigated", w.on_navigated)
    try:
        yield w
    finally:
        page.close()


def _screen(walk: Walk) -> str:
    return "手机" if walk.width < 600 else "电脑"


# --------------------------------------------------------------------------- set-ups by other roles

# name, data type, grade: the provider's confirmed grades (the consumer's journey needs them)
SHARED_ITEMS = [("姓名", "C", "一般-3级"), ("公民身份号码", "C", "一般-3级"), ("行政区划代码", "C", "一般-1级")]
SHARED_ROWS = {"姓名": ["欧阳娜娜", "张伟", "李娜", "王芳"],
               "公民身份号码": ["990101199003071234", "990101198512120018", "990102197701010011",
                          "990100200002020022"],
               "行政区划代码": ["990101", "990101", "990102", "990100"]}


def _graded_resource(w, name: str) -> int:
    """A published police resource with rows and confirmed grades."""
    from yibenzhang.catalog.model import ResourceItem
    from yibenzhang.collect.pipeline import ingest_arrow

    rid = published(w, name=name, items=[ItemIn(name=n, data_type=t, length=50, is_key=(n == "公民身份号码"))
                                         for n, t, _ in SHARED_ITEMS])
    ingest_arrow(w.db, w.actor("police_steward"), rid, [pa.RecordBatch.from_pydict(SHARED_ROWS)],
                 source={"kind": "test"})
    grades = {n: g for n, _, g in SHARED_ITEMS}
    with w.db.write() as s:
        for item in s.query(ResourceItem).filter_by(resource_id=rid):
            item.grade = grades[item.name]
    return rid


def _share_request(w, rid: int, mode: str = "接口") -> int:
    from yibenzhang.share import requests as R

    today = workdays.today()
    with w.db.write() as s:
        return R.create_request(s, w.actor("consumer"), rid, items=["姓名", "行政区划代码"], mode=mode,
                                purpose="低保资格审核", basis="《社会救助暂行办法》第十一条", scenario="窗口审核",
                                period_from=today, period_to=today + timedelta(days=365)).id


# --------------------------------------------------------------------------- the journeys

def test_steward_creates_uploads_with_mapping_confirms_grades_answers_an_objection(walk, jworld, tmp_path):
    w, page = jworld, walk.page
    name = f"低保对象名册（{_screen(walk)}）"

    walk.login("police_steward", "/console")
    assert page.locator("#todo").is_visible() and "police_steward" in page.locator("header .who").inner_text()

    # 1. Create: the catalogue form, saved and submitted.
    walk.go("/console/catalog/new")
    page.fill("#f-name", name)
    page.fill("#f-abstract", "享受最低生活保障的家庭成员名册。")
    page.select_option("#f-category_code", "101001")
    page.select_option("#f-system_id", str(w.systems["police"]))
    page.select_option("#f-library", "基础库")
    page.select_option("#f-format_kind", "数据库")
    page.select_option("#f-update_cycle", "每月")
    page.select_option("#f-share_type", "有条件共享")
    page.fill("#f-share_condition", "仅限社会救助审核使用")
    page.select_option("#f-share_method", "接口")
    page.select_option("#f-open_type", "不予开放")
    page.fill("#items-0-name", "姓名")
    page.select_option("#items-0-data_type", "字符型")
    page.check("#items-0-required")
    page.fill("#items-1-name", "公民身份号码")
    page.select_option("#items-1-data_type", "字符型")
    page.fill("#items-1-length", "18")
    page.check("#items-1-required")
    walk.click_to("button[name=action][value=save]:not(.sr)", "**/catalog/*?done=saved")
    assert "草稿" in page.locator(".resource-head .badge").inner_text()
    rid = int(page.url.split("/catalog/")[1].split("?")[0])
    walk.click_to("form.action-submit button", "**?done=submit")
    assert "待审核" in page.locator(".resource-head .badge").inner_text()

    from yibenzhang.catalog import service as catalog  # the reviewer publishes it (their journey)

    with w.db.write() as s:
        catalog.publish_resource(s, w.actor("reviewer"), rid)

    # 2. Upload a file whose columns are not the items': map them on the page.
    upload = tmp_path / "名册.csv"
    upload.write_text("XM,身份证号\n" + "".join(f"张{i},{_id(i)}\n" for i in range(12)), encoding="utf-8")
    walk.go(f"/catalog/{rid}")
    walk.click_to("#upload-link", f"**/console/resources/{rid}/upload")
    page.set_input_files("#f-file", str(upload))
    walk.click_to("#upload-form button[type=submit]", "**/console/uploads/*/mapping")
    assert page.locator("#col-0").input_value() == "姓名"  # XM: pinyin initials
    page.select_option("#col-1", "公民身份号码")
    walk.click_to("#mapping-submit", "**/console/ingests/*")
    page.wait_for_selector("#ingest-done", timeout=60000)
    assert page.locator("#rows-read").inner_text() == "12" and page.locator("#rows-rejected").inner_text() == "0"
    walk.fits()

    # 3. Confirm the grades the rules suggest.
    walk.go(f"/catalog/{rid}")
    walk.click_to("#classification-link", f"**/console/resources/{rid}/classification")
    walk.click_to("form.action-suggest button[type=submit]", "**done=suggest*")
    unconfirmed = page.locator("#classification tr[data-state='未确认'] form.action-confirm button")
    assert unconfirmed.count() == 2  # a suggestion for each item
    for _ in range(2):
        walk.click_to("#classification tr[data-state='未确认'] form.action-confirm button >> nth=0", "**done=confirm*")
    states = page.locator("#classification tbody tr").evaluate_all("rs => rs.map(r => r.dataset.state)")
    assert states and all(st == "已确认" for st in states), states
    assert page.locator("#resource-grade").inner_text() != "—"

    # 4. Answer an objection a consumer department filed.
    from yibenzhang.quality import objections

    with w.db.write() as s:
        oid = objections.file_objection(s, w.actor("consumer"), rid, claim="张3的姓名有误", items=["姓名"]).id
    walk.go("/console")
    walk.click_to("#todo-objections a", "**/console/objections*")
    row = page.locator(f"#objection-{oid}")
    assert "张3的姓名有误" in row.inner_text()
    form = row.locator(".action-answer").bounding_box()  # on the screen, not past its edge (a phone: a card)
    assert form is not None and form["x"] + form["width"] <= walk.width + 1, form
    row.locator(f"#answer-{oid}").select_option("受理")
    row.locator(f"#answer-reason-{oid}").fill("核实后更正")
    walk.click_to(f"#objection-{oid} .action-answer button[type=submit]", "**done=answer*")
    assert "已受理" in page.locator(f"#objection-{oid}").inner_text()
    walk.end("steward")


def test_approver_and_reviewer_decide_from_the_queue_and_print_the_form(walk, jworld):
    w, page = jworld, walk.page
    suffix = _screen(walk)
    rid = _graded_resource(w, f"人口基本信息（审批{suffix}）")
    req = _share_request(w, rid)
    with w.db.write() as s:  # a steward's submission waiting for the reviewer
        from yibenzhang.catalog import service as catalog

        r = catalog.create_resource(s, Actor.system(), resource_in(w, "market", name=f"企业年报（{suffix}）"))
        catalog.submit_resource(s, Actor.system(), r.id)
        submitted = r.id

    def decide(username: str, state_after: str) -> None:
        walk.login(username, "/console")
        assert int(page.locator("#todo-share-decide").get_attribute("data-count")) >= 1
        walk.click_to("#todo-share-decide a", "**/console/share*")
        walk.click_to(f"#request-{req} a.button.primary", f"**/console/share/{req}")
        assert "低保资格审核" in page.locator("main").inner_text()
        page.select_option("#f-decision", "批准")
        page.fill("#f-reason", "符合共享条件")
        walk.click_to("#decide-form button[type=submit]", f"**/console/share/{req}?done=decide")
        assert state_after in page.locator("h1").inner_text()

    decide("police_approver", "待主管部门审核")
    decide("reviewer", "已批准")

    # The 审批单: both decisions with their names, the seal verified, a print button.
    walk.click_to("#form-link", f"**/console/share/{req}/form")
    decisions = page.locator("#form-decisions").inner_text()
    assert "police_approver" in decisions and "reviewer" in decisions
    assert page.locator("#form-seal-check").get_attribute("data-valid") == "yes"
    print_button_is_there(page)

    # The reviewer's catalogue queue: open the submission, publish it there with a reason.
    walk.go("/console")
    walk.click_to("#todo-review a", "**/console/review*")
    walk.click_to(f"#queue-{submitted} a.button", f"**/catalog/{submitted}*")
    page.check("#f-decision-publish")
    page.fill("#f-review-reason", "内容完整，同意发布")
    walk.click_to("#review-form button[type=submit]", "**/console/review?done=publish")
    assert "信息资源已发布" in page.locator("#done").inner_text()
    walk.end("approver-reviewer")


def test_consumer_requests_gets_the_grant_verifies_and_takes_a_delivery(walk, jworld):
    from yibenzhang.jobs import Worker
    from yibenzhang.share import grants as G
    from yibenzhang.share import requests as R

    w, page = jworld, walk.page
    name = f"人口基本信息（共享{_screen(walk)}）"
    rid = _graded_resource(w, name)
    with w.db.write() as s:  # a 核验 grant the provider issued earlier
        check_grant = G.issue_grant(
            s, w.actor("police_approver"), request_id=None, consumer_org_id=w.orgs["market"].id, resource_id=rid,
            items=["公民身份号码", "姓名"], mode="核验", row_scope=None, valid_from=workdays.today(),
            valid_to=workdays.today() + timedelta(days=30), rate_limit_per_minute=600).id

    # 1. Request: find the resource, pick items, ask for a file.
    walk.login("consumer", "/console/share")
    page.fill("#f-share-q", name)
    walk.click_to("#share-find button[type=submit]", "**/catalog?q=*")
    walk.click_to(f".result a[href='/catalog/{rid}']", f"**/catalog/{rid}")
    walk.click_to(f'a[href="/share/new?resource={rid}"]', f"**/share/new?resource={rid}")
    page.check('input[name="items"][value="姓名"]')
    page.check('input[name="items"][value="行政区划代码"]')
    page.select_option("#f-mode", "文件")
    page.fill("#f-purpose", "最低生活保障资格审核")
    page.fill("#f-basis", "《社会救助暂行办法》")
    page.fill("#f-scenario", "按季度核对低保对象名册")
    walk.click_to("#share-form button[type=submit]", "**/console/share/*?done=create")
    req = int(page.url.split("/console/share/")[1].split("?")[0])
    assert "待提供方审批" in page.locator("h1").inner_text()

    with w.db.write() as s:  # the provider and the authority approve (their journey)
        R.decide_request(s, w.actor("police_approver"), req, "approve", "符合共享条件")
        R.decide_request(s, w.actor("reviewer"), req, "approve", "同意共享")

    # 2. The grant: on the list, with its seal verified on the request.
    walk.go("/console")
    walk.click_to("#todo-share-mine a", "**/console/share*")
    walk.click_to("a[href='/console/share?tab=mine']", "**tab=mine*")
    assert "已批准" in page.locator(f"#request-{req}").inner_text()
    walk.click_to(f"#request-{req} td:first-child a", f"**/console/share/{req}")
    assert page.locator("#seal-check").get_attribute("data-valid") == "yes"
    walk.click_to("#grant-link", "**/console/share/grants/*")
    assert page.locator("#grant-items").inner_text() == "姓名、行政区划代码"

    # 3. Delivery: asked for, produced by the worker, downloaded once.
    walk.click_to("#delivery-form button[type=submit]", "**done=delivery*")
    assert Worker(w.db, run_tickers=False).run(once=True) >= 1
    page.reload()  # (htmx would re-read the table within 3 s; the reload saves the wait)
    walk.fits()
    ready = page.locator("#deliveries a.button.primary")
    with page.expect_download() as download:
        ready.click()
    body = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(body)))
    assert "行政区划代码" in table[0] and len(table) == 1 + len(SHARED_ROWS["姓名"])
    assert "990102" in body

    # 4. 核验: a claimed name checked against the provider's record, no value returned.
    walk.go("/console/share?tab=mine")
    walk.click_to(f"#grant-{check_grant} a[href='/console/share/grants/{check_grant}']",
                  f"**/console/share/grants/{check_grant}")
    page.select_option("#f-key_item", "公民身份号码")
    page.fill("#f-key_value", SHARED_ROWS["公民身份号码"][1])
    page.fill("#verify-form input[name='claim.姓名']", "张伟")
    walk.click_to("#verify-form button[type=submit]", f"**/console/share/grants/{check_grant}/verify")
    assert page.locator("#verify-result tr[data-item='姓名']").get_attribute("data-match") == "yes"
    walk.end("consumer")


def test_operator_queries_under_the_authorization_and_makes_a_product(walk, jworld):
    from tests.operate.conftest import GRADES, make_auth, rows
    from yibenzhang.catalog.model import ResourceItem
    from yibenzhang.collect.pipeline import ingest_arrow

    w, page = jworld, walk.page
    suffix = _screen(walk)
    types = {"年龄": "I", "收入": "N"}
    rid = published(w, name=f"居民收入（{suffix}）",
                    items=[ItemIn(name=n, data_type=types.get(n, "C")) for n in GRADES])
    ingest_arrow(w.db, Actor.system(), rid, [rows()], source={"kind": "test"})
    with w.db.write() as s:
        for item in s.query(ResourceItem).filter_by(resource_id=rid):
            item.grade = GRADES[item.name]
    auth = make_auth(w, rid, ["区县", "收入"], purpose=f"小微企业信用评估（{suffix}）")

    # 1. The authorized query in the sandbox: a grouped aggregate, released.
    walk.login("operator_user", "/console")
    walk.click_to("#todo-operate a", "**/console/operate*")
    walk.click_to(f"a[href='/console/operate/{auth}']", f"**/console/operate/{auth}")
    page.fill("#f-sql", f"SELECT 区县, count(*) AS n, avg(收入) AS a FROM r_{rid} GROUP BY 区县 HAVING count(*) >= 10")
    walk.click_to("#query-form button[type=submit]", "**?run=*")
    assert "已放行" in page.locator("#run-state").inner_text()
    assert page.locator("#run-output tbody tr").count() == 3
    run = int(page.url.split("run=")[1].split("&")[0].split("#")[0])

    # 2. A product made of the released result.
    walk.go("/console/products")
    walk.click_to("a[href='/console/products/new']", "**/console/products/new")
    page.select_option("#f-authorization_id", str(auth))
    page.check(f"#run-{run}")
    page.fill("#f-name", f"区县收入结构报告（{suffix}）")
    page.fill("#f-description", "按区县统计的居民收入结构。")
    page.fill("#f-use", "小微企业信用评估")
    page.fill("#f-scenario", "银行授信参考")
    page.fill("#f-pi_consent_ref", "授权书 2026-018")  # 收入 is personal information: the consent on record
    walk.click_to("#product-form button[type=submit]", "**/console/products/*?done=create")
    assert f"区县收入结构报告（{suffix}）" in page.locator("h1").inner_text()
    pid = int(page.url.split("/console/products/")[1].split("?")[0])
    walk.click_to("#submit-review button[type=submit]", "**done=review*")
    assert page.locator("#product-state").inner_text() == "合规审查中"

    # 3. Registered once the authority signed the review off; the certificate, printable.
    from yibenzhang.assets import compliance, registration

    with w.db.write() as s:
        compliance.sign_off(s, w.actor("reviewer"), pid,
                            [{"kind": k, "verdict": "通过", "note": "经核查符合要求"} for k in (1, 2, 5, 7)])
    walk.go(f"/console/products/{pid}")
    for i, holder in enumerate(("云岭省公安厅", "云岭数据运营有限公司", "云岭数据运营有限公司")):
        page.fill(f"#f-right-{i}", holder)
    walk.click_to("#register-form button[type=submit]", "**done=register*")
    today = workdays.today()
    with w.db.write() as s:
        reg = registration.list_registrations(s, w.actor("reviewer"), product_id=pid)[0]
        registration.accept(s, w.actor("reviewer"), reg.id, today=today)
        registration.formal_check(s, w.actor("reviewer"), reg.id, today=today)
        registration.assign_code(s, w.actor("reviewer"), reg.id, today=today + timedelta(days=30))
    walk.go(f"/console/products/{pid}")
    walk.click_to("#certificate-link", "**/certificates/*")
    assert page.locator("#verification").get_attribute("data-valid") == "yes"
    assert f"区县收入结构报告（{suffix}）" in page.locator("#certificate").inner_text()
    print_button_is_there(page)
    walk.end("operator")


def test_citizen_searches_previews_downloads_applies_and_sees_mine(walk, jworld, tmp_path):
    from tests.open.conftest import make_dataset

    w, page = jworld, walk.page
    suffix = _screen(walk)
    free = make_dataset(w, name=f"公交站点客流量（{suffix}）", open_type="无条件开放")
    cond = make_dataset(w, name=f"医院门诊量统计（{suffix}）", open_type="有条件开放")

    # 1. Search, signed out.
    walk.go("/datasets")
    page.fill("#datasets-q", f"公交站点客流量（{suffix}）")
    page.press("#datasets-q", "Enter")
    page.wait_for_url("**q=*")
    walk.fits()
    result = page.locator(".result h3 a", has_text=f"公交站点客流量（{suffix}）")
    assert result.count() == 1

    # 2. Preview and download.
    walk.click_to(f".result h3 a[href='/datasets/{free}']", f"**/datasets/{free}")
    assert page.locator("#preview-table tbody tr").count() >= 1
    with page.expect_download() as download:
        page.click("#downloads a[href$='download.csv']")
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "站点名称" in raw.decode("utf-8-sig").splitlines()[0]

    # 3. Apply for a conditionally open dataset, signed in.
    walk.login("citizen", f"/datasets/{cond}")
    walk.click_to("#apply", f"**/datasets/{cond}/apply")
    page.fill("#f-purpose", "研究门诊量的季节变化")
    page.fill("#f-scenario", "公益研究，不用于商业用途")
    page.check("#f-agreement")
    walk.click_to("#apply-form button[type=submit]", "**/open/my?done=apply*")

    # 4. 我的: the application waits there.
    mine = page.locator("#my-applications").inner_text()
    assert f"医院门诊量统计（{suffix}）" in mine and "待审批" in mine
    walk.end("citizen")
