"""The console's classification page on both metadata stores: items with categories, evidence and
grades in zh and en, confirm and override through CSRF-protected forms (reason required), the
masked preview as a chosen role would see the rows, the authority's review and XLSX, the link
from the resource detail page."""

from __future__ import annotations

import pytest

from tests.classify.test_classify_service import item_id, make_people
from tests.web.conftest import csrf_of, login
from yibenzhang.catalog.model import ResourceItem
from yibenzhang.classify import service as svc


@pytest.fixture
def signed_in(client):
    def _sign_in(username: str) -> str:
        assert login(client, username).status_code == 303
        return csrf_of(client.get("/console").text)

    return _sign_in


@pytest.fixture
def people(world):
    rid, table = make_people(world)
    return rid, table


def test_page_shows_suggestions_and_grades_in_both_languages(client, world, signed_in, people):
    rid, table = people
    signed_in("police_steward")
    page = client.get(f"/console/resources/{rid}/classification")
    assert page.status_code == 200
    assert "生成分级建议" in page.text and 'id="resource-grade">—' in page.text

    csrf = csrf_of(page.text)
    r = client.post(f"/console/resources/{rid}/classification/suggest", data={"csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("done=suggest")
    page = client.get(f"/console/resources/{rid}/classification")
    assert 'id="suggested-grade">一般-4级' in page.text
    assert "bank_card" in page.text and "match_rate" in page.text and "未确认" in page.text
    assert table.column("公民身份号码")[0].as_py() not in page.text.split('id="preview"')[0]  # evidence, no values
    assert page.text.count('class="inline action-confirm"') == 5 and 'name="reason"' in page.text

    en = client.get(f"/console/resources/{rid}/classification?lang=en")
    assert en.status_code == 200
    for text in ("Classification and grading", "Suggested grade", "general, level 4", "Bank card number",
                 "Confirm suggestion", "Override grade", "unconfirmed"):
        assert text in en.text, text
    assert "确认建议" not in en.text

    detail = client.get(f"/catalog/{rid}?lang=zh")
    assert f'href="/console/resources/{rid}/classification" id="classification-link"' in detail.text


def test_confirm_and_override_through_the_forms(client, world, signed_in, people):
    rid, _ = people
    svc.suggest(world.db, world.actor("police_steward"), rid)
    csrf = signed_in("police_steward")
    card, task = item_id(world.db, rid, "银行卡号"), item_id(world.db, rid, "办理事项")

    assert client.post(f"/console/items/{card}/confirm", data={"csrf_token": "forged"}).status_code == 403
    r = client.post(f"/console/items/{card}/confirm", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and f"#item-{card}" in r.headers["location"]

    r = client.post(f"/console/items/{task}/override", data={"csrf_token": csrf, "grade": "重要", "reason": ""})
    assert r.status_code == 422
    assert "调整分级必须说明理由" in r.text and 'aria-invalid="true"' in r.text
    r = client.post(f"/console/items/{task}/override",
                    data={"csrf_token": csrf, "grade": "重要", "categories": ["public", "amount"],
                          "reason": "汇总后涉及经济运行"}, follow_redirects=False)
    assert r.status_code == 303
    with world.db.read() as s:
        assert s.get(ResourceItem, card).grade == "一般-4级" and s.get(ResourceItem, task).grade == "重要"
    page = client.get(f"/console/resources/{rid}/classification")
    assert 'id="resource-grade">重要' in page.text and "汇总后涉及经济运行" in page.text and "已调整" in page.text

    # another org's steward sees the page (published resource) but no forms, and cannot post
    client.post("/logout", data={"csrf_token": csrf})
    other = signed_in("market_steward")
    page = client.get(f"/console/resources/{rid}/classification")
    assert page.status_code == 200 and "action-confirm" not in page.text and "action-override" not in page.text
    denied = client.post(f"/console/items/{card}/confirm", data={"csrf_token": other})
    assert denied.status_code == 403


def test_masked_preview_as_a_chosen_role(client, world, signed_in, people):
    pytest.importorskip("yibenzhang.classify.policies")
    rid, table = people
    svc.suggest(world.db, world.actor("police_steward"), rid)
    signed_in("police_steward")
    ident = table.column("公民身份号码")[0].as_py()
    for exit_path in ("共享", "开放下载", "运营结果", "控制台预览"):
        page = client.get(f"/console/resources/{rid}/classification", params={"exit": exit_path})
        assert page.status_code == 200
        preview = page.text.split('id="preview"', 1)[1]
        assert f'value="{exit_path}" selected' in preview
        assert ident not in preview  # identity numbers never leave unmasked
    page = client.get(f"/console/resources/{rid}/classification", params={"exit": "控制台预览"})
    assert 'id="preview-rows"' in page.text


def test_authority_review_page_and_important_catalogue(client, world, signed_in, people):
    rid, _ = people
    svc.suggest(world.db, world.actor("police_steward"), rid)
    with world.db.write() as s:
        svc.override(s, world.actor("police_steward"), item_id(world.db, rid, "公民身份号码"), "核心", ["id_card"],
                     "全省户籍人口底数")
    signed_in("reviewer")
    page = client.get("/console/classification")
    assert page.status_code == 200
    assert "全省户籍人口底数" in page.text and "重要数据目录" in page.text and 'id="important-xlsx"' in page.text
    en = client.get("/console/classification?lang=en")
    assert "Important-data catalogue" in en.text and "core" in en.text
    xlsx = client.get("/console/classification/important.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.get("/console/classification?region=990200").status_code == 200

    client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    signed_in("city_reviewer")
    assert client.get("/console/classification?region=990000").status_code == 403
