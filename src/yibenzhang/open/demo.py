"""Demo data of the open stage (added after the demo catalogue and rows are in): applications
(pending, approved with a key, refused, overdue), demands (answered, pending, overdue),
showcase entries, an open plan for some orgs, download and API-call counts, and grades confirmed
on a few open datasets with rows so that their downloads carry data. Deterministic per seed."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor
from ..catalog.model import Resource
from ..classify.demo import grade_as_steward
from ..db import Database
from ..enums import OpenType, RegionLevel, Role
from ..orgs import service as orgs
from ..orgs.model import Region, RoleAssignment, User
from ..workdays import add_workdays
from ..zone.model import Batch, BatchStatus
from . import applications as apps
from . import demands as dem
from . import plans, usage
from . import showcase as show
from .datasets import open_condition
from .model import OpenApplication, OpenDemand

GRADED_WITH_ROWS = 6
USAGE_DAYS = 30


def _actor(s: Session, user: User | None) -> Actor:
    return orgs.actor_for(s, user) if user is not None else Actor.system()


def _decider(s: Session, org_id: int) -> Actor | None:
    user = orgs.first_user_with(s, Role.APPROVER, org_id=org_id) or orgs.first_user_with(s, Role.STEWARD, org_id=org_id)
    return orgs.actor_for(s, user) if user is not None else None


def _with_rows(s: Session) -> list[int]:
    live = select(Batch.resource_id).where(Batch.status == BatchStatus.PUBLISHED.value)
    return list(s.scalars(select(Resource.id).where(open_condition(), Resource.id.in_(live)).order_by(Resource.id)))


def load(db: Database, seed: int) -> dict[str, Any]:
    rng = random.Random(seed * 104729 + 6)
    today = workdays.today()
    with db.read() as s:
        with_rows = _with_rows(s)
    graded = with_rows[:GRADED_WITH_ROWS]
    for rid in graded:
        grade_as_steward(db, rid)

    out: dict[str, Any] = {}
    with db.write() as s:
        province = s.scalars(select(Region).where(Region.level == RegionLevel.PROVINCE.value)
                             .order_by(Region.id)).first()
        citizen = orgs.first_user_with(s, Role.PUBLIC)
        if province is None or citizen is None:
            return {"open": {"reason": "no province or public user"}}
        public = orgs.actor_for(s, citizen)
        consumers = [orgs.actor_for(s, u) for u in s.scalars(
            select(User).join(RoleAssignment).where(RoleAssignment.role == Role.CONSUMER.value).order_by(User.id))]
        applicants = [public, *consumers[:2]]
        reviewer = _actor(s, orgs.first_user_with(s, Role.REVIEWER, region_id=province.id))
        open_rows = list(s.scalars(select(Resource).where(open_condition()).order_by(Resource.id)))
        conditional = [r for r in open_rows if r.open_type == OpenType.CONDITIONAL.value]
        # Applications: (days ago applied, outcome)
        shapes = [(0, None), (3, None), (25, None), (12, "approve"), (8, "refuse"), (20, "approve")]
        made = {"pending": 0, "approved": 0, "refused": 0, "overdue": 0, "keys": 0}
        for i, (ago, outcome) in enumerate(shapes):
            if i >= len(conditional):
                break
            res = conditional[(i * 7) % len(conditional)]
            applicant = applicants[i % len(applicants)]
            if applicant.acts_for_org(res.org_id):
                applicant = public
            exists = s.scalar(select(OpenApplication.id).where(OpenApplication.resource_id == res.id,
                                                               OpenApplication.applicant_id == applicant.user_id))
            if exists is not None:
                continue
            applied = today - timedelta(days=ago)
            app = apps.apply(s, applicant, res.id, purpose=rng.choice(PURPOSES), scenario=rng.choice(SCENARIOS),
                             agreement=True, today=applied)
            decider = _decider(s, res.org_id)
            if outcome and decider is not None:
                when = min(today, add_workdays(applied, rng.randint(1, 8)))
                reason = "用途明确、符合开放条件" if outcome == "approve" else \
                    "申请用途超出开放条件，请补充说明后重新申请"
                apps.decide(s, decider, app.id, outcome, reason, today=when)
                made["approved" if outcome == "approve" else "refused"] += 1
                if outcome == "approve":
                    apps.take_key(s, applicant, app.id, today=when)
                    made["keys"] += 1
            elif apps.is_overdue(app, today):
                made["overdue"] += 1
            else:
                made["pending"] += 1
        apps.mark_overdue(s, Actor.system(), today=today)
        out["open_applications"] = made

        # Demands: matched by their words, or sent to the authority.
        demand_made = {"answered": 0, "pending": 0, "overdue": 0}
        if not s.scalar(select(OpenDemand.id).limit(1)):
            named = [r.name for r in open_rows[:40]]
            for i, (ago, answer) in enumerate([(18, True), (2, False), (30, False), (6, True), (1, False)]):
                title = (f"希望开放{named[(i * 5) % len(named)]}的历史数据" if named and i < 4
                         else "希望开放全省充电桩实时空闲状态")
                asked = today - timedelta(days=ago)
                d = dem.create_demand(s, public, title=title, description=rng.choice(DEMAND_TEXTS),
                                      domain=rng.choice(["教育", "医疗", "就业", "公共交通", "文旅", "其他"]),
                                      today=asked)
                answerer = _decider(s, d.org_id) or reviewer
                if answer:
                    dem.answer_demand(s, answerer, d.id, rng.choice(ANSWERS),
                                      today=min(today, add_workdays(asked, rng.randint(2, 9))))
                    demand_made["answered"] += 1
                elif today > d.due:
                    demand_made["overdue"] += 1
                else:
                    demand_made["pending"] += 1
            dem.mark_overdue(s, Actor.system(), today=today)
        out["open_demands"] = demand_made

        # Showcase: two listed, one awaiting review.
        listed = 0
        if open_rows and show.count_listed(s) == 0:
            for i, (name, text, url) in enumerate(SHOWCASE):
                ids = [open_rows[(i * 3 + k) % len(open_rows)].id for k in range(2)]
                entry = show.submit(s, public, name=name, description=text, url=url, resource_ids=ids,
                                    today=today - timedelta(days=10 - i))
                if i < 2:
                    region = s.get(Region, entry.region_id)
                    who = orgs.first_user_with(s, Role.REVIEWER, region_id=region.id) if region else None
                    show.review(s, _actor(s, who) if who else reviewer, entry.id, "approve", None)
                    listed += 1
        out["open_showcase"] = {"listed": listed}

        # Open plans: this year's for the first orgs holding both open and not-yet-open resources.
        planned = 0
        by_org: dict[int, list[Resource]] = {}
        for r in s.scalars(select(Resource).where(Resource.published_version.is_not(None)).order_by(Resource.id)):
            by_org.setdefault(r.org_id, []).append(r)
        for org_id, resources in list(by_org.items())[:6]:
            steward = orgs.first_user_with(s, Role.STEWARD, org_id=org_id)
            if steward is None or plans.plan_rows(s, year=today.year, org_id=org_id):
                continue
            actor = orgs.actor_for(s, steward)
            for q, r in enumerate(resources[:3], start=1):
                plans.add_entry(s, actor, org_id=org_id, year=today.year, planned_quarter=min(4, q + 1),
                                resource_id=r.id, note="按年度开放计划推进")
                planned += 1
        out["open_plan_entries"] = planned

        # Downloads and API calls over the last month.
        total = 0
        for r in open_rows[:200]:
            for back in range(USAGE_DAYS):
                if rng.random() < 0.3:
                    n = rng.randint(1, 40)
                    usage.add(s, r.id, usage.download_kind(rng.choice(["csv", "csv", "xlsx", "json", "parquet"])),
                              n, day=today - timedelta(days=back))
                    total += n
                if rng.random() < 0.1:
                    usage.add(s, r.id, usage.API, rng.randint(5, 300), day=today - timedelta(days=back))
        out["open_downloads"] = total
    out["open_graded_with_rows"] = len(graded)
    return {"open": out}


PURPOSES = ["研究城市公共服务设施布局", "开发便民查询小程序", "撰写行业分析报告", "高校课程教学案例",
            "评估区域营商环境", "优化公共交通线路"]
SCENARIOS = ["公益研究，不用于商业用途", "面向市民的免费查询服务", "内部分析，不对外发布原始数据",
             "教学实验，数据仅在课堂使用"]
DEMAND_TEXTS = ["希望按月提供，格式为CSV，用于分析变化趋势。", "用于开发便民服务应用，希望提供接口。",
                "用于学术研究，需要近三年的数据。", "希望增加区县维度，便于比较。"]
ANSWERS = ["已列入本年度开放计划，预计下季度开放。", "相关数据已开放，请在数据集页面下载。",
           "该数据涉及个人信息，经评估暂不开放，可提供统计汇总数据。"]
SHOWCASE = [
    ("公交出行助手", "根据开放的公交线路和站点数据，为市民提供换乘查询和到站提醒。", "https://example.org/bus"),
    ("营商环境地图", "汇总市场主体登记和行政许可开放数据，按区县展示营商环境指标。", "https://example.org/biz"),
    ("就医导航", "基于医疗机构开放目录，帮助患者查找附近可预约的医院和科室。", None),
]
