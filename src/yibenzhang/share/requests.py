"""Share requests (共享申请, DOMAIN §5): a consumer org asks for items of a published resource for a
stated purpose, basis, scenario, period, mode and (for lower-level bodies) region scope.

- 无条件共享: approved at once, sealed by the provider and a grant issued.
- 有条件共享: the provider org's approver decides, then the region's authority reviewer; each
  step has its deadline in working days from the step's start (Rules.share_answer_workdays).
  A step past its deadline is 已逾期 at once on read; `escalate_overdue` (a daily job) makes it
  durable, and then the region's authority may decide the provider's step in its place.
- 不予共享: refused at once with the basis (the resource's share_basis or its 负面清单 entry).

The request's free text (purpose, basis, scenario, reasons) lives in this table only; the ledger
records ids, states, counts and dates, never that text nor who asked by name.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, and_, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .. import jobs, workdays
from ..access import Actor, can_read_all, can_review, require
from ..catalog.model import Resource, ResourceItem
from ..catalog.service import get_resource, negative_entry_for
from ..config import get_settings
from ..db import Base, UTCDateTime, utcnow
from ..enums import ChineseEnum, OrgKind, Role, ShareType
from ..errors import Conflict, ErrorBag, NotFound, Unauthenticated, ValidationFailed
from ..i18n import N_
from ..ledger import service as ledger
from ..orgs.model import Org, Region
from ..orgs.service import get_region_by_code
from ..registry import load
from ..workdays import add_workdays, workdays_between
from . import seal as sealing

TEXT_MAX = 2000
# Grades whose items are never "needed" by default: asking for them needs a written reason.
SENSITIVE_GRADES = (N_("一般-4级"), N_("重要"), N_("核心"))
# Calls per minute on a new grant until the rules carry their own setting (D's grants enforce it).
RATE_LIMIT_DEFAULT = 60


class RequestState(ChineseEnum):
    PROVIDER = "待提供方审批"
    AUTHORITY = "待主管部门审核"
    APPROVED = "已批准"
    REFUSED = "已拒绝"
    WITHDRAWN = "已撤回"


class ShareMode(ChineseEnum):
    ROWS = "接口"
    FILE = "文件"
    VERIFY = "核验"


class Verdict(ChineseEnum):
    APPROVE = "批准"
    REFUSE = "拒绝"


St = RequestState
PENDING = (St.PROVIDER.value, St.AUTHORITY.value)
_VERDICT_ALIASES = {"approve": Verdict.APPROVE, "refuse": Verdict.REFUSE}


class ShareRequest(Base):
    __tablename__ = "share_requests"
    __table_args__ = (
        Index("ix_share_requests_resource_consumer", "resource_id", "consumer_org_id"),
        Index("ix_share_requests_provider_state", "provider_org_id", "state"),
        Index("ix_share_requests_requested_by_id", "requested_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))  # the resource's: whose authority reviews
    consumer_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    mode: Mapped[str] = mapped_column(String(8))
    purpose: Mapped[str] = mapped_column(Text)
    basis: Mapped[str] = mapped_column(Text)  # legal basis or duty
    scenario: Mapped[str] = mapped_column(Text)
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    region_scope: Mapped[str | None] = mapped_column(String(12))  # a division code (回流 / lower levels)
    extra_items_reason: Mapped[str | None] = mapped_column(Text)
    share_type: Mapped[str] = mapped_column(String(16))  # the resource's, at request time
    state: Mapped[str] = mapped_column(String(16))
    requested_on: Mapped[date] = mapped_column(Date)
    step_started_on: Mapped[date | None] = mapped_column(Date)
    step_due: Mapped[date | None] = mapped_column(Date)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated_on: Mapped[date | None] = mapped_column(Date)
    # One entry per decision: {"step", "verdict", "reason", "by", "org_id", "on"}.
    decisions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    sealed: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    grant_id: Mapped[int | None] = mapped_column(Integer)  # share.grants (engineer D), when installed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- deadlines, computed on read --------------------------------------------------------------


_today = workdays.today  # the one clock (workdays.today): China's date, patchable in tests


def step_deadline(start: date) -> date:
    """The step's answer is due on the N-th working day after it starts (DOMAIN §5, default 10)."""
    return add_workdays(start, get_settings().rules.share_answer_workdays)


def is_overdue(req: ShareRequest, today: date) -> bool:
    return req.state in PENDING and req.step_due is not None and today > req.step_due


# --- who may do what ---------------------------------------------------------------------------


def _region_path(session: Session, region_id: int) -> str:
    region = session.get(Region, region_id)
    return region.path if region else "/"


def _acts_for_consumer(actor: Actor, org_id: int) -> bool:
    return actor.acts_for_org(org_id, Role.CONSUMER, Role.STEWARD)


def _is_provider_approver(actor: Actor, req: ShareRequest) -> bool:
    return actor.acts_for_org(req.provider_org_id, Role.APPROVER)


def can_read(session: Session, actor: Actor, req: ShareRequest) -> bool:
    """The consumer org's users, the provider's stewards and approvers, the region's authority,
    the admin and auditors."""
    return (can_read_all(actor) or _acts_for_consumer(actor, req.consumer_org_id)
            or actor.acts_for_org(req.provider_org_id, Role.STEWARD, Role.APPROVER)
            or can_review(actor, _region_path(session, req.region_id)))


def _visible(actor: Actor) -> Any:
    if can_read_all(actor):
        return None
    clauses: list[Any] = []
    consumer = actor.org_ids(Role.CONSUMER, Role.STEWARD)
    if consumer:
        clauses.append(ShareRequest.consumer_org_id.in_(consumer))
    provider = actor.org_ids(Role.STEWARD, Role.APPROVER)
    if provider:
        clauses.append(ShareRequest.provider_org_id.in_(provider))
    paths = actor.reviewer_paths()
    if paths:
        regions = select(Region.id).where(or_(*[Region.path.startswith(p) for p in paths]))
        clauses.append(ShareRequest.region_id.in_(regions))
    return or_(*clauses) if clauses else ShareRequest.id.is_(None)


def get_request(session: Session, actor: Actor, request_id: int, *, for_update: bool = False) -> ShareRequest:
    req = session.get(ShareRequest, int(request_id), with_for_update=for_update or None)
    if req is None or not can_read(session, actor, req):
        raise NotFound(f"共享申请 {request_id}", "share_request_not_found")
    return req


def _state_error(req: ShareRequest, action: str) -> Conflict:
    return Conflict("share_request_state", "状态为“{state}”的共享申请不能{action}", state=req.state, action=action)


# --- creating a request ---------------------------------------------------------------------------


def _text(bag: ErrorBag, field: str, value: str | None, required: bool = True) -> str | None:
    return bag.text(field, value, required=required, limit=TEXT_MAX)


def _consumer_org(actor: Actor, org_id: int | None) -> int:
    if not actor.is_authenticated or actor.user_id is None:
        raise Unauthenticated("auth_required", "需要登录")
    mine = actor.org_ids(Role.CONSUMER, Role.STEWARD)
    if org_id is None:
        require(len(mine) == 1, "申请共享数据", "share_request_denied")
        return next(iter(mine))
    require(org_id in mine, "申请共享数据", "share_request_denied")
    return org_id


def _region_scope(session: Session, bag: ErrorBag, consumer: Org, resource: Resource,
                  scope: str | None) -> str | None:
    """Lower-level bodies get data of their own region (004:705): their scope defaults to their
    region and may not reach outside it."""
    own = session.get(Region, consumer.region_id)
    res_region = session.get(Region, resource.region_id)
    if own is None or res_region is None:
        return scope
    lower = own.path != res_region.path and own.path.startswith(res_region.path)
    division_item = load("yibenzhang.share.grants:division_item")
    scopable = division_item is None or division_item(resource) is not None
    code = (scope or "").strip() or (own.code if lower and scopable else None)
    if code is None:
        return None
    if not scopable:
        bag.add("region_scope", "region_scope_item", "信息资源没有行政区划代码信息项，不能按区划申请")
        return code
    region = session.execute(select(Region).where(Region.code == code)).scalar_one_or_none()
    if region is None:
        bag.add("region_scope", "unknown_region", "未知的行政区划代码“{value}”", value=code)
    elif lower and not region.path.startswith(own.path):
        bag.add("region_scope", "region_out_of_scope", "下级单位只能申请本行政区划“{value}”范围内的数据",
                value=own.code)
    return code


def create_request(
    session: Session, actor: Actor, resource: int | str, *, items: list[str], mode: str, purpose: str,
    basis: str, scenario: str, period_from: date, period_to: date, region_scope: str | None = None,
    extra_items_reason: str | None = None, consumer_org_id: int | None = None, today: date | None = None,
) -> ShareRequest:
    org_id = _consumer_org(actor, consumer_org_id)
    res = get_resource(session, actor, resource)
    if res.published_version is None:
        raise Conflict("share_resource_state", "尚未发布的信息资源不能申请共享")
    if res.org_id == org_id:
        raise Conflict("share_own_resource", "不能申请本单位自己的信息资源")
    day = today or _today()
    consumer = session.get(Org, org_id)
    assert consumer is not None
    bag = ErrorBag()
    parsed_mode = ShareMode.parse(mode)
    if parsed_mode is None:
        bag.add("mode", "unknown_value", "未知的取值“{value}”，可选：{allowed}",
                value=mode, allowed="、".join(ShareMode.values()))
    texts = {f: _text(bag, f, v) for f, v in (("purpose", purpose), ("basis", basis), ("scenario", scenario))}
    reason = _text(bag, "extra_items_reason", extra_items_reason, required=False)
    if period_to < period_from:
        bag.add("period_to", "period_order", "结束日期不能早于开始日期")
    elif period_to < day:
        bag.add("period_to", "period_past", "结束日期不能早于今天")
    item_rows = session.execute(select(ResourceItem.name, ResourceItem.grade)
                                .where(ResourceItem.resource_id == res.id)).all()
    grades = dict(item_rows)
    chosen = [str(i).strip() for i in items if str(i).strip()]
    if not chosen:
        bag.add("items", "required", "必填项不能为空")
    if len(set(chosen)) != len(chosen):
        bag.add("items", "duplicate_item", "信息项重复")
    for i, name in enumerate(chosen):
        if name not in grades:
            bag.add(f"items.{i}", "unknown_item", "信息项“{value}”不属于该信息资源", value=name)
    scope = _region_scope(session, bag, consumer, res, region_scope)
    bag.raise_if_any()
    # Minimum necessary (最小必要, 001:1181 Art. 16): everything, or sensitive items, needs a reason.
    sensitive = [n for n in chosen if (grades.get(n) or "") in SENSITIVE_GRADES]
    everything = set(chosen) == set(grades)
    if (everything or sensitive) and not reason:
        why = N_("全部信息项") if everything else "、".join(sensitive)
        raise ValidationFailed("minimum_necessary", "申请超出最小必要范围（{what}），须说明理由", what=why)
    req = ShareRequest(
        resource_id=res.id, provider_org_id=res.org_id, region_id=res.region_id, consumer_org_id=org_id,
        requested_by_id=actor.user_id, items=chosen, mode=parsed_mode.value if parsed_mode else mode,
        purpose=texts["purpose"] or "", basis=texts["basis"] or "", scenario=texts["scenario"] or "",
        period_from=period_from, period_to=period_to, region_scope=scope, extra_items_reason=reason,
        share_type=res.share_type, state=St.PROVIDER.value, requested_on=day, decisions=[],
    )
    session.add(req)
    session.flush()
    ledger.append(session, actor, "share.request.create", "share_request", req.id, {
        "resource_id": res.id, "provider_org_id": res.org_id, "consumer_org_id": org_id,
        "items": len(chosen), "mode": req.mode, "share_type": res.share_type, "region_scope": scope,
        "extra_reason": bool(reason), "period": [period_from.isoformat(), period_to.isoformat()],
    })
    if res.share_type == ShareType.UNCONDITIONAL.value:
        _record(req, "无条件共享", Verdict.APPROVE.value, "无条件共享资源，按规定即时批准", None, res.org_id, day)
        _approve(session, actor, req, res, day)
    elif res.share_type == ShareType.NOT_SHAREABLE.value:
        _record(req, "不予共享", Verdict.REFUSE.value, _refusal_basis(session, res), None, res.org_id, day)
        _finish(session, actor, req, St.REFUSED.value, day)
    else:
        _start_step(req, day)
    return req


def _refusal_basis(session: Session, res: Resource) -> str:
    entry = negative_entry_for(session, res)
    basis = res.share_basis or (entry.basis if entry else None) or (entry.title if entry else None)
    return f"该信息资源不予共享，依据：{basis}" if basis else "该信息资源不予共享"


# --- steps and decisions -------------------------------------------------------------------------


def _start_step(req: ShareRequest, day: date) -> None:
    req.step_started_on = day
    req.step_due = step_deadline(day)
    req.escalated = False
    req.escalated_on = None


def _record(req: ShareRequest, step: str, verdict: str, reason: str, by: str | None, org_id: int | None,
            day: date) -> None:
    req.decisions = [*(req.decisions or []), {"step": step, "verdict": verdict, "reason": reason, "by": by,
                                              "org_id": org_id, "on": day.isoformat()}]


def _finish(session: Session, actor: Actor, req: ShareRequest, state: str, day: date) -> None:
    req.state = state
    req.step_due = None
    req.updated_at = utcnow()
    ledger.append(session, actor, "share.request.decide", "share_request", req.id, {
        "state": state, "step": req.decisions[-1]["step"] if req.decisions else None,
        "verdict": req.decisions[-1]["verdict"] if req.decisions else None, "on": day.isoformat(),
        "sealed_by": (req.sealed or {}).get("seal", {}).get("org_uscc"), "grant_id": req.grant_id,
    })


def seal_content(req: ShareRequest) -> dict[str, Any]:
    """What the seal covers: the request's fields, items, decisions and time."""
    return {
        "request_id": req.id, "resource_id": req.resource_id, "provider_org_id": req.provider_org_id,
        "consumer_org_id": req.consumer_org_id, "items": list(req.items or []), "mode": req.mode,
        "purpose": req.purpose, "basis": req.basis, "scenario": req.scenario,
        "period_from": req.period_from.isoformat(), "period_to": req.period_to.isoformat(),
        "region_scope": req.region_scope, "extra_items_reason": req.extra_items_reason,
        "decision": "批准", "decisions": list(req.decisions or []),
        "sealed_at": utcnow().isoformat(timespec="seconds"),
    }


def _sealing_org(session: Session, req: ShareRequest, res: Resource) -> Org:
    """The approving org: the provider, unless the authority decided the provider's step in its
    place (escalation) — then the region's data authority, when it has one."""
    took_over = any(d["step"] == St.PROVIDER.value and d.get("org_id") is None for d in req.decisions or [])
    if took_over:
        authority = session.execute(select(Org).where(
            Org.region_id == res.region_id, Org.kind == OrgKind.AUTHORITY.value).order_by(Org.id)).scalars().first()
        if authority is not None:
            return authority
    org = session.get(Org, req.provider_org_id)
    assert org is not None
    return org


def _approve(session: Session, actor: Actor, req: ShareRequest, res: Resource, day: date) -> None:
    req.sealed = sealing.seal(session, _sealing_org(session, req, res), seal_content(req))
    issue = load("yibenzhang.share.grants:issue_grant")
    if issue is not None:
        grant = issue(session, Actor.system(), request_id=req.id, consumer_org_id=req.consumer_org_id,
                      resource_id=req.resource_id, items=list(req.items), mode=req.mode,
                      row_scope={"region_code": req.region_scope} if req.region_scope else None,
                      valid_from=req.period_from, valid_to=req.period_to,
                      rate_limit_per_minute=getattr(get_settings().rules, "share_rate_limit_per_minute",
                                                    RATE_LIMIT_DEFAULT))
        req.grant_id = grant.id
    _finish(session, actor, req, St.APPROVED.value, day)


def decide_request(session: Session, actor: Actor, request_id: int, verdict: str, reason: str,
                   today: date | None = None) -> ShareRequest:
    """The provider's approver (step 1) or the region's authority (step 2, or step 1 once it is
    overdue) approves or refuses, always with a reason."""
    req = get_request(session, actor, request_id, for_update=True)
    day = today or _today()
    bag = ErrorBag()
    parsed = _VERDICT_ALIASES.get(str(verdict).strip().lower()) or Verdict.parse(verdict)
    if parsed is None:
        bag.add("decision", "unknown_value", "未知的取值“{value}”，可选：{allowed}",
                value=verdict, allowed="approve、refuse")
    reason_text = _text(bag, "reason", reason)
    authority = can_review(actor, _region_path(session, req.region_id))
    if req.state == St.PROVIDER.value:
        require(_is_provider_approver(actor, req) or (authority and (req.escalated or is_overdue(req, day))),
                "审批共享申请", "share_decide_denied")
    elif req.state == St.AUTHORITY.value:
        require(authority, "审核共享申请", "share_decide_denied")
    else:
        require(_is_provider_approver(actor, req) or authority, "审批共享申请", "share_decide_denied")
        raise _state_error(req, "审批")
    bag.raise_if_any()
    assert parsed is not None and reason_text is not None
    step = req.state
    in_place = step == St.PROVIDER.value and not _is_provider_approver(actor, req)
    org_id = None if in_place or step == St.AUTHORITY.value else req.provider_org_id
    on_time = req.step_due is None or day <= req.step_due
    _record(req, step, parsed.value, reason_text, actor.username, org_id, day)
    req.decisions[-1]["on_time"] = on_time
    if parsed == Verdict.REFUSE:
        _finish(session, actor, req, St.REFUSED.value, day)
    elif step == St.PROVIDER.value:
        req.state = St.AUTHORITY.value
        _start_step(req, day)
        req.updated_at = utcnow()
        ledger.append(session, actor, "share.request.decide", "share_request", req.id, {
            "state": req.state, "step": step, "verdict": parsed.value, "on": day.isoformat(),
            "on_time": on_time, "step_due": req.step_due.isoformat() if req.step_due else None,
        })
    else:
        res = session.get(Resource, req.resource_id)
        assert res is not None
        _approve(session, actor, req, res, day)
    return req


def withdraw_request(session: Session, actor: Actor, request_id: int, today: date | None = None) -> ShareRequest:
    """The consumer org takes a pending request back."""
    req = get_request(session, actor, request_id, for_update=True)
    require(_acts_for_consumer(actor, req.consumer_org_id), "撤回共享申请", "share_withdraw_denied")
    if req.state not in PENDING:
        raise _state_error(req, "撤回")
    day = today or _today()
    req.state = St.WITHDRAWN.value
    req.step_due = None
    req.updated_at = utcnow()
    ledger.append(session, actor, "share.request.withdraw", "share_request", req.id,
                  {"state": req.state, "on": day.isoformat()})
    return req


def escalate_overdue(session: Session, actor: Actor, today: date | None = None) -> dict[str, Any]:
    """Mark every pending step past its deadline as escalated to the region's authority (daily job)."""
    require(actor.is_admin, "升级逾期共享申请")
    day = today or _today()
    rows = session.execute(select(ShareRequest).where(
        ShareRequest.state.in_(PENDING), ShareRequest.step_due < day, ShareRequest.escalated.is_(False),
    ).order_by(ShareRequest.id).with_for_update()).scalars().all()
    for req in rows:
        req.escalated = True
        req.escalated_on = day
        req.updated_at = utcnow()
        ledger.append(session, actor, "share.request.escalate", "share_request", req.id, {
            "state": req.state, "missed_due": req.step_due.isoformat() if req.step_due else None,
            "escalated_on": day.isoformat(), "region_id": req.region_id,
        })
    return {"today": day.isoformat(), "escalated": len(rows), "ids": [r.id for r in rows]}


# --- reading -------------------------------------------------------------------------------------


def _to_decide(actor: Actor, day: date) -> Any:
    """Pending steps this actor answers: the provider's (approvers), the authority's (reviewers,
    plus the provider's step once overdue)."""
    clauses: list[Any] = []
    approver = actor.org_ids(Role.APPROVER)
    if approver:
        clauses.append(and_(ShareRequest.state == St.PROVIDER.value, ShareRequest.provider_org_id.in_(approver)))
    paths = actor.reviewer_paths()
    if paths or actor.is_admin:
        overdue = or_(ShareRequest.escalated.is_(True), ShareRequest.step_due < day)
        mine = or_(ShareRequest.state == St.AUTHORITY.value,
                   and_(ShareRequest.state == St.PROVIDER.value, overdue))
        if actor.is_admin:
            clauses.append(mine)
        else:
            regions = select(Region.id).where(or_(*[Region.path.startswith(p) for p in paths]))
            clauses.append(and_(mine, ShareRequest.region_id.in_(regions)))
    return or_(*clauses) if clauses else ShareRequest.id.is_(None)


def list_requests(
    session: Session, actor: Actor, *, view: str | None = None, resource_id: int | None = None,
    consumer_org_id: int | None = None, overdue: bool = False, today: date | None = None,
    limit: int = 50, offset: int = 0, org_id: int | None = None, state: str | None = None, sort: str | None = None,
    region_code: str | None = None, mode: str | None = None,
) -> tuple[list[ShareRequest], int]:
    """Requests the actor may read, grouped by resource and consumer org (so reviewers see one
    org's requests for one resource together). view: mine (consumer side) | to_decide.
    org_id: either side is this org; sort "due": the step due first (issue 17's queue order)."""
    from sqlalchemy import func

    day = today or _today()
    stmt = select(ShareRequest)
    visible = _visible(actor)
    if visible is not None:
        stmt = stmt.where(visible)
    if view == "mine":
        stmt = stmt.where(ShareRequest.consumer_org_id.in_(actor.org_ids(Role.CONSUMER, Role.STEWARD) or {-1}))
    elif view == "to_decide":
        stmt = stmt.where(_to_decide(actor, day))
    elif view:
        bag = ErrorBag()
        bag.add("view", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=view,
                allowed="mine、to_decide")
        bag.raise_if_any()
    if resource_id is not None:
        stmt = stmt.where(ShareRequest.resource_id == resource_id)
    if consumer_org_id is not None:
        stmt = stmt.where(ShareRequest.consumer_org_id == consumer_org_id)
    if overdue:
        stmt = stmt.where(ShareRequest.state.in_(PENDING), ShareRequest.step_due < day)
    if org_id is not None:
        stmt = stmt.where((ShareRequest.provider_org_id == org_id) | (ShareRequest.consumer_org_id == org_id))
    if state:
        if state not in [s.value for s in St]:
            bag = ErrorBag()
            bag.add("state", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=state,
                    allowed="、".join(s.value for s in St))
            bag.raise_if_any()
        stmt = stmt.where(ShareRequest.state == state)
    if region_code:  # the resource's region and the regions below it

        below = select(Region.id).where(Region.path.startswith(get_region_by_code(session, region_code).path))
        stmt = stmt.where(ShareRequest.region_id.in_(below))
    if mode:
        if ShareMode.parse(mode) is None:
            bag = ErrorBag()
            bag.add("mode", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=mode,
                    allowed="、".join(ShareMode.values()))
            bag.raise_if_any()
        stmt = stmt.where(ShareRequest.mode == ShareMode.parse(mode).value)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    if sort == "due":  # pending steps by due date, then the rest newest first
        order: tuple[Any, ...] = (ShareRequest.step_due.is_(None), ShareRequest.step_due, ShareRequest.id.desc())
    else:
        order = (ShareRequest.resource_id, ShareRequest.consumer_org_id, ShareRequest.id.desc())
    rows = session.execute(stmt.order_by(*order).limit(limit).offset(offset)).scalars()
    return list(rows), int(total)


def request_dict(session: Session, req: ShareRequest, today: date | None = None) -> dict[str, Any]:
    day = today or _today()
    res = session.get(Resource, req.resource_id)
    provider, consumer = session.get(Org, req.provider_org_id), session.get(Org, req.consumer_org_id)
    related = session.execute(select(ShareRequest.id, ShareRequest.state).where(
        ShareRequest.resource_id == req.resource_id, ShareRequest.consumer_org_id == req.consumer_org_id,
        ShareRequest.id != req.id).order_by(ShareRequest.id)).all()
    overdue = is_overdue(req, day)
    return {
        "id": req.id, "resource_id": req.resource_id, "resource_code": res.code if res else None,
        "resource_name": res.name if res else None, "share_type": req.share_type,
        "provider_org_id": req.provider_org_id, "provider_org_name": provider.name if provider else None,
        "consumer_org_id": req.consumer_org_id, "consumer_org_name": consumer.name if consumer else None,
        "items": list(req.items or []), "mode": req.mode, "purpose": req.purpose, "basis": req.basis,
        "scenario": req.scenario, "period_from": req.period_from.isoformat(),
        "period_to": req.period_to.isoformat(), "region_scope": req.region_scope,
        "extra_items_reason": req.extra_items_reason, "state": req.state,
        "requested_on": req.requested_on.isoformat(),
        "step_started_on": req.step_started_on.isoformat() if req.step_started_on else None,
        "step_due": req.step_due.isoformat() if req.step_due and req.state in PENDING else None,
        "workdays_left": workdays_between(day, req.step_due) if req.step_due and req.state in PENDING
        and day <= req.step_due else None,
        "days_waiting": workdays_between(req.step_started_on, day) if req.step_started_on and req.state in PENDING
        else None,
        "overdue": overdue, "escalated": bool(req.escalated) or overdue,
        "escalated_on": req.escalated_on.isoformat() if req.escalated_on else None,
        "decisions": list(req.decisions or []), "seal": req.sealed, "grant_id": req.grant_id,
        "related": [{"id": i, "state": s} for i, s in related],
    }


# --- the daily escalation job --------------------------------------------------------------------

ESCALATE_JOB = "share_requests.escalate"
ESCALATE_AT = time(0, 15)


# The job's handler, and the worker ticker that keeps the next morning's escalation queued.
escalate_job, schedule_escalation = jobs.daily_as_platform(ESCALATE_JOB, ESCALATE_AT, escalate_overdue)
