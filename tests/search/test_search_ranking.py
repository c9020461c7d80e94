"""Ranking on a generated catalogue: each known-item query finds its resource in the top 5."""

from __future__ import annotations

from yibenzhang.access import Actor
from yibenzhang.bench.search import bulk_load
from yibenzhang.search.query import SearchQuery, search_resources

from .search_cases import CASES, planted

TOP = 5


def test_known_items_rank_in_top_five(db):
    with db.write() as s:
        loaded = bulk_load(s, 400, 12, seed=3, extra=planted())
    assert loaded["resources"] == 400 + len(CASES) == loaded["indexed"]
    misses, first = [], 0
    with db.read() as s:
        for query, name, *_ in CASES:
            result = search_resources(s, Actor.system(), SearchQuery(q=query, limit=TOP))
            names = [it["name"] for it in result.items]
            if name not in names:
                misses.append((query, name, names))
            elif names.index(name) == 0:
                first += 1
    assert len(CASES) >= 30
    assert not misses, misses
    assert first >= len(CASES) * 0.8  # most are first, not merely in the top 5


def test_generated_catalogue_is_searchable_by_category_words(db):
    with db.write() as s:
        bulk_load(s, 200, 10, seed=5)
    with db.read() as s:
        people = search_resources(s, Actor.anonymous(), SearchQuery(q="人口"))
        everything = search_resources(s, Actor.system(), SearchQuery())
    assert people.total > 0 and everything.total == 200
    assert all(it["open_type"] != "不予开放" and it["status"] == "已发布" for it in people.items)
    assert sum(e["count"] for e in everything.facets["status"]) == 200


def test_cached_ranking_gives_the_same_pages(db, monkeypatch):
    """SQLite ranks every match once (cached, the same for every actor) and checks visibility and
    filters on its best entries after; checking in small slices, or ranking the joined set
    instead, must give the same pages."""
    from yibenzhang.search import query as search
    from yibenzhang.search.index import facet_cache

    with db.write() as s:
        bulk_load(s, 300, 8, seed=11)

    def pages(actor):
        facet_cache.clear()
        with db.read() as s:
            return [[it["id"] for it in search_resources(s, actor, SearchQuery(q=q, limit=7, offset=off, **f)).items]
                    for q in ("人口", "信息", "登记 信息", "姓名", "人口 姓名") for off in (0, 7, 30)
                    for f in ({}, {"open_type": "无条件开放"}, {"region_code": "990100"}, {"category_code": "1"})]

    public, admin = pages(Actor.anonymous()), pages(Actor.system())
    assert any(public) and public != admin
    monkeypatch.setattr(search, "OVERFETCH_START", 1)  # start with just the page: rounds of growth
    monkeypatch.setattr(search, "OVERFETCH_FACTOR", 1)
    assert pages(Actor.anonymous()) == public and pages(Actor.system()) == admin
    monkeypatch.setattr(search, "RANKING_DEPTH", 10)  # the cached part runs out: the joined ranking
    assert pages(Actor.anonymous()) == public and pages(Actor.system()) == admin
    monkeypatch.setattr(search, "RANKING_DEPTH", 0)
    assert pages(Actor.anonymous()) == public and pages(Actor.system()) == admin
