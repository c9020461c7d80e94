"""Applications for 有条件开放 datasets (DOMAIN §6): a registered user states purpose and scenario
and accepts the usage agreement — the same form for everyone (no discriminatory conditions). The
provider org's 机构审批人 or 数据专员 approves or refuses, with a reason, within
Rules.open_apply_answer_workdays working days; past that the application shows 已逾期 at once
on read, and the daily job marks it durably. An approved applicant downloads when signed in and
takes an API key for the dataset (keys.py).

Purpose, scenario and reasons live in this table only; the ledger gets ids, states and dates."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor, require
from ..catalog.model import Resource
from ..config import get_settings
from ..enums import OpenType, Role
from ..errors import Conflict, ErrorBag, NotFound, Unauthenticated
from ..i18n import N_
from ..ledger import service as ledger
from ..orgs.model import Org, User
from ..workdays import add_workdays, workdays_between
from . import keys as key_service
from .datasets import get_open_resource
from .model import ApplicationState, OpenApiKey, OpenApplication, Verdict

TEXT_MAX = 2000
# The usage agreement every applicant accepts (one text, one version, for everyone).
AGREEMENT_VERSION = "2025-1"
AGREEMENT = (N_("申请人承诺：仅在申请所述用途和场景内使用数据；不得尝试识别个人身份；不得向第三方转让或出售原始数据；"
             "引用数据时注明来源；发现数据错误通过异议渠道反馈；违反约定的，提供方可撤销授权。"))
St = ApplicationState
_VERDICT_ALIASES = {"approve": Verdict.APPROVE, "refuse": Verdict.REFUSE}


_today = workdays.today  # the one clock (workdays.today): China's date, patchable in tests


def answer_due(applied_on: date) -> date:
    """Due on the N-th working day after the application (Rules.open_apply_answer_workdays)."""
    return add_workdays(applied_on, get_settings().rules.open_apply_answer_workdays)


def is_overdue(app: OpenApplication, today: date) -> bool:
    return app.state == St.PENDING.value and today > app.due


def can_decide(actor: Actor, app: OpenApplication) -> bool:
    """Only the provider org's approvers and stewards decide."""
    return actor.acts_for_org(app.provider_org_id, Role.APPROVER, Role.STEWARD)


def can_read(actor: Actor, app: OpenApplication) -> bool:
    return (actor.user_id is not None and actor.user_id == app.applicant_id) or can_decide(actor, app) \
        or actor.is_admin or actor.is_auditor


def get_application(session: Session, actor: Actor, app_id: int, *, for_update: bool = False) -> OpenApplication:
    app = session.get(OpenApplication, int(app_id), with_for_update=for_update or None)
    if app is None or not can_read(actor, app):
        raise NotFound(f"开放申请 {app_id}", "open_application_not_found")
    return app


def _text(bag: ErrorBag, field: str, value: str | None) -> str:
    return bag.text(field, value, limit=TEXT_MAX) or ""


def apply(session: Session, actor: Actor, resource_id: int | str, *, purpose: str, scenario: str,
          agreement: bool, today: date | None = None) -> OpenApplication:
    if actor.user_id is None:
        raise Unauthenticated("auth_required", "需要登录")
    res = get_open_resource(session, resource_id)
    if res.open_type != OpenType.CONDITIONAL.value:
        raise Conflict("open_apply_unconditional", "无条件开放的数据集无需申请，可直接下载")
    bag = ErrorBag()
    texts = {"purpose": _text(bag, "purpose", purpose), "scenario": _text(bag, "scenario", scenario)}
    if not agreement:
        bag.add("agreement", "agreement_required", "须阅读并同意数据使用协议")
    bag.raise_if_any()
    existing = session.execute(select(OpenApplication.state).where(
        OpenApplication.applicant_id == actor.user_id, OpenApplication.resource_id == res.id,
        OpenApplication.state.in_((St.PENDING.value, St.APPROVED.value)))).scalars().all()
    if St.APPROVED.value in existing:
        raise Conflict("open_apply_approved", "您对该数据集的申请已获批准")
    if existing:
        raise Conflict("open_apply_pending", "您对该数据集已有待审批的申请")
    day = today or _today()
    app = OpenApplication(resource_id=res.id, provider_org_id=res.org_id, applicant_id=actor.user_id,
                          purpose=texts["purpose"], scenario=texts["scenario"], agreement_version=AGREEMENT_VERSION,
                          state=St.PENDING.value, applied_on=day, due=answer_due(day), overdue_marked=False)
    session.add(app)
    session.flush()
    ledger.append(session, actor, "open.application.create", "open_application", app.id, {
        "resource_id": res.id, "provider_org_id": res.org_id, "agreement_version": AGREEMENT_VERSION,
        "applied_on": day.isoformat(), "due": app.due.isoformat()})
    return app


def decide(session: Session, actor: Actor, app_id: int, verdict: str, reason: str,
           today: date | None = None) -> OpenApplication:
    """The provider org's approver or steward approves or refuses, always with a reason."""
    app = get_application(session, actor, app_id, for_update=True)
    require(can_decide(actor, app), "审批开放申请", "open_decide_denied")
    if app.state != St.PENDING.value:
        raise Conflict("open_application_state", "状态为“{state}”的开放申请不能审批", state=app.state)
    bag = ErrorBag()
    parsed = _VERDICT_ALIASES.get(str(verdict).strip().lower()) or Verdict.parse(verdict)
    if parsed is None:
        bag.add("decision", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=verdict,
                allowed="approve、refuse")
    reason_text = _text(bag, "reason", reason)
    bag.raise_if_any()
    day = today or _today()
    app.state = St.APPROVED.value if parsed == Verdict.APPROVE else St.REFUSED.value
    app.decided_on, app.decided_by_id, app.reason = day, actor.user_id, reason_text
    app.on_time = day <= app.due
    ledger.append(session, actor, "open.application.decide", "open_application", app.id, {
        "state": app.state, "on": day.isoformat(), "on_time": app.on_time, "resource_id": app.resource_id})
    return app


def withdraw(session: Session, actor: Actor, app_id: int) -> OpenApplication:
    app = get_application(session, actor, app_id, for_update=True)
    require(actor.user_id == app.applicant_id, "撤回开放申请", "open_withdraw_denied")
    if app.state != St.PENDING.value:
        raise Conflict("open_application_state", "状态为“{state}”的开放申请不能撤回", state=app.state)
    app.state = St.WITHDRAWN.value
    ledger.append(session, actor, "open.application.withdraw", "open_application", app.id, {"state": app.state})
    return app


def take_key(session: Session, actor: Actor, app_id: int, today: date | None = None) -> tuple[OpenApiKey, str]:
    """The approved applicant takes the application's API key (shown once). Taking it again
    revokes the previous key: a lost key is replaced, never shown twice."""
    app = get_application(session, actor, app_id, for_update=True)
    require(actor.user_id == app.applicant_id, "领取API密钥", "open_key_denied")
    if app.state != St.APPROVED.value:
        raise Conflict("open_application_state", "状态为“{state}”的开放申请不能领取API密钥", state=app.state)
    if app.key_id is not None:
        old = session.get(OpenApiKey, app.key_id)
        if old is not None and old.revoked_at is None:
            key_service.revoke_key(session, actor, old.id)
    key, raw = key_service.issue_key(session, actor, user_id=app.applicant_id, resource_ids=[app.resource_id],
                                     application_id=app.id, today=today)
    app.key_id = key.id
    return key, raw


def mark_overdue(session: Session, actor: Actor, today: date | None = None) -> dict[str, Any]:
    """Mark every pending application past its due date (the daily job)."""
    require(actor.is_admin, "标记逾期开放申请")
    day = today or _today()
    rows = session.execute(select(OpenApplication).where(
        OpenApplication.state == St.PENDING.value, OpenApplication.due < day,
        OpenApplication.overdue_marked.is_(False)).order_by(OpenApplication.id).with_for_update()).scalars().all()
    for app in rows:
        app.overdue_marked = True
        ledger.append(session, actor, "open.application.overdue", "open_application", app.id, {
            "due": app.due.isoformat(), "marked_on": day.isoformat(), "provider_org_id": app.provider_org_id})
    return {"today": day.isoformat(), "marked": len(rows), "ids": [a.id for a in rows]}


def list_applications(session: Session, actor: Actor, *, view: str = "mine", state: str | None = None,
                      overdue: bool = False, today: date | None = None, limit: int = 50,
                      offset: int = 0) -> tuple[list[OpenApplication], int]:
    """view: mine (my applications) | provider (applications to the orgs I decide for) | all
    (admin and auditors)."""
    day = today or _today()
    stmt = select(OpenApplication)
    if view == "mine":
        stmt = stmt.where(OpenApplication.applicant_id == (actor.user_id or -1))
    elif view == "provider":
        orgs = actor.org_ids(Role.APPROVER, Role.STEWARD)
        stmt = stmt.where(OpenApplication.provider_org_id.in_(orgs or {-1}))
    elif view == "all":
        require(actor.is_admin or actor.is_auditor, "查看全部开放申请")
    else:
        bag = ErrorBag()
        bag.add("view", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=view,
                allowed="mine、provider、all")
        bag.raise_if_any()
    if state:
        stmt = stmt.where(OpenApplication.state == (St.parse(state) or state))
    if overdue:
        stmt = stmt.where(OpenApplication.state == St.PENDING.value,
                          or_(OpenApplication.due < day, OpenApplication.overdue_marked.is_(True)))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    # Pending first, by due date; then the rest, newest first.
    pending_first = (OpenApplication.state != St.PENDING.value)
    rows = session.execute(stmt.order_by(pending_first, OpenApplication.due, OpenApplication.id.desc())
                           .limit(limit).offset(offset)).scalars()
    return list(rows), int(total)


def application_dict(session: Session, app: OpenApplication, today: date | None = None,
                     with_text: bool = True) -> dict[str, Any]:
    day = today or _today()
    res = session.get(Resource, app.resource_id)
    org = session.get(Org, app.provider_org_id)
    user = session.get(User, app.applicant_id)
    overdue = is_overdue(app, day)
    out: dict[str, Any] = {
        "id": app.id, "resource_id": app.resource_id, "resource_name": res.name if res else None,
        "resource_code": res.code if res else None, "provider_org_id": app.provider_org_id,
        "provider_org_name": org.name if org else None, "applicant": user.display_name if user else None,
        "state": app.state, "applied_on": app.applied_on.isoformat(), "due": app.due.isoformat(),
        "workdays_left": workdays_between(day, app.due) if app.state == St.PENDING.value and day <= app.due else None,
        "overdue": overdue, "decided_on": app.decided_on.isoformat() if app.decided_on else None,
        "on_time": app.on_time, "agreement_version": app.agreement_version, "key_id": app.key_id,
    }
    if with_text:
        out.update({"purpose": app.purpose, "scenario": app.scenario, "reason": app.reason})
    return out


def answered_on_time_clause() -> Any:
    return and_(OpenApplication.on_time.is_(True), OpenApplication.state.in_((St.APPROVED.value, St.REFUSED.value)))
