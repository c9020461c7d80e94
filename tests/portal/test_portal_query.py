"""portal_query: the open set only, Chinese words, facets counted under the other filters, sorts."""

from __future__ import annotations

from yibenzhang.open.portal_query import PortalQuery, domains_of, find_dataset, query_open


def _names(result) -> list[str]:
    return [d.name for d in result.items]


def test_lists_only_open_published_datasets(world, open_catalog):
    with world.db.read() as s:
        result = query_open(s, PortalQuery())
    assert result.total == 4
    assert set(_names(result)) == {"中小学学校名录", "医疗机构基本信息", "公交线路站点信息", "食品经营许可信息"}
    with world.db.read() as s:
        assert find_dataset(s, open_catalog["closed"]) is None
        assert find_dataset(s, open_catalog["draft"]) is None
        found = find_dataset(s, open_catalog["schools"])
        assert found is not None and find_dataset(s, found.name_slug).id == found.id


def test_chinese_words_and_facets(world, open_catalog):
    with world.db.read() as s:
        result = query_open(s, PortalQuery(q="学校"))
        assert _names(result) == ["中小学学校名录"]
        result = query_open(s, PortalQuery(open_type="有条件开放"))
    assert result.total == 2
    # the open-type facet still shows the alternative to the chosen value
    counts = {e["value"]: e["count"] for e in result.facets["open_type"]}
    assert counts == {"无条件开放": 2, "有条件开放": 2}
    assert {e["label"] for e in result.facets["org"]} == {"云岭省市场监督管理局", "春城市公安局"}
    formats = {e["value"]: e["count"] for e in result.facets["format"]}
    assert formats == {"JSON": 1, "XLSX": 1}


def test_domain_region_and_format_filters(world, open_catalog):
    with world.db.read() as s:
        assert _names(query_open(s, PortalQuery(domain="education"))) == ["中小学学校名录"]
        assert _names(query_open(s, PortalQuery(domain="医疗"))) == ["医疗机构基本信息"]
        assert _names(query_open(s, PortalQuery(region_code="990100"))) == ["公交线路站点信息"]
        assert query_open(s, PortalQuery(region_code="990000")).total == 4  # the province includes its cities
        assert query_open(s, PortalQuery(format="csv")).total == 2
        assert query_open(s, PortalQuery(format="pdf")).total == 0
        assert query_open(s, PortalQuery(domain="nonsense")).total == 0


def test_sorts(world, open_catalog):
    with world.db.read() as s:
        newest = _names(query_open(s, PortalQuery(sort="newest")))
        assert newest[0] == "食品经营许可信息"  # published last
        assert query_open(s, PortalQuery(sort="quality")).total == 4
        assert query_open(s, PortalQuery(sort="downloads", limit=1, offset=1)).items


def test_domains_of():
    assert domains_of("213001", "学校名录", []) == ("education",)
    assert domains_of("101001", "全民健身场馆", []) == ("sports",)
    assert domains_of("101001", "户籍人口", []) == ("other",)


def test_index_follows_the_catalogue_by_patching(world, open_catalog, monkeypatch):
    from tests.factories import published, resource_in
    from yibenzhang.catalog import service as catalog
    from yibenzhang.open import portal_query as pq

    with world.db.read() as s:
        first = pq.open_index(s)
    builds = []
    monkeypatch.setattr(pq.OpenIndex, "build", classmethod(lambda cls, *a: builds.append(a) or None))
    new_id = published(world, "hospital", name="体育场馆名录", open_type="无条件开放", category_code="216001")
    with world.db.write() as s:
        catalog.retire_resource(s, world.actor("reviewer"), open_catalog["hospitals"], "职责调整")
        # an edit under review that closes a published dataset hides it at once
        catalog.update_resource(s, world.actor("market_steward"), open_catalog["licences"],
                                resource_in(world, "market", name="食品经营许可信息", open_type="不予开放",
                                            category_code="204001"))
    with world.db.read() as s:
        idx = pq.open_index(s)
        names = {d.name for d in query_open(s, PortalQuery()).items}
        sports = query_open(s, PortalQuery(domain="sports"))
    assert builds == [] and idx is not first  # patched, not rebuilt
    assert names == {"中小学学校名录", "公交线路站点信息", "体育场馆名录"}
    assert [d.id for d in sports.items] == [new_id]
    kept = next(d for d in idx.datasets if d.id == open_catalog["schools"])
    assert kept is next(d for d in first.datasets if d.id == open_catalog["schools"])
