"""The web pages through the real app: languages, login and CSRF, catalogue pages, permissions."""

from __future__ import annotations

import re
from pathlib import Path

from tests.factories import published
from tests.web.conftest import login
from yibenzhang.deps import SESSION_COOKIE
from yibenzhang.i18n import EN
from yibenzhang.ledger import service as ledger

OPEN = {"open_type": "无条件开放"}


def test_portal_renders_in_chinese_and_english(client, world):
    rid = published(world, **OPEN)
    zh = client.get("/")
    assert zh.status_code == 200
    assert '<html lang="zh-CN">' in zh.text and "资源目录" in zh.text
    en = client.get("/?lang=en")
    assert '<html lang="en">' in en.text and "Catalogue" in en.text and "资源目录" not in en.text
    assert en.cookies.get("ybz_lang") == "en"
    # The cookie keeps the language; enumeration values are translated too.
    detail = client.get(f"/catalog/{rid}")
    assert "open unconditionally" in detail.text and "daily" in detail.text
    assert "<code>C</code> character" in detail.text  # item type with its letter code
    back = client.get(f"/catalog/{rid}?lang=zh")
    assert "无条件开放" in back.text and "每日" in back.text


def test_anonymous_console_is_sent_to_login(client, world):
    for path in ("/console", "/console/catalog", "/console/catalog/new", "/console/review", "/console/ledger"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"] == f"/login?next={path}"


def test_login_sets_a_safe_cookie_and_records_the_ledger(client, world):
    r = login(client, "police_steward")
    assert r.status_code == 303 and r.headers["location"] == "/console"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    page = client.get("/console")
    assert "police_steward" in page.text and "数据专员" in page.text
    with world.db.read() as s:
        last = ledger.events_for(s, "user", world.users["police_steward"])[-1]
        assert last.action == "web.login"
        assert "correct-horse" not in last.content


def test_wrong_password_and_unknown_user_get_the_same_message(client, world):
    wrong = login(client, "police_steward", "not-the-password")
    unknown = login(client, "nobody-here", "not-the-password")
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert "用户名或密码错误" in r.text
        assert SESSION_COOKIE not in r.cookies
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_login_form_needs_its_csrf_token(client, world):
    client.get("/login")
    r = client.post("/login", data={"username": "police_steward", "password": "correct-horse-9",
                                    "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403 and "csrf_failed" in r.text


def test_posts_without_a_valid_csrf_token_are_refused(client, world, signed_in):
    token = signed_in("police_steward")
    for data in ({}, {"csrf_token": "wrong"}):
        r = client.post("/logout", data=data, follow_redirects=False)
        assert r.status_code == 403 and "csrf_failed" in r.text
        assert "表单已过期" in r.text
    # htmx sends the token as a header.
    r = client.post("/logout", headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/console", follow_redirects=False).status_code == 303
    with world.db.read() as s:
        assert ledger.events_for(s, "user", world.users["police_steward"])[-1].action == "web.logout"


def test_next_is_only_followed_to_local_paths(client, world):
    page = client.get("/login?next=//evil.example/x")
    assert 'name="next" value="/console"' in page.text


def test_steward_cannot_edit_another_orgs_resource(client, world, signed_in):
    rid = published(world)  # police's, published: visible to other government users
    with world.db.write() as s:
        from tests.factories import resource_in
        from yibenzhang.access import Actor
        from yibenzhang.catalog import service

        draft = service.create_resource(s, Actor.system(), resource_in(world, name="公安草稿")).id
    signed_in("market_steward")
    assert client.get(f"/console/catalog/{rid}/edit").status_code == 403
    assert client.get(f"/console/catalog/{draft}/edit").status_code == 404  # invisible: not revealed
    detail = client.get(f"/catalog/{rid}")
    assert detail.status_code == 200 and f"/console/catalog/{rid}/edit" not in detail.text


def _form(world, csrf: str, **over: str) -> dict[str, str]:
    data = {
        "csrf_token": csrf, "name": "企业登记信息", "abstract": "企业登记的基本信息。",
        "org_id": str(world.orgs["market"].id), "category_code": "102002", "library": "基础库",
        "format_kind": "数据库", "system_id": str(world.systems["market"]), "share_type": "无条件共享",
        "share_method": "接口", "open_type": "无条件开放", "update_cycle": "每日", "item_rows": "3",
        "items.0.name": "统一社会信用代码", "items.0.data_type": "字符型", "items.0.length": "18",
        "items.0.required": "1", "items.1.name": "企业名称", "items.1.data_type": "字符型",
        "items.2.name": "", "items.2.data_type": "",
    }
    data.update(over)
    return data


def test_validation_errors_are_shown_next_to_their_fields(client, world, signed_in):
    csrf = signed_in("market_steward")
    r = client.post("/console/catalog/new", data=_form(world, csrf, name="", **{
        "items.1.data_type": "", "items.0.length": "-3", "record_count": "many"}))
    assert r.status_code == 422
    html = r.text
    for field in ("name", "items-1-data_type", "items-0-length", "record_count"):
        assert f'id="err-{field}"' in html, field
    # the message sits right after its own input
    name_block = html[html.index('id="f-name"'):html.index('id="f-abstract"')]
    assert "必填项不能为空" in name_block
    assert "长度必须是正整数" in html[html.index('id="items-0-length"'):html.index('id="items-0-enumeration"')]
    assert 'value="企业名称"' in html  # what was typed stays
    en = client.post("/console/catalog/new?lang=en", data=_form(world, csrf, name=""))
    assert "This field is required" in en.text


def test_more_rows_and_remove_without_javascript(client, world, signed_in):
    csrf = signed_in("market_steward")
    r = client.post("/console/catalog/new", data=_form(world, csrf, action="more_rows"))
    assert r.status_code == 200
    assert 'name="item_rows" value="7"' in r.text  # 2 filled rows + 5 blank
    r = client.post("/console/catalog/new", data=_form(world, csrf, **{"items.1.remove": "1"}),
                    follow_redirects=False)
    assert r.status_code == 303
    detail = client.get(r.headers["location"])
    assert "统一社会信用代码" in detail.text and "企业名称" not in detail.text.split('id="items"')[1]


def test_steward_creates_submits_and_reviewer_publishes(client, world, signed_in):
    csrf = signed_in("market_steward")
    r = client.post("/console/catalog/new", data=_form(world, csrf), follow_redirects=False)
    assert r.status_code == 303
    rid = int(re.search(r"/catalog/(\d+)", r.headers["location"]).group(1))
    mine = client.get("/console/catalog")
    assert "企业登记信息" in mine.text and "草稿" in mine.text
    r = client.post(f"/console/catalog/{rid}/submit", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    # a steward cannot publish: the service says no
    r = client.post(f"/console/catalog/{rid}/publish", data={"csrf_token": csrf})
    assert r.status_code == 403 and "review_denied" in r.text

    csrf = signed_in("reviewer")
    queue = client.get("/console/review")
    assert "企业登记信息" in queue.text
    r = client.post(f"/console/catalog/{rid}/return", data={"csrf_token": csrf, "reason": " "})
    assert r.status_code == 422 and "必须说明理由" in r.text
    # the queue offers no one-click publish: the decision is taken on the resource's page, with a reason
    assert "action-publish" not in queue.text and f'href="/catalog/{rid}#review-form"' in queue.text
    assert 'id="review-form"' in client.get(f"/catalog/{rid}").text
    r = client.post(f"/console/catalog/{rid}/decide", data={"csrf_token": csrf, "decision": "publish"})
    assert r.status_code == 422 and "必须说明理由" in r.text
    r = client.post(f"/console/catalog/{rid}/decide", data={"csrf_token": csrf, "decision": "publish",
                                                            "reason": "内容完整"}, follow_redirects=False)
    assert r.headers["location"].startswith("/console/review")
    assert "企业登记信息" not in client.get("/console/review").text

    anonymous = client.__class__(client.app)
    found = anonymous.get("/catalog", params={"q": "企业登记"})
    assert f'href="/catalog/{rid}"' in found.text
    detail = anonymous.get(f"/catalog/{rid}")
    assert "已发布" in detail.text and "/console/catalog" not in detail.text


def test_version_diff_after_an_edit(client, world, signed_in):
    rid = published(world, org="market", **OPEN)
    csrf = signed_in("market_steward")
    edit = client.get(f"/console/catalog/{rid}/edit")
    assert edit.status_code == 200 and 'value="人口基本信息"' in edit.text
    form = _form(world, csrf, name="人口基本信息（新版）", category_code="101001")
    r = client.post(f"/console/catalog/{rid}/edit", data=form, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/catalog/{rid}?diff_a=1")
    diff = page.text[page.text.index('id="diff"'):]
    assert "人口基本信息（新版）" in diff and "企业名称" in diff


def test_search_facet_links_filter(client, world):
    published(world, **OPEN)
    published(world, org="market", name="市场主体登记信息", share_type="无条件共享", share_condition=None, **OPEN)
    page = client.get("/catalog")
    assert "共 2 条" in page.text
    link = re.search(r'href="(/catalog\?[^"]*share_type=[^"]*)"', page.text)
    assert link
    filtered = client.get(link.group(1).replace("&amp;", "&"))
    assert "共 1 条" in filtered.text and 'aria-pressed="true"' in filtered.text
    partial = client.get("/catalog", params={"q": "市场"}, headers={"HX-Request": "true"})
    assert "<html" not in partial.text and "市场主体登记信息" in partial.text


def test_console_boards_render(client, world, signed_in):
    published(world)
    signed_in("reviewer")
    for path, text in (("/console/duty-changes", "职责变化"), ("/console/one-source", "一数一源"),
                       ("/console/ledger", "存证链完整")):
        r = client.get(path)
        assert r.status_code == 200 and text in r.text, path
    signed_in("police_steward")
    assert client.get("/console/ledger").status_code == 403


def test_every_template_string_has_an_english_form():
    templates = Path(__file__).parents[2] / "src" / "yibenzhang" / "web" / "templates"
    found: set[str] = set()
    for path in templates.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'_\("([^"]+)"', text)) | set(re.findall(r"_\('([^']+)'", text))
        found |= set(re.findall(r'(?:text|choice)\("[a-z_]+", "([^"]+)"', text))
        found |= set(re.findall(r'hint="([^"]+)"', text))
    from yibenzhang.web import pages_catalog

    found |= set(pages_catalog.FACET_TITLES.values()) | {label for _, label in pages_catalog.SORTS}
    missing = sorted(s for s in found if re.search(r"[\u4e00-\u9fff]", s) and s not in EN)
    assert not missing, missing


def test_session_cookie_is_secure_over_https(world):
    from fastapi.testclient import TestClient

    from yibenzhang.api import create_app

    with TestClient(create_app(), base_url="https://testserver") as https:
        r = login(https, "police_steward")
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
        assert "Secure" in cookie


def test_home_counts_what_the_visitor_may_see(client, world):
    published(world, **OPEN)
    published(world, org="market")  # not open: invisible to the public
    page = client.get("/")
    assert '<span class="num" id="stat-resources">1</span>' in page.text
    # the open-data portal's home counts the departments that open data (issue 6)
    assert '<span class="num" id="stat-orgs">1</span>' in page.text
