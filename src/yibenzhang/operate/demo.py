"""Demo data of authorized operation: the demo's operator orgs (created here with a valid USCC if
the catalogue has none) get authorizations in every state over two province resources with rows
(their items graded through classify: suggested by the platform, confirmed by the steward), and
a few sandbox runs, released and refused. Deterministic for a seed; runs once on a fresh store."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor
from ..catalog.model import Resource
from ..classify.demo import grade_as_steward
from ..codes import make_uscc
from ..config import get_settings
from ..db import Database
from ..enums import OrgKind, RegionLevel, ResourceStatus, Role
from ..orgs import service as orgs
from ..orgs.model import Org, Region, User
from ..zone.model import Batch, BatchStatus
from . import authorizations as auths
from . import sandbox

DEMO_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def _operators(s: Session, province: Region, rng: random.Random) -> list[tuple[Org, User, str | None]]:
    """The province's operator orgs with one 运营方 user each; created when the demo has none."""
    found = list(s.scalars(select(Org).where(Org.kind == OrgKind.OPERATOR.value, Org.region_id == province.id)
                           .order_by(Org.id)))
    out: list[tuple[Org, User, str | None]] = []
    for org in found[:2]:
        user = orgs.first_user_with(s, Role.OPERATOR, org_id=org.id)
        if user is not None:
            out.append((org, user, None))
    system = Actor.system()
    n = 0
    while len(out) < 2:
        n += 1
        org = orgs.create_org(s, system, name=f"{province.name}数据运营服务有限公司{n}",
                              uscc=make_uscc(f"91{province.code}MA6YB00{n:02d}"), kind=OrgKind.OPERATOR.value,
                              region_code=province.code)
        password = "Ybz-" + "".join(rng.choice(DEMO_PASSWORD_ALPHABET) for _ in range(8))
        user = orgs.create_user(s, system, username=f"demo_operator_{n}", display_name=f"运营方{n}",
                                password=password, roles=[orgs.RoleSpec(Role.OPERATOR.value, org.uscc, None)])
        out.append((org, user, password))
    return out


def _resources(s: Session, province: Region) -> list[Resource]:
    """Published province resources with rows in the zone and at least three items."""
    with_rows = select(Batch.resource_id).where(Batch.status == BatchStatus.PUBLISHED.value)
    rows = s.scalars(select(Resource).where(Resource.region_id == province.id,
                                            Resource.status == ResourceStatus.PUBLISHED.value,
                                            Resource.id.in_(with_rows)).order_by(Resource.id))
    return [r for r in rows if len(r.items) >= 3]


def _group_item(resource: Resource, usable: tuple[str, ...]) -> str:
    """An item worth grouping by: one with an enumeration, else the first that is not a key."""
    items = [i for i in resource.items if i.name in usable]
    for item in items:
        if item.enumeration and not item.is_key:
            return item.name
    return next((i.name for i in items if not i.is_key), usable[0])


def _query_sql(view: Any, group: str, k: int) -> list[str]:
    """Released: a grouped count, a total, a masked sample; refused: groups of one row, a file read."""
    return [
        f'SELECT "{group}", count(*) AS n FROM {view.name} GROUP BY 1 HAVING count(*) >= {k} ORDER BY n DESC',
        f"SELECT count(*) AS n FROM {view.name}",
        f"SELECT * FROM {view.name} LIMIT 20",
        f'SELECT "{view.items[0]}", "{group}", count(*) AS n FROM {view.name} GROUP BY 1, 2',
        "SELECT * FROM read_csv('/etc/passwd')",
    ]


def load(db: Database, seed: int) -> dict[str, Any]:
    rng = random.Random(seed * 7919 + 7)
    with db.write() as s:
        province = s.scalars(select(Region).where(Region.level == RegionLevel.PROVINCE.value)
                             .order_by(Region.id)).first()
        if province is None:
            return {}
        operators = [(o.id, u.id, u.username, p) for o, u, p in _operators(s, province, rng)]
        reviewer = orgs.first_user_with(s, Role.REVIEWER, region_id=province.id)
        reviewer_actor = orgs.actor_for(s, reviewer) if reviewer else Actor.system()
        resources = [r.id for r in _resources(s, province)]
    if len(resources) < 2:
        return {"operate": {"authorizations": 0, "reason": "no province resources with rows"}}
    picked = sorted(rng.sample(resources[: min(len(resources), 12)], 2))
    for rid in picked:
        grade_as_steward(db, rid)

    this_year = workdays.today().year
    start = date(this_year, 1, 1)
    term_end = auths.latest_end(start)
    plan = [  # (operator index, resource index, scope kind, scope, purpose, start, end, then)
        (0, 0, "场景", "普惠金融", "小微企业信用评估模型开发", start, term_end, None),
        (1, 1, "领域", "医疗健康", "区域医疗资源配置分析", start, term_end, "暂停"),
        (0, 1, "全域", None, "城市运行指标统计", start, date(this_year, 12, 31), "撤销"),
        (1, 0, "场景", "社会治理", "基层治理数据报告（试点）", date(this_year - 5, 1, 1),
         date(this_year - 1, 12, 31), None),
    ]
    created: dict[str, int] = {}
    active_id = None
    with db.write() as s:
        for op_i, res_i, kind, scope, purpose, begin, end, then in plan:
            org_id = operators[op_i][0]
            rid = picked[res_i]
            resource = s.get(Resource, rid)
            assert resource is not None
            items = sandbox.usable_items(s, resource)
            if not items:
                continue
            auth = auths.create_authorization(
                s, reviewer_actor, operator_org_id=org_id, scope_kind=kind, scope=scope,
                resources=[{"resource_id": rid, "items": items}], purpose=purpose,
                conditions="结果仅用于授权场景，不得向第三方提供原始数据", starts_on=begin, ends_on=end,
                fee_cap_fen=rng.choice([500_000, 1_000_000, 2_000_000]))
            if then == "暂停":
                auths.suspend(s, reviewer_actor, auth.id, "核查数据产品合规情况")
            elif then == "撤销":
                auths.revoke(s, reviewer_actor, auth.id, "授权场景已由其他机构承担")
            created[auths.effective_state(auth)] = created.get(auths.effective_state(auth), 0) + 1
            if active_id is None:
                active_id = auth.id
    runs = {"已放行": 0, "已拒绝": 0, "待审核": 0}  # issue 16: row-level output waits for a checker
    if active_id is not None:
        k = get_settings().rules.sandbox_min_group_rows
        with db.read() as s:
            auth = auths.get_authorization(s, Actor.system(), active_id)
            views, _r, _m = sandbox.views_for(s, auth)
            groups = {name: _group_item(s.get(Resource, v.resource_id), v.items)
                      for name, v in views.items() if v.items}
            user = s.get(User, operators[0][1])
            assert user is not None
            operator_actor = orgs.actor_for(s, user)
        for view in views.values():
            if not view.items:
                continue
            for sql in _query_sql(view, groups[view.name], k):
                runs[sandbox.submit_query(db, operator_actor, active_id, sql).state] += 1
    return {"operate": {
        "authorizations": created, "sandbox_runs": runs, "resources": picked,
        "operator_users": [{"username": name, "password": pw} if pw else {"username": name}
                           for _o, _u, name, pw in operators],
    }}
