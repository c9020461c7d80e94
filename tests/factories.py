"""A small, known province for tests: regions, orgs of each kind, users of each role, a system."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yibenzhang.access import Actor
from yibenzhang.catalog import service as catalog
from yibenzhang.catalog.schemas import ItemIn, ResourceIn, SystemIn
from yibenzhang.codes import make_uscc
from yibenzhang.db import Database
from yibenzhang.orgs import service as orgs
from yibenzhang.orgs.service import RoleSpec

PASSWORD = "correct-horse-9"


@dataclass
class World:
    db: Database
    orgs: dict[str, Any] = field(default_factory=dict)
    regions: dict[str, Any] = field(default_factory=dict)
    systems: dict[str, int] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)

    def actor(self, username: str) -> Actor:
        return self.actors[username]

    def token(self, username: str) -> str:
        with self.db.write() as s:
            _, value = orgs.create_token(s, Actor.system(), username=username)
        return value

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}


ORGS = {
    # key: (name, uscc first 17, kind, region)
    "authority": ("云岭省大数据发展管理局", "11990000MB0000001", "数据主管部门", "990000"),
    "police": ("云岭省公安厅", "11990000MB0000002", "政府部门", "990000"),
    "market": ("云岭省市场监督管理局", "11990000MB0000003", "政府部门", "990000"),
    "hospital": ("云岭省人民医院", "12990000MB0000004", "事业单位", "990000"),
    "water": ("云岭水务集团有限公司", "91990000MA0000005", "公共企业", "990000"),
    "city_authority": ("春城市大数据局", "11990100MB0000006", "数据主管部门", "990100"),
    "city_police": ("春城市公安局", "11990100MB0000007", "政府部门", "990100"),
    "county_civil": ("安宁县民政局", "11990101MB0000008", "政府部门", "990101"),
    "other_city_org": ("石林市人力资源和社会保障局", "11990200MB0000009", "政府部门", "990200"),
    "operator": ("云岭数据运营有限公司", "91990000MA0000010", "授权运营机构", "990000"),
}

USERS = {
    # username: [(role, org key or None, region or None)]
    "admin": [("平台管理员", None, None)],
    # 三员分立 (issue 23): the legacy admin keeps the system administrator's powers only.
    "secadmin": [("安全管理员", None, None)],
    "audadmin": [("审计管理员", None, None)],
    "reviewer": [("主管部门审核员", None, "990000")],
    "city_reviewer": [("主管部门审核员", None, "990100")],
    "other_reviewer": [("主管部门审核员", None, "990200")],
    "police_steward": [("数据专员", "police", None)],
    "market_steward": [("数据专员", "market", None)],
    "city_steward": [("数据专员", "city_police", None)],
    "city_data_steward": [("数据专员", "city_authority", None)],  # the city's data authority (省市共建)
    "county_steward": [("数据专员", "county_civil", None)],
    "police_approver": [("机构审批人", "police", None)],
    "consumer": [("数据使用方", "market", None)],
    "auditor": [("审计员", None, None)],
    "citizen": [("社会公众", None, None)],
    "operator_user": [("运营方", "operator", None)],
}


def build_world(db: Database) -> World:
    w = World(db=db)
    system = Actor.system()
    with db.write() as s:
        for code, name, parent in [("990000", "云岭省", None), ("990100", "春城市", "990000"),
                                   ("990101", "安宁县", "990100"), ("990200", "石林市", "990000"),
                                   ("990201", "宜良县", "990200")]:
            w.regions[code] = orgs.create_region(s, system, code=code, name=name, parent_code=parent).id
        for key, (name, first17, kind, region) in ORGS.items():
            org = orgs.create_org(s, system, name=name, uscc=make_uscc(first17), kind=kind, region_code=region)
            w.orgs[key] = org
            w.systems[key] = catalog.create_system(s, system, SystemIn(org_id=org.id, name=f"{name}业务系统")).id
        for username, roles in USERS.items():
            specs = [RoleSpec(role, w.orgs[o].uscc if o else None, region) for role, o, region in roles]
            user = orgs.create_user(s, system, username=username, display_name=username, password=PASSWORD,
                                    roles=specs)
            w.users[username] = user.id
            w.actors[username] = orgs.actor_for(s, user)
    return w


def resource_in(world: World, org: str = "police", **overrides: Any) -> ResourceIn:
    """A valid resource description; override any field to make it invalid."""
    data: dict[str, Any] = {
        "name": "人口基本信息",
        "abstract": "全省户籍人口的姓名、公民身份号码、性别、出生日期和住址等基本信息。",
        "org_id": world.orgs[org].id,
        "category_code": "101001",
        "library": "基础库",
        "format_kind": "数据库",
        "format_detail": "parquet",
        "system_id": world.systems[org],
        "share_type": "有条件共享",
        "share_condition": "仅限履行法定职责使用",
        "share_method": "接口",
        "open_type": "不予开放",
        "update_cycle": "每日",
        "items": [
            ItemIn(name="姓名", data_type="C", length=50, required=True),
            ItemIn(name="公民身份号码", data_type="C", length=18, required=True, is_key=True),
            ItemIn(name="出生日期", data_type="D"),
        ],
    }
    data.update(overrides)
    return ResourceIn(**data)


def published(world: World, org: str = "police", reviewer: str = "reviewer", **overrides: Any) -> int:
    """Create, submit and publish a resource; returns its id."""
    with world.db.write() as s:
        r = catalog.create_resource(s, Actor.system(), resource_in(world, org, **overrides))
        catalog.submit_resource(s, Actor.system(), r.id)
        catalog.publish_resource(s, world.actor(reviewer), r.id)
        return r.id
