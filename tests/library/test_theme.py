"""Theme libraries and 省市共建 (issue 21 item 5): a 社会救助 theme library over the population
library and two department resources, and a city's library extending the province's — every
fused value checked against the independent computation of the rules (reference.py) with the
orders written here from the documented rules (library/cobuild.py), the provenance of each value,
the conflicts; the refusals with their codes; cycles; who may define; incremental re-fusion of a
theme library when its base library publishes an 更新 batch."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.factories import published, resource_in
from tests.library import reference as ref
from tests.library.conftest import SOURCES, A, B, C, definition, id18
from yibenzhang.access import Actor
from yibenzhang.catalog import service as catalog
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.collect.pipeline import ingest_arrow
from yibenzhang.errors import PermissionDenied, ValidationFailed
from yibenzhang.library import conflicts as CF
from yibenzhang.library import definition as D
from yibenzhang.library import run
from yibenzhang.zone import duck
from yibenzhang.zone.engine import named_engine
from yibenzhang.zone.service import _live_batches, live_state

D_ID = id18("11010119750615003")  # only in the civil-affairs source
E_ID = id18("53010219950101002")  # only in the city's source

# theme sources besides the population library: (org, name, key, [(item, type, authoritative)])
CIVIL = ("county_civil", "最低生活保障对象信息", "身份证号", [("姓名", "C", False), ("低保状态", "C", True)])
HRSS = ("other_city_org", "就业困难人员认定信息", "证件号码",
        [("姓名", "C", False), ("就业困难类别", "C", True), ("联系电话", "C", False)])
CITY = ("city_police", "流动人口登记信息", "公民身份号码",
        [("姓名", "C", False), ("联系电话", "C", False), ("居住地址", "C", True)])


def source(world, spec) -> tuple[int, str]:
    org, name, key, items = spec
    rid = published(world, org, name=name, items=[
        ItemIn(name=key, data_type="C", length=18, is_key=True),
        *[ItemIn(name=n, data_type=t, authoritative=a, element=n if a else None) for n, t, a in items]])
    with world.db.read() as s:
        return rid, catalog.get_resource(s, Actor.system(), rid).code


def push(world, rid: int, spec, rows: list[dict[str, Any]], mode: str = "全量") -> None:
    import pyarrow as pa

    _org, _name, key, items = spec
    names = [key] + [n for n, _, _ in items]
    schema = pa.schema([(n, pa.string()) for n in names])
    ingest_arrow(world.db, Actor.system(), rid, [pa.record_batch([[r.get(n) for r in rows] for n in names],
                                                                 schema=schema)], source={"kind": "push"}, mode=mode)


def define(world, actor: Actor, org: str, name: str, d: D.DefinitionIn, *, library: str = "基础库",
           category: str = "101001", reviewer: str = "reviewer") -> int:
    meta = resource_in(world, org, name=name, abstract=f"{name}（测试）", items=[], library=library,
                       category_code=category)
    with world.db.write() as s:
        lib = D.define_library(s, actor, meta, d)
        catalog.submit_resource(s, Actor.system(), lib.id)
        catalog.publish_resource(s, world.actor(reviewer), lib.id)
        return lib.id


def code_of(world, rid: int) -> str:
    with world.db.read() as s:
        return catalog.get_resource(s, Actor.system(), rid).code


def live(world, rid: int) -> list[dict[str, Any]]:
    """A resource's live rows with their batch and row numbers (what fusion reads)."""
    with world.db.read() as s:
        state = live_state(s, rid)
    return named_engine("duckdb").sql(f"SELECT * FROM {duck.relation(state)}").to_pylist()


def collected(world, rids: list[int]) -> dict[int, datetime]:
    out = {}
    with world.db.read() as s:
        for rid in rids:
            for b in _live_batches(s, rid):
                at = b.published_at or b.created_at
                out[b.id] = at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at
    return out


def ref_rows(world, index: int, rid: int, key: str, mapping: dict[str, str]) -> list[ref.Row]:
    return [ref.Row(index, r["_batch"], r["_row"], r[key], {c: r[s] for c, s in mapping.items()})
            for r in live(world, rid)]


def check(world, library: int, srcs: list[tuple[int, str, dict[str, str]]], orders: dict[str, list[int]],
          fresh: dict[str, int]) -> dict[str, dict]:
    """The library's live rows and live conflicts against the reference fusion of its sources'
    live rows (source i = srcs[i]: resource id, key item, canonical -> source item)."""
    rows = [r for i, (rid, key, m) in enumerate(srcs) for r in ref_rows(world, i, rid, key, m)]
    at = collected(world, [rid for rid, _, _ in srcs])
    now = datetime.now(UTC).replace(tzinfo=None)
    items = {n: {"order": o, "fresh_days": fresh.get(n)} for n, o in orders.items()}
    want, want_conflicts, _ = ref.fuse(rows, items, at, "person", date.today(), now)
    got = {r["公民身份号码"]: r for r in live(world, library)}
    assert set(got) == set(want)
    for k, exp in want.items():
        for name in orders:
            value = got[k][name]
            value = value.isoformat() if isinstance(value, date) else value
            if name not in exp:
                assert value is None and got[k][f"{name}__source"] is None, (k, name)
                continue
            v, src, batch = exp[name]
            assert (value, got[k][f"{name}__source"], got[k][f"{name}__batch"]) == (v, srcs[src][0], batch), (k, name)
            assert got[k][f"{name}__at"] == at[batch]
    with world.db.read() as s:
        table = CF.live_conflicts(s, library, "公民身份号码")
    rid_index = {rid: i for i, (rid, _, _) in enumerate(srcs)}
    got_c = sorted((c["entity"], c["item"], rid_index[c["source_resource_id"]], c["value"])
                   for c in table.to_pylist()) if table.num_rows else []
    assert got_c == want_conflicts
    return got


def base_sources(lib) -> list[tuple[int, str, dict[str, str]]]:
    return [(rid, key, {n: n for n, _, _ in items}) for rid, (_, _, key, items) in zip(lib.sources, SOURCES,
                                                                                       strict=True)]


def theme_definition(lib, civil: str, hrss: str) -> D.DefinitionIn:
    base = code_of(lib.world, lib.library)
    return D.DefinitionIn(kind="person", items=[
        D.ItemDef(name="姓名"), D.ItemDef(name="出生日期", data_type="D"), D.ItemDef(name="婚姻状况"),
        D.ItemDef(name="低保状态"), D.ItemDef(name="就业困难类别"), D.ItemDef(name="联系电话", fallback=[base, hrss])],
        sources=[D.SourceDef(resource=base, key="公民身份号码",
                             items={n: n for n in ("姓名", "出生日期", "婚姻状况", "联系电话")}),
                 D.SourceDef(resource=civil, key="身份证号", items={"姓名": "姓名", "低保状态": "低保状态"}),
                 D.SourceDef(resource=hrss, key="证件号码",
                             items={"姓名": "姓名", "就业困难类别": "就业困难类别", "联系电话": "联系电话"})])


@pytest.fixture
def theme(lib):
    w = lib.world
    run.fuse(w.db, Actor.system(), lib.library)
    civil, civil_code = source(w, CIVIL)
    hrss, hrss_code = source(w, HRSS)
    push(w, civil, CIVIL, [{"身份证号": A, "姓名": "张三丰", "低保状态": "在保"},
                           {"身份证号": C, "姓名": "王五", "低保状态": "在保"},
                           {"身份证号": D_ID, "姓名": "赵六", "低保状态": "停保"},
                           {"身份证号": "1234", "姓名": "坏键"}])
    push(w, hrss, HRSS, [{"证件号码": B, "姓名": "李四", "就业困难类别": "长期失业", "联系电话": "13900000007"},
                         {"证件号码": A, "就业困难类别": "零就业家庭", "联系电话": "13900000008"}])
    tid = define(w, Actor.system(), "authority", "社会救助主题库", theme_definition(lib, civil_code, hrss_code),
                 library="主题库", category="203002")
    return tid, civil, hrss


# the theme's orders by the rules: the library's items claim nothing, so definition order; the
# departments' claims make them the authority of their own items; 联系电话 by its fallback list
THEME_ORDERS = {"姓名": [0, 1, 2], "出生日期": [0], "婚姻状况": [0], "低保状态": [1], "就业困难类别": [2],
                "联系电话": [0, 2]}


def test_theme_library_over_a_base_library_and_resources(lib, theme) -> None:
    w = lib.world
    tid, civil, hrss = theme
    with w.db.read() as s:
        r = D.resolve(s, tid)
        assert s.get(D.Resource, tid).library == "主题库"
    assert {i.name: list(i.order) for i in r.items} == THEME_ORDERS
    assert [i.name for i in r.items if i.authority is not None] == ["低保状态", "就业困难类别"]
    done = run.fuse(w.db, Actor.system(), tid)
    assert done["fused"] and done["entities"] == 4 and done["rejected"] == 1
    srcs = [(lib.library, "公民身份号码", {n: n for n in ("姓名", "出生日期", "婚姻状况", "联系电话")}),
            (civil, "身份证号", {"姓名": "姓名", "低保状态": "低保状态"}),
            (hrss, "证件号码", {"姓名": "姓名", "就业困难类别": "就业困难类别", "联系电话": "联系电话"})]
    got = check(w, tid, srcs, THEME_ORDERS, {})
    # by hand: the population library's value (and batch) wins over the civil-affairs name; its
    # gaps are filled by the departments; only the theme's own items come from the departments
    base_batch = live(w, lib.library)[0]["_batch"]
    assert (got[A]["姓名"], got[A]["姓名__source"], got[A]["姓名__batch"]) == ("张三", lib.library, base_batch)
    assert got[A]["联系电话"] == "13900000001" and got[B]["联系电话"] == "13900000007"
    assert got[D_ID]["姓名"] == "赵六" and got[D_ID]["姓名__source"] == civil and got[D_ID]["出生日期"] is None
    assert "姓名__source" not in {i.name for i in r.items}

    # a source of the base library publishes an 更新 batch: the base library re-fuses B only, and
    # the theme library then re-fuses only what that batch touched
    before = live(w, tid)
    lib.push(3, [{"身份证号码": B, "姓名": "李四", "出生日期": None, "联系电话": "13900000009"}])
    assert run.fuse(w.db, Actor.system(), lib.library)["entities"] == 1
    with w.db.read() as s:
        assert tid in run.due_libraries(s)
    again = run.fuse(w.db, Actor.system(), tid)
    assert again["incremental"] and again["mode"] == "更新" and again["entities"] == 1
    after = {r["公民身份号码"]: r for r in live(w, tid)}
    assert after[B]["联系电话"] == "13900000009" and after[B]["联系电话__source"] == lib.library
    old = {r["公民身份号码"]: r for r in before}
    for k in (A, C, D_ID):
        assert after[k] == old[k]  # untouched: the same row of the same batch
    check(w, tid, srcs, THEME_ORDERS, {})  # and the live state is what a full fusion gives


def child_definition(lib, city_code: str, **extra: Any) -> D.DefinitionIn:
    return D.DefinitionIn(kind="person", extends=code_of(lib.world, lib.library),
                          items=[D.ItemDef(name="居住地址")],
                          sources=[D.SourceDef(resource=city_code, key="公民身份号码",
                                               items={"姓名": "姓名", "联系电话": "联系电话", "居住地址": "居住地址"})],
                          **extra)


def test_city_library_extends_the_province(lib) -> None:
    w = lib.world
    run.fuse(w.db, Actor.system(), lib.library)
    city, city_code = source(w, CITY)
    push(w, city, CITY, [{"公民身份号码": A, "姓名": "张小三", "联系电话": "13900000011", "居住地址": "翠湖路5号"},
                         {"公民身份号码": B, "姓名": "李四", "联系电话": "13900000012", "居住地址": "滇池路6号"},
                         {"公民身份号码": E_ID, "姓名": "钱七", "居住地址": "金碧路7号"}])
    # the city's steward defines it for the city's org; the city's reviewer publishes it
    child = define(w, w.actor("city_data_steward"), "city_authority", "春城市人口库", child_definition(lib, city_code),
                   reviewer="city_reviewer")
    with w.db.read() as s:
        r = D.resolve(s, child)
        parent = D.resolve(s, lib.library)
        stored = D.definition_at(s, child, 1).definition
        items = {i.name for i in s.get(D.Resource, child).items}
    assert stored["extends"] == code_of(w, lib.library) and stored["extends_version"] == 1
    assert {"公民身份号码", "姓名", "出生日期", "户籍地址", "婚姻状况", "参保状态", "联系电话", "居住地址",
            "居住地址__source"} <= items
    # the parent's items and orders first (police's authority kept), the city's source after them
    orders = {"姓名": [0, 1, 2, 3, 4, 5], "出生日期": [0, 2, 3], "户籍地址": [0, 4], "婚姻状况": [1], "参保状态": [2],
              "联系电话": [3, 2, 4, 5], "居住地址": [5]}
    assert {i.name: list(i.order) for i in r.items} == orders
    assert r.items[0].authority == 0 and [i.name for i in r.items][:6] == [i.name for i in parent.items]
    assert r.items[6].authority == 5 and r.key == parent.key == "公民身份号码"
    done = run.fuse(w.db, Actor.system(), child)
    assert done["entities"] == 4
    srcs = [*base_sources(lib), (city, "公民身份号码", {n: n for n in ("姓名", "联系电话", "居住地址")})]
    got = check(w, child, srcs, orders, {"联系电话": 365})
    assert got[A]["姓名"] == "张三" and got[A]["姓名__source"] == lib.sources[0]  # not the city's 张小三
    assert got[A]["联系电话"] == "13900000001"  # the parent's fallback order first
    assert got[B]["联系电话"] == "13900000012" and got[B]["联系电话__source"] == city  # a gap the city fills
    assert got[E_ID]["姓名"] == "钱七" and got[E_ID]["户籍地址"] is None
    with w.db.read() as s:  # the province's library is untouched by the city's
        assert D.resolve(s, lib.library).as_dict() == parent.as_dict()

    # 一数一源 in the city's region: a city source claiming 联系电话 is its authority there
    claim = ("city_police", "居住证积分信息", "公民身份号码", [("联系电话", "C", True)])
    cid, ccode = source(w, claim)
    push(w, cid, claim, [{"公民身份号码": A, "联系电话": "13900000099"}])
    d = child_definition(lib, city_code)
    d.sources.append(D.SourceDef(resource=ccode, key="公民身份号码", items={"联系电话": "联系电话"}))
    second = define(w, w.actor("city_data_steward"), "city_authority", "春城市人口库（积分）", d,
                    reviewer="city_reviewer")
    with w.db.read() as s:
        r2 = D.resolve(s, second)
    phone = next(i for i in r2.items if i.name == "联系电话")
    assert list(phone.order) == [6, 3, 2, 4, 5] and phone.authority == 6
    name = next(i for i in r2.items if i.name == "姓名")
    assert list(name.order) == [0, 1, 2, 3, 4, 5] and name.authority == 0  # the claim is on 联系电话 only
    run.fuse(w.db, Actor.system(), second)
    assert {r["公民身份号码"]: r for r in live(w, second)}[A]["联系电话"] == "13900000099"

    # pinned: the province's next version reaches the city's library when the city saves it again
    province = definition(lib.codes)
    province.items[-1].fallback = [lib.codes[2], lib.codes[3], lib.codes[4]]
    with w.db.write() as s:
        D.update_definition(s, Actor.system(), lib.library, province)
        catalog.submit_resource(s, Actor.system(), lib.library)
        catalog.publish_resource(s, w.actor("reviewer"), lib.library)
    with w.db.read() as s:
        assert list(next(i for i in D.resolve(s, child).items if i.name == "联系电话").order) == [3, 2, 4, 5]
    with w.db.write() as s:
        D.update_definition(s, w.actor("city_data_steward"), child, child_definition(lib, city_code))
        assert D.definition_at(s, child, 2).definition["extends_version"] == 2
        catalog.submit_resource(s, Actor.system(), child)
        catalog.publish_resource(s, w.actor("city_reviewer"), child)
    with w.db.read() as s:
        assert list(next(i for i in D.resolve(s, child).items if i.name == "联系电话").order) == [2, 3, 4, 5]


def _codes(exc: ValidationFailed) -> set[str]:
    return {e.code for e in exc.errors}


def refused(world, actor: Actor, org: str, d: D.DefinitionIn) -> set[str]:
    with world.db.write() as s, pytest.raises(ValidationFailed) as err:
        D.define_library(s, actor, resource_in(world, org, name="扩展资源库", items=[]), d)
    return _codes(err.value)


def test_whose_data_a_library_may_fuse(lib) -> None:
    """A department's steward builds a library over its own org's resources only: another org's
    data it gets by a share request (minimum necessary, approved). The data authority gathers its
    region's and below; extending a higher region's library (its data comes along) is the
    authority's too."""
    w = lib.world
    _city, city_code = source(w, CITY)  # 春城市公安局's, in the city
    _hrss, hrss_code = source(w, HRSS)  # 石林市人社局's, another city

    def over(code: str, key: str, item: str) -> D.DefinitionIn:
        return D.DefinitionIn(kind="person", items=[D.ItemDef(name=item)],
                              sources=[D.SourceDef(resource=code, key=key, items={item: item})])

    city_def, hrss_def = over(city_code, "公民身份号码", "居住地址"), over(hrss_code, "证件号码", "就业困难类别")
    with w.db.read() as s:
        assert D.check(s, city_def, org_id=w.orgs["city_police"].id).errors == []  # its own resource
        assert D.check(s, city_def, org_id=w.orgs["city_authority"].id).errors == []  # its region's
        assert D.check(s, city_def, org_id=w.orgs["authority"].id).errors == []  # a region below the province
    assert refused(w, w.actor("police_steward"), "police", city_def) == {"library_source_not_authorised"}
    assert refused(w, w.actor("city_data_steward"), "city_authority", hrss_def) == {"library_source_not_authorised"}
    extending = child_definition(lib, city_code)
    assert refused(w, w.actor("city_steward"), "city_police", extending) == {"library_extends_not_authority"}


def test_extending_refusals(lib, client) -> None:
    w = lib.world
    _city, city_code = source(w, CITY)
    parent = code_of(w, lib.library)
    steward = w.actor("city_data_steward")
    # the parent's item types and freshness stay
    bad_type = child_definition(lib, city_code)
    bad_type.items.append(D.ItemDef(name="出生日期", data_type="C"))
    assert "library_extends_item_type" in refused(w, steward, "city_authority", bad_type)
    bad_rule = child_definition(lib, city_code)
    bad_rule.items.append(D.ItemDef(name="联系电话", fresh_days=30))
    assert refused(w, steward, "city_authority", bad_rule) == {"library_extends_item_rule"}
    ok = child_definition(lib, city_code)  # restating one with its type, to order the child's sources
    ok.items.append(D.ItemDef(name="联系电话", fallback=[city_code]))
    with w.db.write() as s:
        assert D.check(s, ok, org_id=w.orgs["city_authority"].id).errors == []
    # a plain resource, a draft library, the other kind, the same region, a lower region
    assert refused(w, steward, "city_authority", child_definition(lib, city_code).model_copy(
        update={"extends": lib.codes[0]})) == {"library_extends_not_library"}
    with w.db.write() as s:
        draft = D.define_library(s, Actor.system(), resource_in(w, "authority", name="草稿库", items=[]),
                                 D.DefinitionIn(kind="person", items=[D.ItemDef(name="居住地址")], sources=[
                                     D.SourceDef(resource=city_code, key="公民身份号码",
                                                 items={"居住地址": "居住地址"})]))
        draft_code = draft.code
    assert refused(w, steward, "city_authority", child_definition(lib, city_code).model_copy(
        update={"extends": draft_code})) == {"library_extends_unpublished"}
    assert "library_extends_kind" in refused(w, steward, "city_authority", child_definition(lib, city_code).model_copy(
        update={"kind": "org"}))
    assert refused(w, Actor.system(), "authority", child_definition(lib, city_code)) == {"library_extends_region"}
    assert "library_extends_key" in refused(w, steward, "city_authority", child_definition(lib, city_code).model_copy(
        update={"key": "身份证号"}))
    child = define(w, steward, "city_authority", "春城市人口库", child_definition(lib, city_code),
                   reviewer="city_reviewer")
    _other, other_code = source(w, ("market", "个体工商户经营者信息", "公民身份号码", [("经营状态", "C", True)]))
    lower = D.DefinitionIn(kind="person", extends=code_of(w, child), items=[D.ItemDef(name="经营状态")],
                           sources=[D.SourceDef(resource=other_code, key="公民身份号码",
                                                items={"经营状态": "经营状态"})])
    assert refused(w, w.actor("market_steward"), "market", lower) == {"library_extends_region",
                                                                      "library_extends_not_authority"}
    assert parent != code_of(w, child)
    # over HTTP: 422 with the code and both languages
    body = {"resource": resource_in(w, "city_authority", name="扩展资源库", items=[]).model_dump(mode="json"),
            "definition": bad_type.model_dump(mode="json")}
    res = client.post("/api/v1/libraries", json=body, headers=w.headers("city_data_steward"))
    assert res.status_code == 422, res.text
    err = next(e for e in res.json()["errors"] if e["code"] == "library_extends_item_type")
    assert err["field"] == "items.1.data_type" and "出生日期" in err["message"] and "出生日期" in err["message_en"]
    assert "type" in err["message_en"] and res.json()["detail_en"]
    res = client.get(f"/api/v1/libraries/{child}", headers=w.headers("city_data_steward"))
    assert res.status_code == 200 and res.json()["definition"]["extends"] == parent
    assert [i["name"] for i in res.json()["resolved"]["items"]][-1] == "居住地址"


def test_cycles_and_provenance_columns(lib, theme) -> None:
    w = lib.world
    tid, civil, _hrss = theme
    t_code, base = code_of(w, tid), code_of(w, lib.library)
    # the base library drawing on the theme library that draws on it
    d = D.DefinitionIn.model_validate(lib_definition(w, lib.library))
    d.sources.append(D.SourceDef(resource=t_code, key="公民身份号码", items={"姓名": "姓名"}))
    with w.db.write() as s, pytest.raises(ValidationFailed) as err:
        D.update_definition(s, Actor.system(), lib.library, d)
    assert _codes(err.value) == {"library_cycle"}
    # the theme library drawing on itself
    t = D.DefinitionIn.model_validate(lib_definition(w, tid))
    t.sources.append(D.SourceDef(resource=t_code, key="公民身份号码", items={"低保状态": "低保状态"}))
    with w.db.write() as s, pytest.raises(ValidationFailed) as err:
        D.update_definition(s, Actor.system(), tid, t)
    assert "library_cycle" in _codes(err.value)
    # extending a library that draws on... the extending one: province theme over a city library
    _city, city_code = source(w, CITY)
    child = define(w, w.actor("city_data_steward"), "city_authority", "春城市人口库", child_definition(lib, city_code),
                   reviewer="city_reviewer")
    d = D.DefinitionIn.model_validate(lib_definition(w, lib.library))
    d.sources.append(D.SourceDef(resource=code_of(w, child), key="公民身份号码", items={"姓名": "居住地址"}))
    with w.db.write() as s, pytest.raises(ValidationFailed) as err:
        D.update_definition(s, Actor.system(), lib.library, d)
    assert _codes(err.value) == {"library_cycle"}
    # provenance columns are not items; a library of the other kind is not a source
    bad = theme_definition(lib, code_of(w, civil), code_of(w, _hrss))
    bad.sources[0].items["姓名"] = "姓名__source"
    with w.db.write() as s:
        faults = [(e.field, e.code) for e in D.check(s, bad).errors]
    assert faults == [("sources.0.items.姓名", "library_provenance_item")]
    with w.db.write() as s:
        codes = _codes(D.check(s, theme_definition(lib, code_of(w, civil), code_of(w, _hrss)).model_copy(
            update={"kind": "org"})))
    assert "library_source_kind" in codes and base
    # a library that is a source must be published (a draft's rows are not the library's)
    with w.db.write() as s:
        draft = D.define_library(s, Actor.system(), resource_in(w, "authority", name="低保库", items=[]),
                                 D.DefinitionIn(kind="person", items=[D.ItemDef(name="低保状态")], sources=[
                                     D.SourceDef(resource=code_of(w, civil), key="身份证号",
                                                 items={"低保状态": "低保状态"})]))
        over_draft = theme_definition(lib, code_of(w, civil), code_of(w, _hrss))
        over_draft.sources[0].resource = draft.code
        faults = [(e.field, e.code) for e in D.check(s, over_draft).errors]
    assert ("sources.0.resource", "library_source_unpublished") in faults


def lib_definition(world, rid: int) -> dict:
    with world.db.read() as s:
        r = s.get(D.Resource, rid)
        return dict(D.definition_at(s, rid, r.version).definition)


def test_who_may_define_and_fuse(lib, theme, client) -> None:
    w = lib.world
    tid, civil, hrss = theme
    d = theme_definition(lib, code_of(w, civil), code_of(w, hrss))
    # a steward defines for its own org only (the catalogue's rule); nothing is checked first
    with w.db.write() as s, pytest.raises(PermissionDenied):
        D.define_library(s, w.actor("city_steward"), resource_in(w, "authority", name="主题库", items=[]), d)
    with w.db.write() as s, pytest.raises(PermissionDenied):
        D.define_library(s, w.actor("police_steward"), resource_in(w, "city_police", name="主题库", items=[]),
                         D.DefinitionIn(kind="person", extends="无此资源"))
    with w.db.write() as s, pytest.raises(PermissionDenied):
        D.update_definition(s, w.actor("police_steward"), tid, d)
    with pytest.raises(PermissionDenied):
        run.fuse(w.db, w.actor("county_steward"), tid)
    body = {"resource": resource_in(w, "authority", name="主题库", items=[]).model_dump(mode="json"),
            "definition": d.model_dump(mode="json")}
    assert client.post("/api/v1/libraries", json=body, headers=w.headers("city_steward")).status_code == 403
    res = client.put(f"/api/v1/libraries/{tid}/definition", json=d.model_dump(mode="json"),
                     headers=w.headers("police_steward"))
    assert res.status_code == 403
    # listed with its source library
    listed = client.get("/api/v1/libraries", headers=w.headers("admin")).json()["libraries"]
    mine = next(x for x in listed if x["id"] == tid)
    assert mine["library"] == "主题库" and mine["extends"] is None
    assert [x["id"] for x in mine["source_libraries"]] == [lib.library]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # about the adapters, not the store
def test_cli_and_console_show_what_a_library_draws_on(lib, theme, client) -> None:
    import json

    from typer.testing import CliRunner

    from tests.web.conftest import login
    from yibenzhang.cli import app

    w = lib.world
    tid, _civil, _hrss = theme
    city, city_code = source(w, CITY)
    push(w, city, CITY, [{"公民身份号码": E_ID, "姓名": "钱七", "居住地址": "金碧路7号"}])
    child = define(w, w.actor("city_data_steward"), "city_authority", "春城市人口库", child_definition(lib, city_code),
                   reviewer="city_reviewer")
    base = code_of(w, lib.library)

    def ybz(*args: str) -> Any:
        result = CliRunner().invoke(app, ["library", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    listed = {x["id"]: x for x in ybz("list", "--json")}
    assert listed[child]["extends"]["code"] == base and listed[child]["extends_version"] == 1
    assert [x["code"] for x in listed[tid]["source_libraries"]] == [base] and listed[tid]["library"] == "主题库"
    run.fuse(w.db, Actor.system(), lib.library)
    assert ybz("fuse", code_of(w, child), "--json")["entities"] == 4  # A, B, C and the city's own
    assert ybz("fuse", str(tid), "--json")["entities"] == 4
    refused = CliRunner().invoke(app, ["library", "fuse", str(child), "--as", "police_steward"])
    assert refused.exit_code == 2

    assert login(client, "city_data_steward").status_code == 303
    page = client.get("/console/libraries").text
    assert f'data-extends="{lib.library}"' in page and f'data-source-library="{lib.library}"' in page
    record = client.get(f"/console/libraries/{child}/record").text
    assert f'data-extends="{lib.library}"' in record and base in record and "扩展自" in record
    theme_page = client.get(f"/console/libraries/{tid}/record").text
    assert f'data-source-library="{lib.library}"' in theme_page
