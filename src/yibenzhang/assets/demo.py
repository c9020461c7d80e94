"""Demo products (issue 7): once the operate demo has an authorization and released sandbox runs,
build one product per released run (at most three), take the first through compliance review,
registration (dated back so that 公示 is over and 赋码 is today) and its certificate, with two months of revenue,
a cost-method valuation and a 入表 booking; the second stops at 合规审查中 for the console.

`load(db, seed)` is deterministic for a given day and does nothing when there is no authorization
with a released run (the operate demo is absent). Call it after `yibenzhang.operate.demo:load`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from .. import workdays
from ..access import Actor
from ..db import Database
from ..enums import Role
from ..operate.model import Authorization, AuthorizationState, RunState, SandboxRun
from ..orgs.model import Region, RoleAssignment, User
from ..orgs.service import actor_for
from . import accounting, compliance, pricing, products, registration, valuation

NAMES = ("区域人口结构分析报告", "公共服务设施选址数据集", "企业经营景气指数接口")
KINDS = ("数据报告", "数据集", "数据接口")


def _user(s: Any, role: Role, org_id: int | None = None, region_path: str | None = None) -> Actor | None:
    stmt = select(RoleAssignment).where(RoleAssignment.role == role.value).order_by(RoleAssignment.id)
    if org_id is not None:
        stmt = stmt.where(RoleAssignment.org_id == org_id)
    for ra in s.execute(stmt).scalars():
        if region_path is not None:
            region = s.get(Region, ra.region_id) if ra.region_id else None
            if region is None or not region_path.startswith(region.path):
                continue
        user = s.get(User, ra.user_id)
        if user is not None:
            return actor_for(s, user)
    return None


def load(db: Database, seed: int) -> dict[str, Any]:
    today = workdays.today()
    with db.write() as s:
        auth = s.execute(select(Authorization).where(Authorization.state == AuthorizationState.ACTIVE.value)
                         .order_by(Authorization.id).limit(1)).scalar_one_or_none()
        if auth is None:
            return {}
        runs = s.execute(select(SandboxRun).where(SandboxRun.authorization_id == auth.id,
                                                  SandboxRun.state == RunState.RELEASED.value)
                         .order_by(SandboxRun.id).limit(len(NAMES))).scalars().all()
        operator = _user(s, Role.OPERATOR, org_id=auth.operator_org_id)
        region = s.get(Region, auth.region_id)
        reviewer = _user(s, Role.REVIEWER, region_path=region.path if region else "/")
        if not runs or operator is None or reviewer is None:
            return {}
        cap = int(auth.fee_cap_fen)
        made = []
        for n, run in enumerate(runs):
            paid = n != 1  # the second is for public governance, hence free
            data = {"name": NAMES[n], "kind": KINDS[n], "description": f"基于授权沙箱第{run.id}次运行的聚合结果。",
                    "use": "辅助政府和企业进行区域规划与经营决策", "scenario": "区域公共服务与商业网点布局",
                    "source_run_ids": [run.id], "pi_consent": True,
                    "pi_consent_ref": "授权运营协议附件 个人信息同意记录",
                    "pricing_category": "产业发展" if paid else "公共治理",
                    "price_fen": min(cap, 50_000 + 1_000 * (seed % 7)) if paid else 0}
            made.append(products.create_product(s, operator, authorization_id=auth.id, data=data))
        first = made[0]
        compliance.submit_for_review(s, operator, first.id, today=today)
        compliance.sign_off(s, reviewer, first.id, [{"kind": k, "verdict": "通过", "note": "经核查符合要求"}
                                                   for k in compliance.SIGNOFF_KINDS], today=today)
        if len(made) > 1:
            compliance.submit_for_review(s, operator, made[1].id, today=today)
        start = today - timedelta(days=35)
        rights = {"数据资源持有权": "数据提供单位", "数据加工使用权": "授权运营机构", "数据产品经营权": "授权运营机构"}
        reg = registration.apply(s, operator, first.id, rights=rights, today=start)
        registration.accept(s, reviewer, reg.id, today=start)
        registration.formal_check(s, reviewer, reg.id, today=start)
        code = None
        if registration.publicity_until(start) < today:
            code = registration.assign_code(s, reviewer, reg.id, today=today).code
        if code is not None:  # only a registered product is traded
            month = (today.replace(day=1) - timedelta(days=1))
            for i, period_day in enumerate((month.replace(day=1) - timedelta(days=1), month)):
                units = 5 + i
                pricing.record_revenue(s, operator, first.id, period=period_day.strftime("%Y-%m"), units=units,
                                       amount_fen=first.price_fen * units + (i * 2_000))
        valuation.value_product(s, operator, first.id, "成本法", {
            "costs": {"规划": 200_000, "采集": 500_000, "存储": 120_000, "加工": 380_000, "合规": 90_000,
                      "税费": 60_000},
            "quality_score": "92", "remaining_life_years": "3", "elapsed_life_years": "1"}, today=today)
        accounting.book(s, operator, first.id, intention="对外出售", cost_items=[
            {"item": "外购", "amount_fen": 300_000}, {"item": "清洗", "amount_fen": 80_000},
            {"item": "脱敏", "amount_fen": 40_000}, {"item": "培训", "amount_fen": 15_000}], today=today)
    return {"products": len(made), "product_registration_code": code}
