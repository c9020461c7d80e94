"""Catalogue search on both backends: words, facets, visibility, index freshness, hostile input."""

from __future__ import annotations

import pytest

from tests.factories import published, resource_in
from yibenzhang.access import Actor
from yibenzhang.catalog import service as catalog
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.errors import ValidationFailed
from yibenzhang.search.query import SearchQuery, search_resources
from yibenzhang.search.segment import segment

LICENSE = dict(
    name="企业营业执照信息", category_code="106002", library="基础库", org="market", open_type="无条件开放",
    abstract="市场主体登记后核发的营业执照，含统一社会信用代码、企业名称、法定代表人等。",
    items=[ItemIn(name="统一社会信用代码", data_type="C", length=18), ItemIn(name="企业名称", data_type="C"),
           ItemIn(name="法定代表人", data_type="C")],
)
HOSPITAL_BEDS = dict(
    name="医疗机构床位信息", category_code="202001", library="主题库", org="hospital", open_type="无条件开放",
    abstract="全省医疗机构的床位数、科室设置与服务人口。",
    items=[ItemIn(name="机构名称", data_type="C"), ItemIn(name="床位数", data_type="I")],
)


def find(world, username: str | Actor, **kw) -> object:
    actor = username if isinstance(username, Actor) else world.actor(username)
    with world.db.read() as s:
        return search_resources(s, actor, SearchQuery(**kw))


def ids(result) -> list[int]:
    return [it["id"] for it in result.items]


def test_segmentation_keeps_catalogue_terms_and_their_pieces():
    tokens = segment("营业执照信息")
    assert {"营业执照", "营业", "执照", "信息"} <= set(tokens)
    assert "公民身份号码" in segment("公民身份号码")


def test_words_find_resources_and_name_ranks_first(world):
    people = published(world)  # 人口基本信息 (不予开放)
    lic = published(world, **LICENSE)
    beds = published(world, **HOSPITAL_BEDS)  # 人口 only in the abstract
    r = find(world, "consumer", q="人口")
    assert ids(r)[:2] == [people, beds] and r.total == 2
    assert r.items[0]["score"] > r.items[1]["score"]
    assert ids(find(world, "citizen", q="营业执照")) == [lic]
    assert ids(find(world, "citizen", q="执照")) == [lic]
    # several words: all must match
    assert ids(find(world, "consumer", q="人口 床位")) == [beds]
    assert find(world, "consumer", q="人口 执照").total == 0


def test_exact_name_first_then_name_over_item(world):
    in_item = published(world, name="户籍迁移记录", items=[ItemIn(name="出生日期", data_type="D"),
                                                   ItemIn(name="户籍人口类别", data_type="C")])
    in_name = published(world, name="流动人口居住登记")
    exact = published(world, name="人口")
    r = find(world, "consumer", q="人口")
    assert ids(r)[:3] == [exact, in_name, in_item]


def test_facets_counted_with_other_filters(world):
    published(world)  # police, 有条件共享, 基础
    published(world, name="出入境证件信息", category_code="303002", library="部门库" if False else "基础库",
              share_type="无条件共享")
    published(world, **LICENSE)  # market, 有条件共享
    r = find(world, "consumer")
    assert r.total == 3
    org = {e["value"]: e for e in r.facets["org"]}
    assert org[world.orgs["police"].id]["count"] == 2 and org[world.orgs["police"].id]["name"] == "云岭省公安厅"
    assert org[world.orgs["market"].id]["count"] == 1
    assert {e["value"]: e["count"] for e in r.facets["share_type"]} == {"有条件共享": 2, "无条件共享": 1}
    assert {e["value"]: e["count"] for e in r.facets["resource_class"]} == {"基础": 2, "部门": 1}
    assert {e["value"]: e["count"] for e in r.facets["status"]} == {"已发布": 3}
    assert r.facets["region"] == [{"value": "990000", "name": "云岭省", "count": 3}]

    f = find(world, "consumer", org_id=world.orgs["police"].id)
    assert f.total == 2
    # the org facet still offers the alternatives; the others count within the chosen org
    assert {e["value"]: e["count"] for e in f.facets["org"]} == {world.orgs["police"].id: 2,
                                                                 world.orgs["market"].id: 1}
    assert {e["value"]: e["count"] for e in f.facets["share_type"]} == {"有条件共享": 1, "无条件共享": 1}
    both = find(world, "consumer", org_id=world.orgs["police"].id, share_type="无条件共享")
    assert both.total == 1 and both.items[0]["name"] == "出入境证件信息"
    assert {e["value"]: e["count"] for e in both.facets["org"]} == {world.orgs["police"].id: 1}
    assert find(world, "consumer", category_code="3").total == 1
    assert find(world, "consumer", resource_class="基础", q="信息").total == 2


def test_region_filter_includes_lower_regions(world):
    published(world, org="county_civil", reviewer="city_reviewer", name="安宁县低保对象信息",
              category_code="203002")
    published(world, org="other_city_org", reviewer="other_reviewer", name="石林市低保对象信息",
              category_code="203002")
    assert find(world, "consumer", q="低保").total == 2
    # the place is searchable without its level suffix (安宁县 → 安宁), whatever jieba makes of it
    assert [it["name"] for it in find(world, "consumer", q="安宁 低保").items] == ["安宁县低保对象信息"]
    r = find(world, "consumer", q="低保", region_code="990100")
    assert [it["name"] for it in r.items] == ["安宁县低保对象信息"]
    assert {e["value"] for e in r.facets["region"]} == {"990101", "990200"}
    with pytest.raises(ValidationFailed):
        find(world, "consumer", region_code="123456")


def test_visibility(world):
    closed = published(world)  # 不予开放
    open_ = published(world, **LICENSE)
    with world.db.write() as s:
        draft = catalog.create_resource(s, world.actor("police_steward"),
                                        resource_in(world, name="人口迁移草稿信息")).id
        submitted = catalog.create_resource(s, world.actor("police_steward"),
                                            resource_in(world, name="人口待审信息")).id
        catalog.submit_resource(s, world.actor("police_steward"), submitted)
        city = catalog.create_resource(s, Actor.system(), resource_in(world, org="city_police",
                                                                      name="春城人口待审信息")).id
        catalog.submit_resource(s, Actor.system(), city)
    q = dict(q="信息")
    assert ids(find(world, "citizen", **q)) == [open_]
    assert ids(find(world, Actor.anonymous(), **q)) == [open_]
    assert set(ids(find(world, "consumer", **q))) == {closed, open_}
    assert set(ids(find(world, "police_steward", **q))) == {closed, open_, draft, submitted}
    assert set(ids(find(world, "market_steward", **q))) == {closed, open_}
    # the provincial reviewer sees submitted work in the province and below, never drafts
    assert set(ids(find(world, "reviewer", **q))) == {closed, open_, submitted, city}
    assert set(ids(find(world, "city_reviewer", **q))) == {closed, open_, city}
    assert set(ids(find(world, "other_reviewer", **q))) == {closed, open_}
    assert set(ids(find(world, "admin", **q))) == {closed, open_, draft, submitted, city}
    # the status facet follows the same visibility
    assert {e["value"]: e["count"] for e in find(world, "police_steward", **q).facets["status"]} == {
        "已发布": 2, "草稿": 1, "待审核": 1}

    with world.db.write() as s:
        catalog.retire_resource(s, world.actor("reviewer"), open_, "停止提供")
    assert find(world, "citizen", **q).total == 0
    assert ids(find(world, "county_steward", **q)) == [closed]  # a government user of another org
    retired = find(world, "market_steward", q="营业执照")
    assert ids(retired) == [open_] and retired.items[0]["status"] == "已停用"


def test_index_follows_updates_but_public_sees_published_text(world):
    """Also proves the facet cache never serves a stale total: every step changes the ledger head."""
    rid = published(world, **LICENSE)
    with world.db.write() as s:
        r = catalog.get_resource(s, Actor.system(), rid)
        data = resource_in(world, **{**LICENSE, "name": "商事主体证照库"})
        catalog.update_resource(s, world.actor("market_steward"), r.id, data)
    # still found by the published name, not by the unreviewed one
    assert ids(find(world, "citizen", q="营业执照")) == [rid]
    assert find(world, "citizen", q="营业执照").items[0]["name"] == "企业营业执照信息"
    assert find(world, "citizen", q="商事").total == 0
    assert find(world, "market_steward", q="商事").total == 0  # search shows the published text to all
    with world.db.write() as s:
        catalog.submit_resource(s, world.actor("market_steward"), rid)
        catalog.publish_resource(s, world.actor("reviewer"), rid)
    assert ids(find(world, "citizen", q="商事")) == [rid]
    assert find(world, "citizen", q="营业执照").total == 1  # still in the abstract
    assert find(world, "citizen", q="企业营业执照信息").total == 0  # the old name is gone

    with world.db.write() as s:
        draft = catalog.create_resource(s, world.actor("police_steward"), resource_in(world, name="临时草稿信息")).id
    assert ids(find(world, "police_steward", q="临时草稿")) == [draft]
    with world.db.write() as s:
        catalog.delete_draft(s, world.actor("police_steward"), draft)
    assert find(world, "police_steward", q="临时草稿").total == 0


@pytest.mark.parametrize("q", ['"', "*", "a OR", "(", ")", "人口 OR", 'NEAR(人口', "^人口", "-人口", "人口*",
                               "'; DROP TABLE resources; --", "\\", ":", "name:人口", "😀🎉", "人口😀",
                               "营" * 5000, "人口 " * 400, "\x00", "   ", "AND", "NOT 人口", "{name}: 人口"])
def test_hostile_queries_do_not_error(world, q):
    published(world, open_type="无条件开放")
    r = find(world, "citizen", q=q)
    assert r.total >= 0 and set(r.facets) >= {"org", "status"}
    if q in ("^人口", "-人口", "人口*", "人口 " * 400):  # operators are literal text, here punctuation
        assert r.total == 1
    if q in ("人口 OR", "NOT 人口", "name:人口"):  # ...and here words that must match too
        assert r.total == 0


def test_paging_and_sorting(world):
    made = [published(world, name=f"人口专题{n}号信息", open_type="无条件开放") for n in "一二三四五"]
    first = find(world, "citizen", q="人口", limit=2)
    second = find(world, "citizen", q="人口", limit=2, offset=2)
    third = find(world, "citizen", q="人口", limit=2, offset=4)
    assert first.total == 5 and len(third.items) == 1
    assert sorted(ids(first) + ids(second) + ids(third)) == sorted(made)
    assert ids(find(world, "citizen", sort="newest")) == list(reversed(made))
    assert find(world, "citizen", q="人口", offset=10).items == []
    names = [it["name"] for it in find(world, "citizen", sort="name").items]
    assert names == sorted(names)
    for bad in (dict(sort="best"), dict(limit=0), dict(limit=1000), dict(offset=-1), dict(share_type="随便"),
                dict(status="x"), dict(category_code="1'")):
        with pytest.raises(ValidationFailed):
            find(world, "citizen", **bad)
    assert find(world, "citizen", share_type="unconditional").total == 0  # English names are accepted


def test_http_search(client, world):
    lic = published(world, **LICENSE)
    r = client.get("/api/v1/search", params={"q": "营业执照", "open_type": "无条件开放"})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 1 and body["items"][0]["id"] == lic
    assert body["items"][0]["org_name"] == "云岭省市场监督管理局"
    assert set(body["facets"]) == {"org", "region", "resource_class", "library", "share_type", "open_type",
                                   "format_kind", "update_cycle", "status"}
    for params in ({"sort": "worst"}, {"limit": "abc"}, {"share_type": "maybe"}, {"org_id": "x"},
                   {"region_code": "000000"}):
        bad = client.get("/api/v1/search", params=params)
        assert bad.status_code in (400, 422), params
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["code"] in ("validation_failed", "request_invalid")
    assert client.get("/api/v1/search", params={"q": '"*( OR'}).status_code == 200
    hidden = client.get("/api/v1/search", params={"q": "人口"}, headers=world.headers("citizen")).json()
    assert hidden["total"] == 0


def test_migration_backfills_an_existing_catalogue(sqlite_db):
    """Revision 0002 run on a store that already holds resources indexes them; its downgrade
    removes the index. Run on its own (other packages' revisions branch from it) on a throwaway
    SQLite copy: the PostgreSQL test database is shared by the session."""
    import importlib.util
    from pathlib import Path

    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy import inspect

    import yibenzhang.db as ybz_db
    from tests.factories import build_world

    world = build_world(sqlite_db)
    lic = published(world, **LICENSE)
    path = Path(ybz_db.__file__).parent / "migrations" / "legacy" / "versions" / "0002_search.py"
    spec = importlib.util.spec_from_file_location("ybz_0002_search", path)
    assert spec and spec.loader
    revision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision)
    for step in (revision.downgrade, revision.upgrade):
        with world.db.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            step()
        if step is revision.downgrade:
            assert "search_docs" not in inspect(world.db.engine).get_table_names()
    assert ids(find(world, "citizen", q="营业执照")) == [lic]
