"""开放需求征集 (DOMAIN §6, 004:713): anyone signed in asks for data. The demand goes to the org
holding matching resources (catalogue search over names, keywords and items), else to the
region's 数据主管部门; that org's 数据专员 (or approver) answers within
Rules.open_demand_answer_workdays working days. Every demand is public with its status and
answer; the asker's contact is seen only by the org that answers."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor, can_review, require
from ..catalog.model import Resource, ResourceItem
from ..config import get_settings
from ..enums import OrgKind, ResourceStatus, Role
from ..errors import Conflict, ErrorBag, NotFound, Unauthenticated
from ..ledger import service as ledger
from ..orgs.model import Org, Region
from ..search.segment import query_words
from ..workdays import add_workdays, workdays_between
from .datasets import is_open
from .model import DEMAND_DOMAINS, DemandState, OpenDemand

TITLE_MAX, TEXT_MAX, CONTACT_MAX = 200, 2000, 200
MATCHES_KEPT = 5
St = DemandState
OPEN_STATES = (St.PENDING.value, St.OVERDUE.value)


_today = workdays.today  # the one clock (workdays.today): China's date, patchable in tests


def answer_due(asked_on: date) -> date:
    return add_workdays(asked_on, get_settings().rules.open_demand_answer_workdays)


def shown_state(d: OpenDemand, today: date) -> str:
    """待答复 turns 已逾期 on read the day after its due date (the daily job makes it durable)."""
    if d.state in OPEN_STATES and today > d.due:
        return St.OVERDUE.value
    return d.state


# --- routing ---------------------------------------------------------------------------------------


def _authority_of(session: Session, region: Region | None) -> Org | None:
    """The region's 数据主管部门, else the nearest one above it."""
    while region is not None:
        org = session.execute(select(Org).where(Org.region_id == region.id, Org.kind == OrgKind.AUTHORITY.value)
                              .order_by(Org.id)).scalars().first()
        if org is not None:
            return org
        region = session.get(Region, region.parent_id) if region.parent_id else None
    return None


def _root_region(session: Session) -> Region | None:
    return session.execute(select(Region).where(Region.parent_id.is_(None)).order_by(Region.id)).scalars().first()


# Words too common in demands to say whose data is meant.
STOP_WORDS = frozenset({"数据", "信息", "开放", "希望", "需要", "统计", "公开", "查询", "相关", "全省", "情况", "提供",
                        "资料", "名单", "目录", "申请", "获取", "我们", "可以", "能否", "是否"})
CANDIDATES = 500


def _words(text: str) -> list[str]:
    return [w for w in query_words(text) if w not in STOP_WORDS and len(w) > 1]


def route(session: Session, title: str, description: str, region: Region | None) -> tuple[Org, str, list[int]]:
    """(org, "match" | "authority", matching resource ids). Published resources are scored by the
    demand's words (jieba, as the catalogue search segments them): a title word in a resource's
    name counts 3, in its keywords 2, in an item name 1; a description word in the name 1. The
    org with the highest total holds the data; with no title word in any name or keyword, the
    region's authority takes the demand."""

    title_words, desc_words = _words(title), [w for w in _words(description) if w not in _words(title)]
    words = [*title_words, *desc_words]
    scores: dict[int, float] = {}
    owners: dict[int, int] = {}
    if words:
        live = [Resource.published_version.is_not(None), Resource.status != ResourceStatus.RETIRED.value]
        hit = or_(*[Resource.name.like(f"%{w}%") for w in words],
                  *[Resource.id.in_(select(ResourceItem.resource_id).where(ResourceItem.name.like(f"%{w}%")))
                    for w in title_words])
        rows = session.execute(select(Resource.id, Resource.org_id, Resource.name, Resource.keywords)
                               .where(*live, hit).order_by(Resource.id).limit(CANDIDATES)).all()
        items: dict[int, list[str]] = {}
        if rows:
            for rid, name in session.execute(select(ResourceItem.resource_id, ResourceItem.name).where(
                    ResourceItem.resource_id.in_([r[0] for r in rows]))):
                items.setdefault(rid, []).append(name)
        for rid, org_id, name, keywords in rows:
            kw = " ".join(str(k) for k in keywords or [])
            item_text = " ".join(items.get(rid, []))
            score = sum(3 * (w in name) + 2 * (w in kw) + (w in item_text) for w in title_words)
            score += sum(w in name for w in desc_words)
            if any(w in name or w in kw for w in title_words):
                scores[rid], owners[rid] = score, org_id
    if scores:
        by_org: Counter[int] = Counter()
        for rid, score in scores.items():
            by_org[owners[rid]] += score
        best = max(by_org, key=lambda o: (by_org[o], -o))
        org = session.get(Org, best)
        if org is not None:
            ranked = sorted((rid for rid in scores if owners[rid] == best), key=lambda r: (-scores[r], r))
            return org, "match", ranked[:MATCHES_KEPT]
    authority = _authority_of(session, region or _root_region(session))
    if authority is None:
        raise Conflict("open_demand_no_authority", "没有可以受理需求的数据主管部门")
    return authority, "authority", []


# --- who may answer -----------------------------------------------------------------------------


def can_answer(session: Session, actor: Actor, d: OpenDemand) -> bool:
    """The routed org's stewards and approvers; for a demand routed to an authority, also the
    reviewers of that authority's region."""
    if actor.acts_for_org(d.org_id, Role.STEWARD, Role.APPROVER):
        return True
    org = session.get(Org, d.org_id)
    if org is not None and org.kind == OrgKind.AUTHORITY.value:
        region = session.get(Region, org.region_id)
        return region is not None and can_review(actor, region.path)
    return False


def _sees_contact(session: Session, actor: Actor, d: OpenDemand) -> bool:
    return (actor.user_id is not None and actor.user_id == d.requester_id) or can_answer(session, actor, d) \
        or actor.is_admin or actor.is_auditor


# --- operations ---------------------------------------------------------------------------------


def _text(bag: ErrorBag, field: str, value: str | None, limit: int, required: bool = True) -> str | None:
    return bag.text(field, value, required=required, limit=limit)


def create_demand(session: Session, actor: Actor, *, title: str, description: str, domain: str | None = None,
                  contact: str | None = None, region_code: str | None = None,
                  today: date | None = None) -> OpenDemand:
    if actor.user_id is None:
        raise Unauthenticated("auth_required", "需要登录")
    bag = ErrorBag()
    t = _text(bag, "title", title, TITLE_MAX)
    desc = _text(bag, "description", description, TEXT_MAX)
    c = _text(bag, "contact", contact, CONTACT_MAX, required=False)
    dom = (domain or "").strip() or None
    if dom is not None and dom not in DEMAND_DOMAINS:
        bag.add("domain", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=dom,
                allowed="、".join(DEMAND_DOMAINS))
    region = None
    if region_code and region_code.strip():
        region = session.execute(select(Region).where(Region.code == region_code.strip())).scalar_one_or_none()
        if region is None:
            bag.add("region_code", "unknown_region", "未知的行政区划代码“{value}”", value=region_code.strip())
    bag.raise_if_any()
    assert t is not None and desc is not None
    org, how, matched = route(session, t, desc, region)
    day = today or _today()
    d = OpenDemand(title=t, description=desc, domain=dom, contact=c, requester_id=actor.user_id, org_id=org.id,
                   routed_by=how, matched_resource_ids=matched, state=St.PENDING.value, asked_on=day,
                   due=answer_due(day), overdue_marked=False)
    session.add(d)
    session.flush()
    ledger.append(session, actor, "open.demand.create", "open_demand", d.id, {
        "org_id": org.id, "routed_by": how, "matched": len(matched), "domain": dom,
        "asked_on": day.isoformat(), "due": d.due.isoformat()})
    return d


def get_demand(session: Session, demand_id: int, *, for_update: bool = False) -> OpenDemand:
    d = session.get(OpenDemand, int(demand_id), with_for_update=for_update or None)
    if d is None:
        raise NotFound(f"开放需求 {demand_id}", "open_demand_not_found")
    return d


def answer_demand(session: Session, actor: Actor, demand_id: int, answer: str,
                  today: date | None = None) -> OpenDemand:
    d = get_demand(session, demand_id, for_update=True)
    require(can_answer(session, actor, d), "答复开放需求", "open_answer_denied")
    if d.state not in OPEN_STATES:
        raise Conflict("open_demand_state", "状态为“{state}”的开放需求不能答复", state=d.state)
    bag = ErrorBag()
    text = _text(bag, "answer", answer, TEXT_MAX)
    bag.raise_if_any()
    day = today or _today()
    d.state, d.answer, d.answered_on, d.answered_by_id = St.ANSWERED.value, text, day, actor.user_id
    d.on_time = day <= d.due
    ledger.append(session, actor, "open.demand.answer", "open_demand", d.id, {
        "on": day.isoformat(), "on_time": d.on_time, "org_id": d.org_id})
    return d


def mark_overdue(session: Session, actor: Actor, today: date | None = None) -> dict[str, Any]:
    """Pending demands past their due date become 已逾期 (the daily job)."""
    require(actor.is_admin, "标记逾期开放需求")
    day = today or _today()
    rows = session.execute(select(OpenDemand).where(
        OpenDemand.state == St.PENDING.value, OpenDemand.due < day).order_by(OpenDemand.id)
        .with_for_update()).scalars().all()
    for d in rows:
        d.state, d.overdue_marked = St.OVERDUE.value, True
        ledger.append(session, actor, "open.demand.overdue", "open_demand", d.id, {
            "due": d.due.isoformat(), "marked_on": day.isoformat(), "org_id": d.org_id})
    return {"today": day.isoformat(), "marked": len(rows), "ids": [d.id for d in rows]}


def list_demands(session: Session, *, state: str | None = None, org_id: int | None = None,
                 q: str | None = None, requester_id: int | None = None, today: date | None = None,
                 limit: int = 50, offset: int = 0) -> tuple[list[OpenDemand], int]:
    """Every demand, public. state filters on the shown state (待答复 / 已答复 / 已逾期)."""
    day = today or _today()
    stmt = select(OpenDemand)
    if state:
        parsed = St.parse(state)
        if parsed is None:
            bag = ErrorBag()
            bag.add("state", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=state,
                    allowed="、".join(St.values()))
            bag.raise_if_any()
        elif parsed == St.OVERDUE:
            stmt = stmt.where(OpenDemand.state.in_(OPEN_STATES), OpenDemand.due < day)
        elif parsed == St.PENDING:
            stmt = stmt.where(OpenDemand.state.in_(OPEN_STATES), OpenDemand.due >= day)
        else:
            stmt = stmt.where(OpenDemand.state == parsed.value)
    if org_id is not None:
        stmt = stmt.where(OpenDemand.org_id == org_id)
    if requester_id is not None:
        stmt = stmt.where(OpenDemand.requester_id == requester_id)
    if q and q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(OpenDemand.title.like(like), OpenDemand.description.like(like)))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(OpenDemand.id.desc()).limit(limit).offset(offset)).scalars()
    return list(rows), int(total)


def demands_to_answer(session: Session, actor: Actor) -> list[OpenDemand]:
    """Open demands this actor answers (console)."""
    orgs = set(actor.org_ids(Role.STEWARD, Role.APPROVER))
    paths = actor.reviewer_paths()
    if paths:
        regions = select(Region.id).where(or_(*[Region.path.startswith(p) for p in paths]))
        orgs |= set(session.execute(select(Org.id).where(Org.kind == OrgKind.AUTHORITY.value,
                                                         Org.region_id.in_(regions))).scalars())
    if not orgs:
        return []
    return list(session.execute(select(OpenDemand).where(OpenDemand.org_id.in_(orgs),
                                                         OpenDemand.state.in_(OPEN_STATES))
                                .order_by(OpenDemand.due, OpenDemand.id)).scalars())


def demand_dict(session: Session, d: OpenDemand, actor: Actor | None = None,
                today: date | None = None) -> dict[str, Any]:
    day = today or _today()
    org = session.get(Org, d.org_id)
    matched = []
    for rid in d.matched_resource_ids or []:
        res = session.get(Resource, int(rid))
        if res is not None and is_open(res):  # only open datasets are named in public
            matched.append({"id": res.id, "name": res.name})
    state = shown_state(d, day)
    out = {
        "id": d.id, "title": d.title, "description": d.description, "domain": d.domain, "org_id": d.org_id,
        "org_name": org.name if org else None, "routed_by": d.routed_by, "matched": matched, "state": state,
        "overdue": state == St.OVERDUE.value, "asked_on": d.asked_on.isoformat(), "due": d.due.isoformat(),
        "workdays_left": workdays_between(day, d.due) if d.state in OPEN_STATES and day <= d.due else None,
        "answer": d.answer, "answered_on": d.answered_on.isoformat() if d.answered_on else None,
        "on_time": d.on_time,
    }
    if actor is not None and _sees_contact(session, actor, d):
        out["contact"] = d.contact
    return out
