"""The demo province's 人口库 and 法人库 (issue 21): each fused from five contributing resources of
five departments, with planted conflicts (another name, birth date, address, registered capital),
15-digit legacy IDs, full-width and spaced keys, and invalid keys. On top of them (item 5): the
社会救助主题库, a theme library over the 人口库 and three departments' rolls, and 春城市人口库, the
city's library extending the province's 人口库 with a city source (省市共建共用). Everything goes
through the services (catalogue, collection, definition, fusion), deterministically for a seed;
a few hundred entities keep `make demo` quick."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import ric

from ..access import Actor
from ..catalog import service as catalog
from ..catalog.model import System
from ..catalog.schemas import ItemIn, ResourceIn, SystemIn
from ..codes import uscc_check_character
from ..db import Database
from ..orgs.model import Org
from . import definition as D
from . import run

PEOPLE = 300
FIRMS = 200
SOURCE_KIND = "demo-library"  # collection source kind of the demo's library sources
SURNAMES = "张王李赵刘陈杨黄周吴"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚"
ROADS = ("人民路", "北京路", "青年路", "滇池路", "金碧路", "学府路")
REGIONS = ("530102", "530103", "530111", "530112", "532301")

# (org name, resource name, key item, [(item, type, authoritative)])
PERSON_SOURCES = [
    ("云岭省公安厅", "户籍人口基础信息（融合来源）", "公民身份号码",
     [("姓名", "C", True), ("性别", "C", True), ("出生日期", "D", True), ("民族", "C", True), ("户籍地址", "C", True)]),
    ("云岭省民政厅", "婚姻登记信息（融合来源）", "身份证号", [("姓名", "C", False), ("婚姻状况", "C", True)]),
    ("云岭省人力资源和社会保障厅", "社会保险参保信息（融合来源）", "证件号码",
     [("姓名", "C", False), ("出生日期", "D", False), ("参保状态", "C", True), ("联系电话", "C", False)]),
    ("云岭省卫生健康委员会", "居民健康档案（融合来源）", "身份证号码",
     [("姓名", "C", False), ("出生日期", "D", False), ("联系电话", "C", False)]),
    ("云岭省教育厅", "学籍学历信息（融合来源）", "公民身份号码",
     [("姓名", "C", False), ("户籍地址", "C", False), ("最高学历", "C", True)]),
]
ORG_SOURCES = [
    ("云岭省市场监督管理局", "企业登记基础信息（融合来源）", "统一社会信用代码",
     [("企业名称", "C", True), ("法定代表人", "C", True), ("注册资本", "C", True), ("住所", "C", True),
      ("成立日期", "D", True)]),
    ("国家税务总局云岭省税务局", "纳税人登记信息（融合来源）", "纳税人识别号",
     [("企业名称", "C", False), ("纳税信用等级", "C", True)]),
    ("云岭省人力资源和社会保障厅", "单位参保登记信息（融合来源）", "统一社会信用代码",
     [("企业名称", "C", False), ("参保职工人数", "C", True)]),
    ("云岭省统计局", "名录库单位信息（融合来源）", "统一社会信用代码",
     [("企业名称", "C", False), ("法定代表人", "C", False), ("行业分类", "C", True)]),
    ("云岭省商务厅", "外贸经营者备案信息（融合来源）", "统一社会信用代码",
     [("企业名称", "C", False), ("住所", "C", False), ("成立日期", "D", False)]),
]
# the theme library's departments' rolls (a subset of the people each) and the city's source
THEME_SOURCES = [
    ("云岭省民政厅", "最低生活保障对象信息（融合来源）", "身份证号",
     [("姓名", "C", False), ("低保状态", "C", True), ("保障人数", "C", True)]),
    ("云岭省人力资源和社会保障厅", "就业困难人员认定信息（融合来源）", "证件号码",
     [("姓名", "C", False), ("就业困难类别", "C", True), ("联系电话", "C", False)]),
    ("云岭省卫生健康委员会", "大病专项救治信息（融合来源）", "身份证号码",
     [("姓名", "C", False), ("大病救治状态", "C", True)]),
]
CITY_SOURCES = [
    ("春城市公安局", "流动人口居住登记信息（融合来源）", "公民身份号码",
     [("姓名", "C", False), ("联系电话", "C", False), ("居住地址", "C", True)]),
]
THEME = "社会救助主题库"
CITY_LIBRARY = "春城市人口库"


def _id(rng: random.Random) -> tuple[str, str | None]:
    """An 18-digit ID and, for people born in the 1900s, its 15-digit legacy form."""
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
    body = f"{rng.choice(REGIONS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    full = body + ric.calc_check_digit(body + "0")
    return full, body[:6] + body[8:17] if born.year < 2000 else None


def _uscc(rng: random.Random) -> str:
    body = f"91{rng.choice(REGIONS)}" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + uscc_check_character(body)


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def _system(s: Session, org: Org) -> int:
    found = s.execute(select(System.id).where(System.org_id == org.id).order_by(System.id).limit(1)).scalar()
    if found is not None:
        return int(found)
    return catalog.create_system(s, Actor.system(), SystemIn(org_id=org.id, name=f"{org.name}业务系统")).id


def _resource(s: Session, org: Org, name: str, category: str, key: str, items: list, library: str,
              abstract: str) -> Any:
    data = ResourceIn(
        name=name, abstract=abstract, org_id=org.id, category_code=category, library=library,
        format_kind="数据库", format_detail="parquet", system_id=_system(s, org), share_type="有条件共享",
        share_condition="仅限履行法定职责使用", share_method="接口", open_type="不予开放", update_cycle="每日",
        items=[ItemIn(name=key, data_type="C", length=18, required=True, is_key=True),
               *[ItemIn(name=n, data_type=t, authoritative=a, element=n if a else None) for n, t, a in items]])
    r = catalog.create_resource(s, Actor.system(), data)
    catalog.submit_resource(s, Actor.system(), r.id)
    catalog.publish_resource(s, Actor.system(), r.id, "演示：资源库融合来源")
    for item in r.items:  # graded as a steward would confirm them (masking of 一人一档 looks at grades)
        item.grade = "一般-4级" if item.is_key else "一般-3级"
    return r


def _people(rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for _ in range(PEOPLE):
        full, legacy = _id(rng)
        born = date(int(full[6:10]), int(full[10:12]), int(full[12:14]))
        out.append({"id": full, "legacy": legacy, "姓名": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                    "性别": "男" if int(full[16]) % 2 else "女", "出生日期": born,
                    "民族": rng.choice(["汉族", "彝族", "白族"]),
                    "户籍地址": f"云岭省春城市{rng.choice(ROADS)}{rng.randrange(1, 300)}号",
                    "婚姻状况": rng.choice(["未婚", "已婚", "离婚"]), "参保状态": rng.choice(["参保缴费", "暂停缴费"]),
                    "联系电话": f"139{rng.randrange(10**8):08d}", "最高学历": rng.choice(["本科", "高中", "研究生"])})
    return out


def _firms(rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for n in range(FIRMS):
        trade = rng.choice(["科技", "商贸", "物流"])
        out.append({"id": _uscc(rng), "legacy": None, "企业名称": f"云岭{trade}{n}有限公司",
                    "法定代表人": rng.choice(SURNAMES) + rng.choice(GIVEN),
                    "注册资本": f"{rng.randrange(10, 5000)}万元",
                    "住所": f"云岭省春城市{rng.choice(ROADS)}{rng.randrange(1, 300)}号",
                    "成立日期": date(1995, 1, 1) + timedelta(days=rng.randrange(9000)),
                    "纳税信用等级": rng.choice("ABCDM"), "参保职工人数": str(rng.randrange(1, 500)),
                    "行业分类": rng.choice(["I65", "F51", "G54"])})
    return out


CONFLICTS = {"姓名": lambda v: v[0] + "晓" + v[2:], "出生日期": lambda v: v + timedelta(days=1),
             "户籍地址": lambda v: v.replace("号", "号附1"), "法定代表人": lambda v: v + "某",
             "住所": lambda v: v.replace("号", "号之二"), "企业名称": lambda v: v.replace("有限公司", "公司"),
             "成立日期": lambda v: v + timedelta(days=30)}


def _table(rng: random.Random, entities: list[dict], key: str, items: list, index: int) -> pa.Table:
    """A source's rows: most entities, some values disagreeing (planted conflicts), some keys in
    legacy, full-width or spaced form, and a few invalid keys."""
    rows: dict[str, list] = {key: [], **{n: [] for n, _, _ in items}}
    for e in entities:
        if rng.random() < 0.15:
            continue
        k = e["id"]
        roll = rng.random()
        if e["legacy"] and roll < 0.08:
            k = e["legacy"]
        elif roll < 0.12:
            k = _fullwidth(k)
        elif roll < 0.15:
            k = f" {k[:6]} {k[6:]}"
        elif roll < 0.17:
            k = k[:-1] + ("0" if k[-1] != "0" else "1")  # a wrong check character
        rows[key].append(k)
        for n, _, authoritative in items:
            v = e[n]
            if index > 0 and not authoritative and n in CONFLICTS and rng.random() < 0.06:
                v = CONFLICTS[n](v)
            rows[n].append(v)
    types = {n: pa.date32() if t == "D" else pa.string() for n, t, _ in items}
    return pa.table({key: pa.array(rows[key], pa.string()),
                     **{n: pa.array(rows[n], types[n]) for n, _, _ in items}})


def _library(db: Database, rng: random.Random, kind: str, specs: list, entities: list[dict], name: str,
             category: str, canonical: list[tuple[str, str]], fallback: dict[str, list[int]]) -> dict[str, Any]:
    # deferred: keeps httpx out of this module's import
    from ..collect.pipeline import ingest_arrow

    codes, ids = [], []
    with db.write() as s:
        orgs = {o.name: o for o in s.execute(select(Org)).scalars()}
        for org_name, res_name, key, items in specs:
            r = _resource(s, orgs[org_name], res_name, category, key, items, "基础库",
                          f"{res_name}：{orgs[org_name].name}归集的{name}融合来源数据。")
            codes.append(r.code)
            ids.append(r.id)
        owner_id = orgs["云岭省数据局"].id
    for n, (_org, _res, key, items) in enumerate(specs):
        ingest_arrow(db, Actor.system(), ids[n], _table(rng, entities, key, items, n).to_batches(),
                     source={"kind": SOURCE_KIND}, mode="全量")
    sources = [D.SourceDef(resource=codes[n], key=key, items={i: i for i, _, _ in items})
               for n, (_, _, key, items) in enumerate(specs)]
    d = D.DefinitionIn(kind=kind, items=[D.ItemDef(name=c, data_type=t, fallback=[codes[i] for i in fallback[c]]
                                                   if c in fallback else None) for c, t in canonical],
                       sources=sources)
    abstract = f"{name}：由{len(specs)}个部门归集的数据融合而成，每项取权威来源（一数一源）。"
    return _define(db, owner_id, name, category, "基础库", abstract, d, len(specs))


def _define(db: Database, owner_id: int, name: str, category: str, library: str, abstract: str, d: D.DefinitionIn,
            sources: int) -> dict[str, Any]:
    """Define, review and publish a library, then fuse it."""
    with db.write() as s:
        owner = s.get(Org, owner_id)
        meta = ResourceIn(name=name, abstract=abstract,
                          org_id=owner.id, category_code=category, library=library, format_kind="数据库",
                          format_detail="parquet", system_id=_system(s, owner), share_type="有条件共享",
                          share_condition="仅限履行法定职责使用（一人一档/一企一档）", share_method="接口",
                          open_type="不予开放", update_cycle="每日")
        lib = D.define_library(s, Actor.system(), meta, d)
        catalog.submit_resource(s, Actor.system(), lib.id)
        catalog.publish_resource(s, Actor.system(), lib.id, "演示：资源库定义")
        lib_id, code = lib.id, lib.code
    done = run.fuse(db, Actor.system(), lib_id)
    return {"library_id": lib_id, "code": code, "entities": done["entities"], "conflicts": done["conflicts"],
            "rejected": done["rejected"], "sources": sources}


def _collect(db: Database, rng: random.Random, specs: list, entities: list[dict], category: str,
             library: str, purpose: str) -> list[str]:
    """Catalogue each source (published) and collect its rows; their codes."""
    # deferred: keeps httpx out of this module's import
    from ..collect.pipeline import ingest_arrow

    ids, codes = [], []
    with db.write() as s:
        orgs = {o.name: o for o in s.execute(select(Org)).scalars()}
        for org_name, res_name, key, items in specs:
            r = _resource(s, orgs[org_name], res_name, category, key, items, library,
                          f"{res_name}：{orgs[org_name].name}归集的{purpose}数据。")
            ids.append(r.id)
            codes.append(r.code)
    for n, (_org, _res, key, items) in enumerate(specs):
        ingest_arrow(db, Actor.system(), ids[n], _table(rng, entities, key, items, n + 1).to_batches(),
                     source={"kind": SOURCE_KIND}, mode="全量")
    return codes


def _theme(db: Database, rng: random.Random, people: list[dict], base: dict[str, Any]) -> dict[str, Any]:
    """社会救助主题库 over the 人口库 (a published base library as a source) and three rolls."""
    rolls = [[{**p, "低保状态": rng.choice(["在保", "停保"]), "保障人数": str(rng.randrange(1, 6))}
              for p in rng.sample(people, 60)],
             [{**p, "就业困难类别": rng.choice(["长期失业人员", "零就业家庭成员", "残疾人"])}
              for p in rng.sample(people, 40)],
             [{**p, "大病救治状态": rng.choice(["救治中", "已结案"])} for p in rng.sample(people, 30)]]
    codes = []
    for spec, roll in zip(THEME_SOURCES, rolls, strict=True):
        codes += _collect(db, rng, [spec], roll, "203002", "主题库", THEME)
    base_items = ("姓名", "性别", "出生日期", "户籍地址", "联系电话")
    sources = [D.SourceDef(resource=base["code"], key="公民身份号码", items={i: i for i in base_items})]
    sources += [D.SourceDef(resource=codes[n], key=key, items={i: i for i, _, _ in items})
                for n, (_, _, key, items) in enumerate(THEME_SOURCES)]
    items = [D.ItemDef(name=n, data_type="D" if n == "出生日期" else "C",
                       fallback=[base["code"], codes[1]] if n == "联系电话" else None) for n in base_items]
    items += [D.ItemDef(name=n) for n in ("低保状态", "保障人数", "就业困难类别", "大病救治状态")]
    with db.read() as s:
        owner = s.execute(select(Org.id).where(Org.name == "云岭省数据局")).scalar_one()
    abstract = f"{THEME}：以人口综合库为基础，融合民政、人力资源社会保障、卫生健康部门的救助对象信息（主题库）。"
    return _define(db, owner, THEME, "203002", "主题库", abstract,
                   D.DefinitionIn(kind="person", items=items, sources=sources), len(sources))


def _city(db: Database, rng: random.Random, people: list[dict], base: dict[str, Any]) -> dict[str, Any]:
    """春城市人口库: the province's 人口库 extended with the city's residence register (省市共建)."""
    residents = rng.sample(people, 80) + _people(rng)[:20]  # some from the province, some only here
    residents = [{**p, "居住地址": f"春城市{rng.choice(ROADS)}{rng.randrange(1, 300)}号"} for p in residents]
    codes = _collect(db, rng, CITY_SOURCES, residents, "101001", "基础库", CITY_LIBRARY)
    _org, _name, key, spec_items = CITY_SOURCES[0]
    d = D.DefinitionIn(kind="person", extends=base["code"], items=[D.ItemDef(name="居住地址")],
                       sources=[D.SourceDef(resource=codes[0], key=key, items={i: i for i, _, _ in spec_items})])
    with db.read() as s:
        owner = s.execute(select(Org.id).where(Org.name == "春城市数据局")).scalar_one()
    abstract = f"{CITY_LIBRARY}：扩展省人口综合库（省市共建共用），补充本市流动人口居住登记信息。"
    out = _define(db, owner, CITY_LIBRARY, "101001", "基础库", abstract, d, len(d.sources))
    return {**out, "extends": base["code"]}


def load(db: Database, seed: int) -> dict[str, Any]:
    rng = random.Random(seed * 21)
    persons = _people(rng)
    people = _library(db, rng, "person", PERSON_SOURCES, persons, "人口综合库", "101001",
                      [("姓名", "C"), ("性别", "C"), ("出生日期", "D"), ("民族", "C"), ("户籍地址", "C"),
                       ("婚姻状况", "C"), ("参保状态", "C"), ("联系电话", "C"), ("最高学历", "C")],
                      {"联系电话": [3, 2]})
    firms = _library(db, rng, "org", ORG_SOURCES, _firms(rng), "法人综合库", "102001",
                     [("企业名称", "C"), ("法定代表人", "C"), ("注册资本", "C"), ("住所", "C"), ("成立日期", "D"),
                      ("纳税信用等级", "C"), ("参保职工人数", "C"), ("行业分类", "C")], {})
    more = random.Random(seed * 21 + 5)  # its own stream: the base libraries stay as they were
    theme = _theme(db, more, persons, people)
    city = _city(db, more, persons, people)
    return {"libraries": {"人口综合库": people, "法人综合库": firms, THEME: theme, CITY_LIBRARY: city}}
