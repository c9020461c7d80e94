"""Test helpers: an authorization and released sandbox runs written straight into P1's tables, so
product tests do not depend on the sandbox engine (the HTTP end-to-end test uses the real one)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import update

from yibenzhang import workdays
from yibenzhang.access import Actor
from yibenzhang.assets import products
from yibenzhang.catalog.model import ResourceItem
from yibenzhang.operate.model import Authorization, SandboxRun

CAP = 50_000  # fen


def authorization(world: Any, resource_id: int, *, items: list[str] | None = None, fee_cap_fen: int = CAP,
                  state: str = "有效", starts_on: date | None = None, ends_on: date | None = None) -> int:
    today = workdays.today()
    with world.db.write() as s:
        auth = Authorization(
            operator_org_id=world.orgs["operator"].id, region_id=world.regions["990000"], scope_kind="全域",
            scope=None, resources=[{"resource_id": resource_id, "items": items or []}], purpose="交通出行分析",
            conditions=None, starts_on=starts_on or today - timedelta(days=30),
            ends_on=ends_on or today + timedelta(days=365), fee_cap_fen=fee_cap_fen, state=state, history=[])
        s.add(auth)
        s.flush()
        return auth.id


def run(world: Any, auth_id: int, resource_ids: list[int], *, state: str = "已放行", digest: str = "ab" * 32) -> int:
    with world.db.write() as s:
        r = SandboxRun(authorization_id=auth_id, operator_org_id=world.orgs["operator"].id,
                       user_id=world.users["operator_user"], sql_text="select 1", sql_digest="00" * 32,
                       resources=resource_ids, state=state, release_kind="聚合" if state == "已放行" else None,
                       row_count=3, columns=["区划", "人数"], output_digest=digest if state == "已放行" else None)
        s.add(r)
        s.flush()
        return r.id


def grade(world: Any, resource_id: int, grades: dict[str, str]) -> None:
    with world.db.write() as s:
        for name, g in grades.items():
            s.execute(update(ResourceItem).where(ResourceItem.resource_id == resource_id, ResourceItem.name == name)
                      .values(grade=g))


def product_data(run_ids: list[int], **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "区县人口结构分析报告", "kind": "数据报告", "description": "按区县统计的人口年龄结构。",
        "use": "城市规划部门编制公共服务设施布局", "scenario": "公共服务设施选址", "source_run_ids": run_ids,
        "pi_consent": False, "pi_consent_ref": None, "pricing_category": "产业发展", "price_fen": 10_000,
    }
    data.update(overrides)
    return data


def make_product(world: Any, auth_id: int, run_ids: list[int], **overrides: Any) -> int:
    with world.db.write() as s:
        p = products.create_product(s, world.actor("operator_user"), authorization_id=auth_id,
                                    data=product_data(run_ids, **overrides))
        return p.id


def system() -> Actor:
    return Actor.system()
