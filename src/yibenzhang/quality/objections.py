"""Objections (异议): someone who can see a resource disputes a value or a row; the provider's
steward answers and corrects within working-day limits; when late, the region's authority takes
over (DOMAIN §3 "谁采集、谁负责", Henan's unified objection handling, 003:281).

The objection's text (claim, expected value, row key, answers) may carry personal data: it lives
in this table only, readable by the filer, the provider's stewards and approvers and the region's
authority. The ledger records ids, states and dates, never that text.

Escalation is computed on read (an open objection past its deadline shows as 已升级 at once) and
made durable by `escalate_overdue`, which the daily job runs.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, and_, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .. import jobs, workdays
from ..access import Actor, can_read_all, can_review, require
from ..catalog.model import Resource, ResourceItem
from ..catalog.service import get_resource
from ..config import get_settings
from ..db import Base, UTCDateTime, utcnow
from ..enums import ChineseEnum, Role
from ..errors import Conflict, ErrorBag, NotFound, Unauthenticated
from ..ledger import service as ledger
from ..orgs.model import Org, Region
from ..registry import load
from ..sealing import SealedJSON, SealedText
from ..workdays import add_workdays, deadline_provisional, workdays_between

CLAIM_MAX = 2000  # characters of free text per field; a dispute, not a document


class ObjectionState(ChineseEnum):
    PENDING = "待答复"
    ACCEPTED = "已受理"  # the provider will correct
    REJECTED = "已驳回"
    CORRECTED = "已更正"
    ESCALATED = "已升级"  # a deadline passed: the region's authority decides
    DECIDED = "已裁定"
    WITHDRAWN = "已撤回"


class Answer(ChineseEnum):
    ACCEPT = "受理"
    REJECT = "驳回"


class Decision(ChineseEnum):
    UPHOLD = "支持异议"  # the provider must correct
    DISMISS = "不支持异议"


class Timeliness(ChineseEnum):
    """How the provider kept the deadlines (what assessment counts)."""

    DUE = "未到期"
    OVERDUE = "已逾期"
    ON_TIME = "按时办结"
    LATE = "逾期办结"


St = ObjectionState
OPEN = (St.PENDING.value, St.ACCEPTED.value, St.ESCALATED.value)


class Objection(Base):
    __tablename__ = "objections"
    __table_args__ = (
        Index("ix_objections_org_state", "org_id", "state"),
        Index("ix_objections_filed_by_id", "filed_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    # The provider and region at filing: who must answer, whose authority escalates.
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    batch_id: Mapped[int | None] = mapped_column(Integer)  # zone batch (no FK: zone is optional)
    row_key: Mapped[dict[str, Any] | None] = mapped_column(SealedJSON)  # key item name -> value (SM4)
    row_number: Mapped[int | None] = mapped_column(Integer)  # source row/line number
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    claim: Mapped[str] = mapped_column(SealedText)  # issue 23: SM4 at rest
    expected: Mapped[str | None] = mapped_column(SealedText)  # issue 23: SM4 at rest
    state: Mapped[str] = mapped_column(String(8))
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filed_on: Mapped[date] = mapped_column(Date)
    answer_due: Mapped[date] = mapped_column(Date)
    correct_due: Mapped[date] = mapped_column(Date)
    answer: Mapped[str | None] = mapped_column(String(8))
    answer_reason: Mapped[str | None] = mapped_column(SealedText)  # issue 23: SM4 at rest
    answered_on: Mapped[date | None] = mapped_column(Date)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    correction_note: Mapped[str | None] = mapped_column(SealedText)  # issue 23: SM4 at rest
    correction_batch_id: Mapped[int | None] = mapped_column(Integer)
    corrected_on: Mapped[date | None] = mapped_column(Date)
    corrected_by: Mapped[str | None] = mapped_column(String(64))
    escalated_on: Mapped[date | None] = mapped_column(Date)
    escalated_from: Mapped[str | None] = mapped_column(String(8))
    decision: Mapped[str | None] = mapped_column(String(8))
    decision_reason: Mapped[str | None] = mapped_column(SealedText)  # issue 23: SM4 at rest
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- deadlines and states, computed on read ---------------------------------------------------


_today = workdays.today  # the one clock (workdays.today): China's date, patchable in tests


def deadlines(filed_on: date) -> tuple[date, date]:
    """(answer due, correction due): DOMAIN §3, 5 and 10 working days of filing (settings)."""
    rules = get_settings().rules
    return (add_workdays(filed_on, rules.objection_answer_workdays),
            add_workdays(filed_on, rules.objection_correct_workdays))


def missed_deadline(obj: Objection, today: date) -> date | None:
    """The deadline an open objection has passed by `today` (the due day itself is on time)."""
    if obj.state == St.PENDING.value and today > obj.answer_due:
        return obj.answer_due
    if obj.state == St.ACCEPTED.value and today > obj.correct_due:
        return obj.correct_due
    return None


def effective_state(obj: Objection, today: date) -> str:
    """The stored state, except that an open objection past its deadline is already 已升级."""
    return St.ESCALATED.value if missed_deadline(obj, today) else obj.state


def timeliness(obj: Objection, today: date) -> str | None:
    """未到期 / 已逾期 / 按时办结 / 逾期办结; None for a withdrawn objection (not counted)."""
    state = effective_state(obj, today)
    if state == St.WITHDRAWN.value:
        return None
    if state == St.REJECTED.value:
        in_time = obj.answered_on is not None and obj.answered_on <= obj.answer_due
        return Timeliness.ON_TIME.value if in_time else Timeliness.LATE.value
    if state == St.CORRECTED.value:
        answered_ok = obj.answered_on is None or obj.answered_on <= obj.answer_due
        ok = obj.escalated_on is None and answered_ok and obj.corrected_on is not None \
            and obj.corrected_on <= obj.correct_due
        return Timeliness.ON_TIME.value if ok else Timeliness.LATE.value
    if state == St.DECIDED.value:
        return Timeliness.LATE.value  # only a late objection reaches the authority
    if state == St.ESCALATED.value:
        return Timeliness.OVERDUE.value
    return Timeliness.DUE.value


def _current_due(obj: Objection) -> date | None:
    if obj.state == St.PENDING.value:
        return obj.answer_due
    if obj.state == St.ACCEPTED.value:
        return obj.correct_due
    return None


# --- who may do what ----------------------------------------------------------------------------


def _region_path(session: Session, region_id: int) -> str:
    region = session.get(Region, region_id)
    return region.path if region else "/"


def _is_filer(actor: Actor, obj: Objection) -> bool:
    return actor.user_id is not None and actor.user_id == obj.filed_by_id


def _is_provider(actor: Actor, obj: Objection) -> bool:
    return actor.is_admin or actor.acts_for_org(obj.org_id, Role.STEWARD)


def can_read(session: Session, actor: Actor, obj: Objection) -> bool:
    """The filer, the provider's stewards and approvers, the region's authority (and the admin)."""
    return (_is_filer(actor, obj) or actor.acts_for_org(obj.org_id, Role.STEWARD, Role.APPROVER)
            or can_review(actor, _region_path(session, obj.region_id)))


def _visible(actor: Actor) -> Any:
    """SQL form of can_read over Objection (None: everything)."""
    if actor.is_admin:
        return None
    clauses: list[Any] = []
    if actor.user_id is not None:
        clauses.append(Objection.filed_by_id == actor.user_id)
    own = actor.org_ids(Role.STEWARD, Role.APPROVER)
    if own:
        clauses.append(Objection.org_id.in_(own))
    paths = actor.reviewer_paths()
    if paths:
        regions = select(Region.id).where(or_(*[Region.path.startswith(p) for p in paths]))
        clauses.append(Objection.region_id.in_(regions))
    return or_(*clauses) if clauses else Objection.id.is_(None)


def _what(objection_id: int | str) -> str:
    return f"异议 {objection_id}"


def get_objection(session: Session, actor: Actor, objection_id: int, *, for_update: bool = False) -> Objection:
    """An objection the actor may read; `for_update` locks its row (PostgreSQL) so an act and the
    escalation job never both decide from the same old state."""
    obj = session.get(Objection, int(objection_id), with_for_update=for_update or None)
    if obj is None or not can_read(session, actor, obj):
        # Do not reveal an objection to someone who may not read it.
        raise NotFound(_what(objection_id), "objection_not_found")
    return obj


def _state_error(obj: Objection, action: str, today: date) -> Conflict:
    return Conflict("objection_state", "状态为“{state}”的异议不能{action}",
                    state=effective_state(obj, today), action=action)


# --- acts ----------------------------------------------------------------------------------


def _text(bag: ErrorBag, field: str, value: str | None, required: bool) -> str | None:
    return bag.text(field, value, required=required, limit=CLAIM_MAX)


def _check_batch(session: Session, bag: ErrorBag, field: str, resource_id: int, batch_id: int | None) -> None:
    """A batch named must be one of the resource's (when the zone is installed)."""
    if batch_id is None:
        return

    batch_model = load("yibenzhang.zone.model:Batch")
    if batch_model is None:
        return
    batch = session.get(batch_model, batch_id)
    if batch is None or batch.resource_id != resource_id:
        bag.add(field, "batch_not_found", "批次{value}不属于该信息资源", value=batch_id)


def file_objection(
    session: Session, actor: Actor, resource: int | str, *, claim: str, expected: str | None = None,
    items: list[str] | None = None, batch_id: int | None = None, row_key: dict[str, Any] | None = None,
    row_number: int | None = None, today: date | None = None,
) -> Objection:
    """Anyone who can see a published resource disputes a value or a row of it."""

    if not actor.is_authenticated or actor.user_id is None:
        raise Unauthenticated("auth_required", "需要登录")
    res = get_resource(session, actor, resource)  # NotFound for what the actor may not see
    if res.published_version is None:
        raise Conflict("objection_resource_state", "尚未发布的信息资源不能提出异议")
    day = today or _today()
    bag = ErrorBag()
    claim_text = _text(bag, "claim", claim, required=True)
    expected_text = _text(bag, "expected", expected, required=False)
    item_rows = session.execute(select(ResourceItem.name, ResourceItem.is_key)
                                .where(ResourceItem.resource_id == res.id)).all()
    names = {name for name, _ in item_rows}
    keys = {name for name, is_key in item_rows if is_key}
    chosen = [str(i).strip() for i in (items or []) if str(i).strip()]
    for i, name in enumerate(chosen):
        if name not in names:
            bag.add(f"items.{i}", "unknown_item", "信息项“{value}”不属于该信息资源", value=name)
    if len(set(chosen)) != len(chosen):
        bag.add("items", "duplicate_item", "信息项重复")
    clean_key: dict[str, str] | None = None
    if row_key:
        clean_key = {str(k).strip(): str(v).strip() for k, v in row_key.items()}
        for name in clean_key:
            if name not in keys:
                bag.add(f"row_key.{name}", "not_key_item", "“{value}”不是该信息资源的主键信息项", value=name)
    if row_number is not None and row_number < 1:
        bag.add("row_number", "row_number", "行号必须是正整数")
    if not chosen and not clean_key and row_number is None:
        bag.add("items", "nothing_disputed", "请指明有异议的信息项或数据行")
    _check_batch(session, bag, "batch_id", res.id, batch_id)
    bag.raise_if_any()
    answer_due, correct_due = deadlines(day)
    obj = Objection(
        resource_id=res.id, org_id=res.org_id, region_id=res.region_id, batch_id=batch_id,
        row_key=clean_key or None, row_number=row_number, items=chosen, claim=claim_text or "",
        expected=expected_text, state=St.PENDING.value, filed_by=actor.username, filed_by_id=actor.user_id,
        filed_on=day, answer_due=answer_due, correct_due=correct_due,
    )
    session.add(obj)
    session.flush()
    ledger.append(session, actor, "quality.objection.file", "objection", obj.id, {
        "resource_id": res.id, "org_id": res.org_id, "batch_id": batch_id, "items": len(chosen),
        "row_reference": bool(clean_key or row_number), "state": obj.state, "filed_on": day.isoformat(),
        "answer_due": answer_due.isoformat(), "correct_due": correct_due.isoformat(),
    })
    return obj


def _touch(obj: Objection, state: str) -> None:
    obj.state = state
    obj.updated_at = utcnow()


def _escalate(session: Session, obj: Objection, today: date, actor: Actor) -> None:
    missed = missed_deadline(obj, today)
    assert missed is not None
    obj.escalated_from = obj.state
    obj.escalated_on = today
    _touch(obj, St.ESCALATED.value)
    ledger.append(session, actor, "quality.objection.escalate", "objection", obj.id, {
        "from": obj.escalated_from, "state": obj.state, "missed_due": missed.isoformat(),
        "escalated_on": today.isoformat(), "org_id": obj.org_id, "region_id": obj.region_id,
    })


def _settle(session: Session, obj: Objection, today: date) -> None:
    """Make an escalation that is due durable before any act (by the platform, not the actor)."""
    if missed_deadline(obj, today):
        _escalate(session, obj, today, Actor.system())


def answer_objection(
    session: Session, actor: Actor, objection_id: int, answer: str, reason: str | None = None,
    today: date | None = None,
) -> Objection:
    """The provider's steward accepts (will correct) or rejects with a reason."""
    obj = get_objection(session, actor, objection_id, for_update=True)
    require(_is_provider(actor, obj), "答复异议")
    day = today or _today()
    bag = ErrorBag()
    parsed = Answer.parse(answer)
    if parsed is None:
        bag.add("answer", "unknown_value", "未知的取值“{value}”，可选：{allowed}",
                value=answer, allowed="、".join(Answer.values()))
    reason_text = _text(bag, "reason", reason, required=parsed == Answer.REJECT)
    bag.raise_if_any()
    _settle(session, obj, day)
    if obj.state != St.PENDING.value:
        raise _state_error(obj, "答复", day)
    obj.answer = parsed.value if parsed else None
    obj.answer_reason = reason_text
    obj.answered_on = day
    obj.answered_by = actor.username
    _touch(obj, St.ACCEPTED.value if parsed == Answer.ACCEPT else St.REJECTED.value)
    ledger.append(session, actor, "quality.objection.answer", "objection", obj.id, {
        "answer": obj.answer, "state": obj.state, "answered_on": day.isoformat(),
        "on_time": day <= obj.answer_due,
    })
    return obj


def correct_objection(
    session: Session, actor: Actor, objection_id: int, note: str, batch_id: int | None = None,
    today: date | None = None,
) -> Objection:
    """The provider records the correction (optionally the batch that fixed it). Allowed after
    acceptance, and late: after escalation or when the authority upheld the objection."""
    obj = get_objection(session, actor, objection_id, for_update=True)
    require(_is_provider(actor, obj), "更正异议数据")
    day = today or _today()
    bag = ErrorBag()
    note_text = _text(bag, "note", note, required=True)
    _check_batch(session, bag, "batch_id", obj.resource_id, batch_id)
    bag.raise_if_any()
    _settle(session, obj, day)
    upheld = obj.state == St.DECIDED.value and obj.decision == Decision.UPHOLD.value
    if obj.state not in (St.ACCEPTED.value, St.ESCALATED.value) and not upheld:
        raise _state_error(obj, "更正", day)
    obj.correction_note = note_text
    obj.correction_batch_id = batch_id
    obj.corrected_on = day
    obj.corrected_by = actor.username
    _touch(obj, St.CORRECTED.value)
    ledger.append(session, actor, "quality.objection.correct", "objection", obj.id, {
        "state": obj.state, "batch_id": batch_id, "corrected_on": day.isoformat(),
        "on_time": obj.escalated_on is None and day <= obj.correct_due,
    })
    return obj


def withdraw_objection(session: Session, actor: Actor, objection_id: int, today: date | None = None) -> Objection:
    """The filer takes the objection back while it is still open."""
    obj = get_objection(session, actor, objection_id, for_update=True)
    require(_is_filer(actor, obj), "撤回异议")
    day = today or _today()
    _settle(session, obj, day)  # a lateness that already happened stays on record
    if obj.state not in OPEN:
        raise _state_error(obj, "撤回", day)
    obj.withdrawn_on = day
    _touch(obj, St.WITHDRAWN.value)
    ledger.append(session, actor, "quality.objection.withdraw", "objection", obj.id,
                  {"state": obj.state, "withdrawn_on": day.isoformat()})
    return obj


def decide_objection(
    session: Session, actor: Actor, objection_id: int, decision: str, reason: str,
    today: date | None = None,
) -> Objection:
    """The region's authority rules on an escalated objection: uphold (the provider must correct)
    or dismiss, with a reason."""
    obj = get_objection(session, actor, objection_id, for_update=True)
    require(can_review(actor, _region_path(session, obj.region_id)), "裁定异议", "review_denied")
    day = today or _today()
    bag = ErrorBag()
    parsed = Decision.parse(decision)
    if parsed is None:
        bag.add("decision", "unknown_value", "未知的取值“{value}”，可选：{allowed}",
                value=decision, allowed="、".join(Decision.values()))
    reason_text = _text(bag, "reason", reason, required=True)
    bag.raise_if_any()
    _settle(session, obj, day)
    if obj.state != St.ESCALATED.value:
        raise _state_error(obj, "裁定", day)
    obj.decision = parsed.value if parsed else None
    obj.decision_reason = reason_text
    obj.decided_on = day
    obj.decided_by = actor.username
    _touch(obj, St.DECIDED.value)
    ledger.append(session, actor, "quality.objection.decide", "objection", obj.id,
                  {"decision": obj.decision, "state": obj.state, "decided_on": day.isoformat()})
    return obj


def escalate_overdue(session: Session, actor: Actor, today: date | None = None) -> dict[str, Any]:
    """Escalate every open objection whose deadline has passed (the daily job). Idempotent."""
    require(actor.is_admin, "升级逾期异议")
    day = today or _today()
    overdue = session.execute(
        select(Objection).where(or_(
            and_(Objection.state == St.PENDING.value, Objection.answer_due < day),
            and_(Objection.state == St.ACCEPTED.value, Objection.correct_due < day),
        )).order_by(Objection.id).with_for_update()
    ).scalars().all()
    for obj in overdue:
        _escalate(session, obj, day, actor)
    return {"today": day.isoformat(), "escalated": len(overdue), "ids": [o.id for o in overdue]}


# --- reading -----------------------------------------------------------------------------------


def _overdue_clause(day: date) -> Any:
    return or_(
        and_(Objection.state == St.PENDING.value, Objection.answer_due < day),
        and_(Objection.state == St.ACCEPTED.value, Objection.correct_due < day),
        Objection.state == St.ESCALATED.value,
    )


def list_objections(
    session: Session, actor: Actor, *, mine: bool = False, org_id: int | None = None, overdue: bool = False,
    open_only: bool = False, state: str | None = None, resource_id: int | None = None,
    today: date | None = None, limit: int = 50, offset: int = 0,
) -> tuple[list[Objection], int]:
    """Objections the actor may read, newest first: mine (filer side), an org's (provider side),
    open or overdue ones. `state` filters on the effective state (已升级 includes late ones)."""
    day = today or _today()
    stmt = select(Objection)
    visible = _visible(actor)
    if visible is not None:
        stmt = stmt.where(visible)
    if mine:
        stmt = stmt.where(Objection.filed_by_id == (actor.user_id if actor.user_id is not None else -1))
    if org_id is not None:
        stmt = stmt.where(Objection.org_id == org_id)
    if resource_id is not None:
        stmt = stmt.where(Objection.resource_id == resource_id)
    if overdue:
        stmt = stmt.where(_overdue_clause(day))
    if open_only:
        stmt = stmt.where(Objection.state.in_(OPEN))
    if state:
        parsed = ObjectionState.parse(state)
        if parsed is None:
            bag = ErrorBag()
            bag.add("state", "unknown_value", "未知的取值“{value}”，可选：{allowed}",
                    value=state, allowed="、".join(ObjectionState.values()))
            bag.raise_if_any()
        elif parsed == St.ESCALATED:
            stmt = stmt.where(_overdue_clause(day))
        elif parsed in (St.PENDING, St.ACCEPTED):
            stmt = stmt.where(Objection.state == parsed.value, ~_overdue_clause(day))
        else:
            stmt = stmt.where(Objection.state == parsed.value)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(Objection.id.desc()).limit(limit).offset(offset)).scalars()
    return list(rows), int(total)


def objection_dict(session: Session, obj: Objection, today: date | None = None) -> dict[str, Any]:
    day = today or _today()
    resource = session.get(Resource, obj.resource_id)
    org = session.get(Org, obj.org_id)
    due = _current_due(obj)
    state = effective_state(obj, day)
    return {
        "id": obj.id, "resource_id": obj.resource_id, "resource_code": resource.code if resource else None,
        "resource_name": resource.name if resource else None, "org_id": obj.org_id,
        "org_name": org.name if org else None, "batch_id": obj.batch_id, "row_key": obj.row_key,
        "row_number": obj.row_number, "items": list(obj.items or []), "claim": obj.claim,
        "expected": obj.expected, "state": state, "stored_state": obj.state,
        "overdue": state == St.ESCALATED.value, "timeliness": timeliness(obj, day),
        "filed_by": obj.filed_by, "filed_on": obj.filed_on.isoformat(),
        "answer_due": obj.answer_due.isoformat(), "correct_due": obj.correct_due.isoformat(),
        "provisional": deadline_provisional(obj.filed_on, obj.correct_due),
        "due": due.isoformat() if due else None,
        "workdays_left": workdays_between(day, due) if due and day <= due else None,
        "answer": obj.answer, "answer_reason": obj.answer_reason,
        "answered_on": obj.answered_on.isoformat() if obj.answered_on else None,
        "answered_by": obj.answered_by, "correction_note": obj.correction_note,
        "correction_batch_id": obj.correction_batch_id,
        "corrected_on": obj.corrected_on.isoformat() if obj.corrected_on else None,
        "corrected_by": obj.corrected_by,
        "escalated_on": obj.escalated_on.isoformat() if obj.escalated_on else None,
        "escalated_from": obj.escalated_from, "decision": obj.decision, "decision_reason": obj.decision_reason,
        "decided_on": obj.decided_on.isoformat() if obj.decided_on else None, "decided_by": obj.decided_by,
        "withdrawn_on": obj.withdrawn_on.isoformat() if obj.withdrawn_on else None,
    }


def objection_counts(
    session: Session, actor: Actor, *, org_id: int | None = None, region_path: str | None = None,
    today: date | None = None,
) -> dict[int, dict[str, int]]:
    """Per provider org: total (withdrawn excluded), open, overdue, closed on time, closed late —
    what assessment scores ("objections closed on time", DOMAIN §10)."""
    require(can_read_all(actor) or bool(actor.reviewer_paths()) or bool(actor.org_ids()), "查看异议统计")
    day = today or _today()
    stmt = select(Objection)
    if not can_read_all(actor):
        visible = _visible(actor)
        if visible is not None:
            stmt = stmt.where(visible)
    if org_id is not None:
        stmt = stmt.where(Objection.org_id == org_id)
    if region_path:
        stmt = stmt.where(Objection.region_id.in_(select(Region.id).where(Region.path.startswith(region_path))))
    out: dict[int, dict[str, int]] = {}
    # One row per objection of metadata (not collected rows): counted here for the rules above.
    for obj in session.execute(stmt.where(Objection.state != St.WITHDRAWN.value)).scalars():
        c = out.setdefault(obj.org_id, {"total": 0, "open": 0, "overdue": 0, "on_time": 0, "late": 0})
        c["total"] += 1
        t = timeliness(obj, day)
        if t == Timeliness.DUE.value:
            c["open"] += 1
        elif t == Timeliness.OVERDUE.value:
            c["open"] += 1
            c["overdue"] += 1
        elif t == Timeliness.ON_TIME.value:
            c["on_time"] += 1
        elif t == Timeliness.LATE.value:
            c["late"] += 1
    return out


# --- the daily escalation job ----------------------------------------------------------------

ESCALATE_JOB = "objections.escalate"
ESCALATE_AT = time(0, 10)  # early each morning, local time: yesterday's deadlines have passed


# The job's handler, and the worker ticker that keeps the next morning's escalation queued.
escalate_job, schedule_escalation = jobs.daily_as_platform(ESCALATE_JOB, ESCALATE_AT, escalate_overdue)
