"""search_facets: visibility without a join equals catalog.service.visible_to for every role, and
facet counts from the cached combinations equal plain SQL counts over the same rows."""

from __future__ import annotations

import itertools

from sqlalchemy import func, select

from tests.factories import published, resource_in
from yibenzhang.access import Actor
from yibenzhang.catalog import service as catalog
from yibenzhang.catalog.model import Resource
from yibenzhang.search import query as search
from yibenzhang.search.index import facet_cache
from yibenzhang.search.model import docs, fac
from yibenzhang.search.query import FACETS, SearchQuery, search_resources

OPEN = dict(open_type="无条件开放")


def _mixed(world) -> dict[str, int]:
    """Resources in every state that visibility distinguishes, in three regions."""
    steward = world.actor("police_steward")
    made = {
        "closed": published(world),  # 不予开放
        "open": published(world, name="出入境证件信息", category_code="303002", share_type="无条件共享", **OPEN),
        "city_open": published(world, org="city_police", reviewer="city_reviewer", name="春城机动车信息",
                               update_cycle="每月", **OPEN),
        "county": published(world, org="county_civil", reviewer="city_reviewer", name="安宁县低保对象信息",
                            category_code="203002", open_type="有条件开放", open_condition="签订使用协议"),
        "other_city": published(world, org="other_city_org", reviewer="other_reviewer", name="石林社保信息",
                                category_code="203002", **OPEN),
        "retired": published(world, name="停用的人口信息", **OPEN),
        "edited": published(world, name="人口迁移信息", **OPEN),
    }
    with world.db.write() as s:
        catalog.retire_resource(s, world.actor("reviewer"), made["retired"], "停止提供")
        # a published resource under edit: its live status is 草稿 and its live open type changes
        catalog.update_resource(s, steward, made["edited"], resource_in(world, name="人口迁移信息（修订）"))
        made["draft"] = catalog.create_resource(s, steward, resource_in(world, name="人口草稿信息")).id
        made["submitted"] = catalog.create_resource(s, steward, resource_in(world, name="人口待审信息", **OPEN)).id
        catalog.submit_resource(s, steward, made["submitted"])
        city = world.actor("city_steward")
        made["city_submitted"] = catalog.create_resource(s, city, resource_in(world, org="city_police",
                                                                              name="春城人口待审信息")).id
        catalog.submit_resource(s, city, made["city_submitted"])
        made["city_draft"] = catalog.create_resource(s, city, resource_in(world, org="city_police",
                                                                          name="春城人口草稿信息")).id
        made["returned"] = catalog.create_resource(s, city, resource_in(world, org="city_police", name="退回信息")).id
        catalog.submit_resource(s, city, made["returned"])
        catalog.return_resource(s, world.actor("city_reviewer"), made["returned"], "信息项不全")
    return made


def _actors(world) -> list[Actor]:
    return [Actor.anonymous(), Actor.system(), *world.actors.values()]


def test_visibility_equals_visible_to_for_every_role(world):
    made = _mixed(world)
    seen_sets = set()
    with world.db.read() as s:
        for actor in _actors(world):
            expected = set(s.execute(catalog.visible_to(select(Resource.id), actor)).scalars())
            cond = search._visible(actor)
            stmt = select(fac.c.resource_id) if cond is None else select(fac.c.resource_id).where(cond)
            assert set(s.execute(stmt).scalars()) == expected, actor.username
            assert search_resources(s, actor, SearchQuery()).total == len(expected), actor.username
            seen_sets.add(frozenset(expected))
    assert len(seen_sets) >= 6  # the world really tells the roles apart
    assert len(made) == 12


def _sql_counts(s, actor, filters: dict) -> tuple[int, dict[str, dict]]:
    """The expected numbers, counted the plain way: visible_to over the wide rows, one GROUP BY
    per facet under every filter but its own."""
    from yibenzhang.orgs.model import Region

    def cond(name, value):
        if name == "org":
            return docs.c.org_id == value
        if name == "region":
            path = s.execute(select(Region.path).where(Region.code == value)).scalar_one()
            return docs.c.region_code.in_(select(Region.code).where(Region.path.startswith(path)))
        return docs.c[name] == value

    base = catalog.visible_to(select(docs.c.resource_id).join(Resource, Resource.id == docs.c.resource_id), actor)
    total = s.execute(select(func.count()).select_from(base.where(*[cond(k, v) for k, v in filters.items()])
                                                       .subquery())).scalar_one()
    out = {}
    for name in FACETS:
        col = docs.c.org_id if name == "org" else docs.c.region_code if name == "region" else docs.c[name]
        rest = [cond(k, v) for k, v in filters.items() if k != name]
        stmt = base.with_only_columns(col, func.count()).where(*rest, col.is_not(None)).group_by(col)
        out[name] = dict(s.execute(stmt).all())
    return total, out


def test_facet_counts_equal_plain_sql_under_filters(world):
    _mixed(world)
    police, city_police = world.orgs["police"].id, world.orgs["city_police"].id
    choices = [{}, {"org": police}, {"org": city_police}, {"region": "990100"}, {"open_type": "无条件开放"},
               {"status": "已发布"}, {"update_cycle": "每月"}, {"share_type": "无条件共享"}]
    names = {"org": "org_id", "region": "region_code"}
    with world.db.read() as s:
        for actor in _actors(world):
            for a, b in itertools.combinations(choices, 2):
                filters = {**a, **b}
                for q in ("", "信息"):
                    r = search_resources(s, actor, SearchQuery(q=q, **{names.get(k, k): v for k, v in filters.items()}))
                    if q:  # every test resource's name holds 信息: the same set as browsing
                        assert r.total == search_resources(s, actor, SearchQuery(
                            **{names.get(k, k): v for k, v in filters.items()})).total
                        continue
                    total, expected = _sql_counts(s, actor, filters)
                    assert r.total == total, (actor.username, filters)
                    got = {name: {e["value"]: e["count"] for e in r.facets[name]} for name in FACETS}
                    assert got == expected, (actor.username, filters)
                    assert len(r.items) == min(total, 20)


def test_facets_follow_every_state_change(world):
    rid = published(world, **OPEN)
    status = lambda who: {e["value"]: e["count"] for e in find(world, who).facets["status"]}  # noqa: E731
    assert status("citizen") == {"已发布": 1}
    with world.db.write() as s:
        catalog.retire_resource(s, world.actor("reviewer"), rid, "停止提供")
    assert status("citizen") == {} and status("police_steward") == {"已停用": 1}
    with world.db.write() as s:
        draft = catalog.create_resource(s, world.actor("police_steward"), resource_in(world, name="草稿信息")).id
    assert status("police_steward") == {"已停用": 1, "草稿": 1} and status("reviewer") == {"已停用": 1}
    with world.db.write() as s:
        catalog.delete_draft(s, world.actor("police_steward"), draft)
    with world.db.read() as s:
        assert s.execute(select(func.count()).select_from(fac)).scalar_one() == 1


def find(world, who: str, **kw):
    with world.db.read() as s:
        return search_resources(s, world.actor(who), SearchQuery(**kw))


def test_migration_0007_backfills_and_downgrades(sqlite_db):
    """Revision 0007 on a store that already has search_docs fills search_facets from it."""
    import importlib.util
    from pathlib import Path

    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy import inspect

    import yibenzhang.db as ybz_db
    from tests.factories import build_world

    world = build_world(sqlite_db)
    rid = published(world, **OPEN)
    path = Path(ybz_db.__file__).parent / "migrations" / "legacy" / "versions" / "0007_search_facets.py"
    spec = importlib.util.spec_from_file_location("ybz_0007_search_facets", path)
    assert spec and spec.loader
    revision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision)
    for step in (revision.downgrade, revision.upgrade):
        with world.db.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            step()
        if step is revision.downgrade:
            assert "search_facets" not in inspect(world.db.engine).get_table_names()
    facet_cache.clear()
    assert [it["id"] for it in find(world, "citizen", q="人口").items] == [rid]
    assert find(world, "citizen").facets["open_type"] == [{"value": "无条件开放", "count": 1}]
