"""The compliance calendar (DOMAIN §8, and the recurring duties of §1, §6, §7).

- Personal-information handlers (any org, operators included) record how many people's personal
  information they process, as of a date; the history is kept.
- Routine audits (Art. 4): more than `pi_audit_people_threshold` people → every
  `pi_audit_years_large` years, otherwise every `pi_audit_years_small` years; due from the last
  completed audit, or from the org's registration when there is none.
- Regulator-ordered audits (Art. 9): due `ordered_audit_workdays` working days after the order;
  extensions recorded with approver, reason and the new due date.
- A firm audits the same handler at most `audit_firm_max_consecutive` times in a row (Art. 12).
- The same calendar lists catalogue updates after duty changes, each org's annual open plan and
  operators' annual disclosure; the daily job turns what falls due within `audit_reminder_days`
  into reminder records.

The authority (reviewers within their region, the admin) manages audits and firms; a handler's
stewards (an operator's 运营方 users) record its people count and see its own calendar; auditors
read everything.
"""

from __future__ import annotations

import calendar as _cal
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor, can_read_all, can_review, require
from ..catalog.model import DutyChange
from ..codes import uscc_errors
from ..config import get_settings
from ..db import utcnow
from ..enums import ChineseEnum, OrgKind, Role
from ..errors import Conflict, ErrorBag, NotFound
from ..ledger import service as ledger
from ..open.model import OpenPlanEntry
from ..orgs.model import Org, Region
from ..registry import load, module_available
from ..workdays import add_workdays
from .calendar_model import Audit, AuditFirm, AuditKind, AuditState, PeopleCount, Reminder

TEXT_MAX = 2000
NAME_MAX = 200
PEOPLE_MAX = 10**10  # above every country's population: a typing error, not a figure
YEARS = (2000, 2100)  # dates a calendar entry may carry (beyond: a typing error)
# The annual open plan (001:1189 Art. 17) has no date in the sources: due by this month/day of the
# plan's year (default, ours) until the rules carry `open_plan_due_month_day`.
OPEN_PLAN_DUE_DEFAULT = (1, 31)
# Operators disclose authorizations, products and prices every year by the end of March (DOMAIN §7).
DISCLOSURE_DUE_DEFAULT = (3, 31)
# Org kinds that keep an annual open plan: the public management and service bodies.
PLAN_KINDS = (OrgKind.GOV.value, OrgKind.INSTITUTION.value, OrgKind.ENTERPRISE.value)


class DutyKind(ChineseEnum):
    PI_AUDIT = "个人信息合规审计"
    ORDERED_AUDIT = "责令合规审计"
    CATALOGUE_UPDATE = "目录更新"
    OPEN_PLAN = "年度开放计划"
    DISCLOSURE = "年度信息披露"


class DutyStatus(ChineseEnum):
    DONE = "已完成"
    OVERDUE = "已逾期"
    DUE_SOON = "即将到期"
    SCHEDULED = "未到期"


_today = workdays.today  # the one clock (workdays.today): China's date, patchable in tests


# --- small date helpers ---------------------------------------------------------------------


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later (29 February → 28 February in a common year)."""
    year = day.year + years
    return day.replace(year=year, day=min(day.day, _cal.monthrange(year, day.month)[1]))


def routine_interval_years(people: int) -> int:
    """Art. 4: more than the threshold → yearly; the threshold itself and below → every 2 years."""
    rules = get_settings().rules
    return rules.pi_audit_years_large if people > rules.pi_audit_people_threshold else rules.pi_audit_years_small


def ordered_due(ordered_on: date) -> date:
    """Art. 9: a regulator-ordered audit finishes within N working days of the order."""
    return add_workdays(ordered_on, get_settings().rules.ordered_audit_workdays)


def _month_day(name: str, default: tuple[int, int]) -> tuple[int, int]:
    value = getattr(get_settings().rules, name, None)
    if isinstance(value, str) and "-" in value:
        month, _, day = value.partition("-")
        return int(month), int(day)
    if isinstance(value, tuple | list) and len(value) == 2:
        return int(value[0]), int(value[1])
    return default


# --- permissions ------------------------------------------------------------------------------


def _region_path(session: Session, region_id: int) -> str:
    region = session.get(Region, region_id)
    return region.path if region else "/"


def can_manage(session: Session, actor: Actor, org: Org) -> bool:
    """The authority of the handler's region (or above) and the admin manage its audits."""
    return can_review(actor, _region_path(session, org.region_id))


def can_record(session: Session, actor: Actor, org: Org) -> bool:
    return can_manage(session, actor, org) or actor.acts_for_org(org.id, Role.STEWARD, Role.OPERATOR)


def can_read_org(session: Session, actor: Actor, org: Org) -> bool:
    return (can_read_all(actor) or can_record(session, actor, org)
            or actor.acts_for_org(org.id, Role.APPROVER))


def visible_org_ids(session: Session, actor: Actor) -> set[int] | None:
    """None: every org (admin, auditors). Else the orgs whose calendar this actor may read."""
    if can_read_all(actor):
        return None
    ids = set(actor.org_ids(Role.STEWARD, Role.OPERATOR, Role.APPROVER))
    paths = actor.reviewer_paths()
    if paths:
        regions = select(Region.id).where(or_(*[Region.path.startswith(p) for p in paths]))
        ids |= set(session.execute(select(Org.id).where(Org.region_id.in_(regions))).scalars())
    return ids


def _org(session: Session, actor: Actor, org_id: int) -> Org:
    org = session.get(Org, int(org_id))
    if org is None or not can_read_org(session, actor, org):
        raise NotFound(f"机构 {org_id}", "org_not_found")
    return org


def _may_manage_firms(actor: Actor) -> bool:
    return actor.is_admin or bool(actor.reviewer_paths())


def _text(bag: ErrorBag, field: str, value: str | None, required: bool = True, limit: int = TEXT_MAX) -> str | None:
    return bag.text(field, value, required=required, limit=limit)


def _check_day(bag: ErrorBag, field: str, day: date | None) -> None:
    if day is not None and not YEARS[0] <= day.year <= YEARS[1]:
        bag.add(field, "date_out_of_range", "日期应在{lo}年至{hi}年之间", lo=YEARS[0], hi=YEARS[1])


# --- people counts ---------------------------------------------------------------------------


def record_people(session: Session, actor: Actor, org_id: int, people: int, as_of: date | None = None,
                  today: date | None = None) -> PeopleCount:
    """A handler records how many people's personal information it processes (history kept)."""
    org = _org(session, actor, org_id)
    require(can_record(session, actor, org), "登记个人信息处理人数", "calendar_record_denied")
    day = today or _today()
    when = as_of or day
    bag = ErrorBag()
    if isinstance(people, bool) or not isinstance(people, int) or not 0 <= people <= PEOPLE_MAX:
        bag.add("people", "people_invalid", "人数必须是非负整数")
    if when > day:
        bag.add("as_of", "as_of_future", "数据日期不能晚于今天")
    _check_day(bag, "as_of", when)
    bag.raise_if_any()
    row = PeopleCount(org_id=org.id, people=people, as_of=when, recorded_by=actor.username)
    session.add(row)
    session.flush()
    ledger.append(session, actor, "calendar.people.record", "org", org.id,
                  {"count_id": row.id, "people": people, "as_of": when.isoformat(),
                   "interval_years": routine_interval_years(people)})
    return row


def latest_people(session: Session, org_id: int) -> PeopleCount | None:
    return session.execute(select(PeopleCount).where(PeopleCount.org_id == org_id)
                           .order_by(PeopleCount.as_of.desc(), PeopleCount.id.desc()).limit(1)).scalar_one_or_none()


def people_history(session: Session, actor: Actor, org_id: int) -> list[dict[str, Any]]:
    org = _org(session, actor, org_id)
    rows = session.execute(select(PeopleCount).where(PeopleCount.org_id == org.id)
                           .order_by(PeopleCount.as_of.desc(), PeopleCount.id.desc())).scalars()
    return [{"id": r.id, "people": r.people, "as_of": r.as_of.isoformat(), "recorded_by": r.recorded_by}
            for r in rows]


# --- routine schedule -----------------------------------------------------------------------


@dataclass(frozen=True)
class RoutineDue:
    org_id: int
    people: int
    interval_years: int
    base: date  # last completed audit, or registration
    base_kind: str  # "audit" | "registration"
    due_on: date


def routine_due(session: Session, org: Org) -> RoutineDue | None:
    """Next routine audit of a handler (None when it has recorded no people count)."""
    count = latest_people(session, org.id)
    if count is None:
        return None
    last = session.execute(select(func.max(Audit.completed_on)).where(
        Audit.org_id == org.id, Audit.state == AuditState.DONE.value)).scalar_one_or_none()
    base, kind = (last, "audit") if last else (org.created_at.date(), "registration")
    years = routine_interval_years(count.people)
    return RoutineDue(org.id, count.people, years, base, kind, add_years(base, years))


# --- firms -------------------------------------------------------------------------------------


def create_firm(session: Session, actor: Actor, name: str, uscc: str | None = None) -> AuditFirm:
    require(_may_manage_firms(actor), "登记审计机构", "calendar_manage_denied")
    bag = ErrorBag()
    text = _text(bag, "name", name, limit=NAME_MAX)
    code = (uscc or "").strip().upper() or None
    if code is not None:
        bag.errors.extend(uscc_errors(code))
    bag.raise_if_any()
    assert text is not None
    if session.execute(select(AuditFirm.id).where(AuditFirm.name == text)).first():
        raise Conflict("audit_firm_exists", "审计机构“{value}”已存在", value=text)
    firm = AuditFirm(name=text, uscc=code, created_by=actor.username)
    session.add(firm)
    session.flush()
    ledger.append(session, actor, "calendar.firm.create", "audit_firm", firm.id, {"uscc": code})
    return firm


def list_firms(session: Session, actor: Actor) -> list[AuditFirm]:
    require(actor.is_government, "查看审计机构", "calendar_read_denied")
    return list(session.execute(select(AuditFirm).order_by(AuditFirm.name)).scalars())


def _firm(session: Session, firm_id: int) -> AuditFirm:
    firm = session.get(AuditFirm, int(firm_id))
    if firm is None:
        raise NotFound(f"审计机构 {firm_id}", "audit_firm_not_found")
    return firm


def consecutive_run(session: Session, org_id: int, firm_id: int, exclude_audit_id: int | None = None) -> int:
    """How many of the handler's latest firm assignments in a row went to this firm."""
    limit = get_settings().rules.audit_firm_max_consecutive + 1
    stmt = (select(Audit.firm_id).where(Audit.org_id == org_id, Audit.firm_id.is_not(None))
            .order_by(Audit.assigned_at.desc(), Audit.id.desc()).limit(limit))
    if exclude_audit_id is not None:
        stmt = stmt.where(Audit.id != exclude_audit_id)
    run = 0
    for fid in session.execute(stmt).scalars():
        if fid != firm_id:
            break
        run += 1
    return run


def _check_firm(session: Session, org: Org, firm: AuditFirm, exclude_audit_id: int | None = None) -> None:
    most = get_settings().rules.audit_firm_max_consecutive
    # One assignment per handler at a time (PostgreSQL row lock; SQLite writers are serial already),
    # so two concurrent 4th assignments cannot both pass the check.
    session.execute(select(Org.id).where(Org.id == org.id).with_for_update())
    if consecutive_run(session, org.id, firm.id, exclude_audit_id) >= most:
        raise Conflict("audit_firm_consecutive",
                       "审计机构“{firm}”已连续{n}次审计该个人信息处理者，不能再连续委托（最多{n}次）",
                       firm=firm.name, n=most)


# --- audits -------------------------------------------------------------------------------------


def get_audit(session: Session, actor: Actor, audit_id: int, *, for_update: bool = False) -> Audit:
    audit = session.get(Audit, int(audit_id), with_for_update=for_update or None)
    if audit is None:
        raise NotFound(f"合规审计 {audit_id}", "audit_not_found")
    org = session.get(Org, audit.org_id)
    if org is None or not can_read_org(session, actor, org):
        raise NotFound(f"合规审计 {audit_id}", "audit_not_found")
    return audit


def _manage(session: Session, actor: Actor, org_id: int, what: str) -> Org:
    org = _org(session, actor, org_id)
    require(can_manage(session, actor, org), what, "calendar_manage_denied")
    return org


def _assign(session: Session, audit: Audit, org: Org, firm_id: int | None) -> None:
    if firm_id is None:
        return
    firm = _firm(session, firm_id)
    _check_firm(session, org, firm, audit.id)
    audit.firm_id = firm.id
    audit.assigned_at = utcnow()


def open_routine_audit(session: Session, actor: Actor, org_id: int, firm_id: int | None = None,
                       today: date | None = None) -> Audit:
    """Start the handler's next routine audit: due on its scheduled date."""
    org = _manage(session, actor, org_id, "安排合规审计")
    due = routine_due(session, org)
    if due is None:
        raise Conflict("not_a_handler", "该机构尚未登记处理个人信息的人数")
    if session.execute(select(Audit.id).where(Audit.org_id == org.id, Audit.kind == AuditKind.ROUTINE.value,
                                              Audit.state == AuditState.OPEN.value)).first():
        raise Conflict("audit_already_open", "该机构已有进行中的定期审计")
    audit = Audit(org_id=org.id, kind=AuditKind.ROUTINE.value, state=AuditState.OPEN.value, due_on=due.due_on,
                  original_due_on=due.due_on, extensions=[], created_by=actor.username)
    session.add(audit)
    session.flush()
    _assign(session, audit, org, firm_id)
    ledger.append(session, actor, "calendar.audit.open", "audit", audit.id, {
        "org_id": org.id, "kind": audit.kind, "due_on": due.due_on.isoformat(), "people": due.people,
        "interval_years": due.interval_years, "firm_id": audit.firm_id,
    })
    return audit


def order_audit(session: Session, actor: Actor, org_id: int, ordered_on: date, basis: str,
                firm_id: int | None = None) -> Audit:
    """The regulator orders an audit: due N working days after the order (Art. 9)."""
    org = _manage(session, actor, org_id, "责令合规审计")
    bag = ErrorBag()
    text = _text(bag, "basis", basis)
    _check_day(bag, "ordered_on", ordered_on)
    bag.raise_if_any()
    due = ordered_due(ordered_on)
    audit = Audit(org_id=org.id, kind=AuditKind.ORDERED.value, state=AuditState.OPEN.value, ordered_on=ordered_on,
                  basis=text, due_on=due, original_due_on=due, extensions=[], created_by=actor.username)
    session.add(audit)
    session.flush()
    _assign(session, audit, org, firm_id)
    ledger.append(session, actor, "calendar.audit.order", "audit", audit.id, {
        "org_id": org.id, "ordered_on": ordered_on.isoformat(), "due_on": due.isoformat(),
        "workdays": get_settings().rules.ordered_audit_workdays, "firm_id": audit.firm_id,
    })
    return audit


def assign_firm(session: Session, actor: Actor, audit_id: int, firm_id: int) -> Audit:
    """Entrust an audit to a firm; the (max+1)-th assignment in a row of one firm is refused."""
    audit = get_audit(session, actor, audit_id, for_update=True)
    org = _manage(session, actor, audit.org_id, "委托审计机构")
    if audit.state == AuditState.DONE.value:
        raise Conflict("audit_state", "已完成的合规审计不能{action}", action="委托审计机构")
    _assign(session, audit, org, firm_id)
    ledger.append(session, actor, "calendar.audit.assign", "audit", audit.id,
                  {"org_id": org.id, "firm_id": audit.firm_id,
                   "in_a_row": consecutive_run(session, org.id, firm_id)})
    return audit


def extend_audit(session: Session, actor: Actor, audit_id: int, due_on: date, approver: str, reason: str,
                 today: date | None = None) -> Audit:
    """An approved extension: the new due date, who approved it and why."""
    audit = get_audit(session, actor, audit_id, for_update=True)
    _manage(session, actor, audit.org_id, "延期合规审计")
    if audit.state == AuditState.DONE.value:
        raise Conflict("audit_state", "已完成的合规审计不能{action}", action="延期")
    bag = ErrorBag()
    who = _text(bag, "approver", approver, limit=NAME_MAX)
    why = _text(bag, "reason", reason)
    _check_day(bag, "due_on", due_on)
    if due_on <= audit.due_on:
        bag.add("due_on", "extension_not_later", "延期后的截止日期必须晚于当前截止日期{due}",
                due=audit.due_on.isoformat())
    bag.raise_if_any()
    day = today or _today()
    previous = audit.due_on
    audit.extensions = [*(audit.extensions or []), {
        "due_on": due_on.isoformat(), "previous_due_on": previous.isoformat(), "approver": who,
        "reason": why, "on": day.isoformat(), "by": actor.username}]
    audit.due_on = due_on
    ledger.append(session, actor, "calendar.audit.extend", "audit", audit.id, {
        "org_id": audit.org_id, "previous_due_on": previous.isoformat(), "due_on": due_on.isoformat(),
        "extensions": len(audit.extensions), "on": day.isoformat()})
    return audit


def complete_audit(session: Session, actor: Actor, audit_id: int, completed_on: date | None = None,
                   today: date | None = None) -> Audit:
    audit = get_audit(session, actor, audit_id, for_update=True)
    _manage(session, actor, audit.org_id, "完成合规审计")
    if audit.state == AuditState.DONE.value:
        raise Conflict("audit_state", "已完成的合规审计不能{action}", action="再次完成")
    day = today or _today()
    when = completed_on or day
    bag = ErrorBag()
    if when > day:
        bag.add("completed_on", "as_of_future", "数据日期不能晚于今天")
    if audit.ordered_on and when < audit.ordered_on:
        bag.add("completed_on", "completed_before_order", "完成日期不能早于责令日期{day}",
                day=audit.ordered_on.isoformat())
    _check_day(bag, "completed_on", when)
    bag.raise_if_any()
    audit.state = AuditState.DONE.value
    audit.completed_on = when
    ledger.append(session, actor, "calendar.audit.complete", "audit", audit.id, {
        "org_id": audit.org_id, "kind": audit.kind, "completed_on": when.isoformat(),
        "due_on": audit.due_on.isoformat(), "on_time": when <= audit.due_on, "firm_id": audit.firm_id})
    return audit


def list_audits(session: Session, actor: Actor, org_id: int | None = None, open_only: bool = False) -> list[Audit]:
    require(actor.is_government, "查看合规日历", "calendar_read_denied")
    stmt = select(Audit)
    visible = visible_org_ids(session, actor)
    if visible is not None:
        stmt = stmt.where(Audit.org_id.in_(visible or {-1}))
    if org_id is not None:
        stmt = stmt.where(Audit.org_id == org_id)
    if open_only:
        stmt = stmt.where(Audit.state == AuditState.OPEN.value)
    return list(session.execute(stmt.order_by(Audit.due_on, Audit.id)).scalars())


def audit_dict(session: Session, audit: Audit, today: date | None = None) -> dict[str, Any]:
    day = today or _today()
    org = session.get(Org, audit.org_id)
    firm = session.get(AuditFirm, audit.firm_id) if audit.firm_id else None
    return {
        "id": audit.id, "org_id": audit.org_id, "org_name": org.name if org else None, "kind": audit.kind,
        "state": audit.state, "firm_id": audit.firm_id, "firm_name": firm.name if firm else None,
        "ordered_on": audit.ordered_on.isoformat() if audit.ordered_on else None, "basis": audit.basis,
        "due_on": audit.due_on.isoformat(), "original_due_on": audit.original_due_on.isoformat(),
        "extensions": list(audit.extensions or []),
        "completed_on": audit.completed_on.isoformat() if audit.completed_on else None,
        "overdue": audit.state == AuditState.OPEN.value and day > audit.due_on,
    }


# --- the calendar ------------------------------------------------------------------------------


@dataclass
class Entry:
    key: str  # stable per duty occurrence: reminders are made once per key and due date
    kind: str
    org_id: int | None
    org_name: str | None
    region_id: int | None
    title: str
    due_on: date
    done_on: date | None = None
    detail: dict[str, Any] | None = None

    def status(self, today: date) -> str:
        if self.done_on is not None:
            return DutyStatus.DONE.value
        if today > self.due_on:
            return DutyStatus.OVERDUE.value
        if (self.due_on - today).days <= get_settings().rules.audit_reminder_days:
            return DutyStatus.DUE_SOON.value
        return DutyStatus.SCHEDULED.value

    def as_dict(self, today: date) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "org_id": self.org_id, "org_name": self.org_name,
                "region_id": self.region_id, "title": self.title, "due_on": self.due_on.isoformat(),
                "done_on": self.done_on.isoformat() if self.done_on else None, "status": self.status(today),
                "days_left": (self.due_on - today).days, "detail": self.detail or {}}


def _orgs(session: Session, visible: set[int] | None, org_id: int | None, kinds: tuple[str, ...] | None = None
          ) -> list[Org]:
    stmt = select(Org)
    if visible is not None:
        stmt = stmt.where(Org.id.in_(visible or {-1}))
    if org_id is not None:
        stmt = stmt.where(Org.id == org_id)
    if kinds is not None:
        stmt = stmt.where(Org.kind.in_(kinds))
    return list(session.execute(stmt.order_by(Org.id)).scalars())


def _audit_entries(session: Session, orgs: dict[int, Org]) -> list[Entry]:
    out: list[Entry] = []
    audits = session.execute(select(Audit).where(Audit.org_id.in_(list(orgs) or [-1]))).scalars().all()
    open_routine = {a.org_id for a in audits if a.kind == AuditKind.ROUTINE.value and a.state == AuditState.OPEN.value}
    for a in audits:
        org = orgs[a.org_id]
        kind = DutyKind.PI_AUDIT if a.kind == AuditKind.ROUTINE.value else DutyKind.ORDERED_AUDIT
        out.append(Entry(f"audit:{a.id}", kind.value, org.id, org.name, org.region_id, kind.value, a.due_on,
                         a.completed_on, {"audit_id": a.id, "firm_id": a.firm_id,
                                          "extensions": len(a.extensions or [])}))
    # The projected next routine audit of every handler without an open one.
    handlers = session.execute(select(PeopleCount.org_id).where(PeopleCount.org_id.in_(list(orgs) or [-1]))
                               .distinct()).scalars().all()
    for oid in handlers:
        if oid in open_routine:
            continue
        due = routine_due(session, orgs[oid])
        if due is None:
            continue
        org = orgs[oid]
        out.append(Entry(f"pi_audit:{oid}", DutyKind.PI_AUDIT.value, oid, org.name, org.region_id,
                         DutyKind.PI_AUDIT.value, due.due_on, None,
                         {"people": due.people, "interval_years": due.interval_years, "base": due.base.isoformat(),
                          "base_kind": due.base_kind}))
    return out


def _duty_change_entries(session: Session, orgs: dict[int, Org], start: date, end: date) -> list[Entry]:
    rows = session.execute(select(DutyChange).where(DutyChange.org_id.in_(list(orgs) or [-1]),
                                                    or_(DutyChange.fulfilled_on.is_(None),
                                                        DutyChange.due_on.between(start, end)))).scalars()
    return [Entry(f"duty_change:{d.id}", DutyKind.CATALOGUE_UPDATE.value, d.org_id, orgs[d.org_id].name,
                  orgs[d.org_id].region_id, DutyKind.CATALOGUE_UPDATE.value, d.due_on, d.fulfilled_on,
                  {"duty_change_id": d.id, "occurred_on": d.occurred_on.isoformat()}) for d in rows]


def _years(start: date, end: date) -> range:
    return range(start.year, end.year + 1)


def _open_plan_entries(session: Session, orgs: list[Org], start: date, end: date) -> list[Entry]:
    month, day = _month_day("open_plan_due_month_day", OPEN_PLAN_DUE_DEFAULT)
    planned: dict[tuple[int, int], date] = {}
    if module_available("yibenzhang.open.model"):
        rows = session.execute(select(OpenPlanEntry.org_id, OpenPlanEntry.year, func.min(OpenPlanEntry.created_at))
                               .where(OpenPlanEntry.org_id.in_([o.id for o in orgs] or [-1]))
                               .group_by(OpenPlanEntry.org_id, OpenPlanEntry.year)).all()
        planned = {(oid, year): (at.date() if isinstance(at, datetime) else at) for oid, year, at in rows}
    out = []
    for year in _years(start, end):
        due = date(year, month, day)
        if not start <= due <= end:
            continue
        for org in orgs:
            if org.created_at.date() > due:
                continue
            out.append(Entry(f"open_plan:{org.id}:{year}", DutyKind.OPEN_PLAN.value, org.id, org.name, org.region_id,
                             DutyKind.OPEN_PLAN.value, due, planned.get((org.id, year)), {"year": year}))
    return out


def disclosure_due(year: int) -> date:
    """The operator discloses year-1's authorizations, products and prices by 31 March of `year`
    (assets.pricing's rule when installed: it takes the year disclosed)."""
    provided = load("yibenzhang.assets.pricing:disclosure_due")
    if provided is not None:
        value = provided(year - 1)
        if isinstance(value, date):
            return value
    month, day = DISCLOSURE_DUE_DEFAULT
    return date(year, month, day)


def _disclosure_entries(orgs: list[Org], start: date, end: date) -> list[Entry]:
    out = []
    for year in _years(start, end):
        due = disclosure_due(year)
        if not start <= due <= end:
            continue
        for org in orgs:
            if year <= org.created_at.year:
                continue  # the first disclosure covers the first full year of operation
            out.append(Entry(f"disclosure:{org.id}:{year}", DutyKind.DISCLOSURE.value, org.id, org.name,
                             org.region_id, DutyKind.DISCLOSURE.value, due, None, {"year": year - 1}))
    return out


def entries(session: Session, actor: Actor, *, start: date | None = None, end: date | None = None,
            org_id: int | None = None, kind: str | None = None, today: date | None = None) -> list[Entry]:
    """Every duty the actor may see, due between `start` and `end` (open ones always), by due date."""
    require(actor.is_government, "查看合规日历", "calendar_read_denied")
    day = today or _today()
    lo = max(start or date(day.year - 1, 1, 1), date(YEARS[0], 1, 1))
    hi = min(end or date(day.year + 1, 12, 31), date(YEARS[1], 12, 31))
    wanted = None
    if kind:
        parsed = DutyKind.parse(kind)
        if parsed is None:
            bag = ErrorBag()
            bag.add("kind", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=kind,
                    allowed="、".join(DutyKind.values()))
            bag.raise_if_any()
        wanted = parsed.value if parsed else None
    visible = visible_org_ids(session, actor)
    org_list = _orgs(session, visible, org_id)
    by_id = {o.id: o for o in org_list}
    out = _audit_entries(session, by_id) + _duty_change_entries(session, by_id, lo, hi)
    out += _open_plan_entries(session, [o for o in org_list if o.kind in PLAN_KINDS], lo, hi)
    out += _disclosure_entries([o for o in org_list if o.kind == OrgKind.OPERATOR.value], lo, hi)
    chosen = [e for e in out if (wanted is None or e.kind == wanted)
              and (lo <= e.due_on <= hi or (e.done_on is None and e.due_on < lo))]
    return sorted(chosen, key=lambda e: (e.due_on, e.kind, e.org_id or 0, e.key))


# --- reminders ---------------------------------------------------------------------------------


def generate_reminders(session: Session, actor: Actor, today: date | None = None) -> dict[str, Any]:
    """Daily: a reminder for every open duty due within `audit_reminder_days` (or already overdue),
    once per duty and due date (an extension makes a new one)."""
    require(actor.is_admin, "生成合规提醒")
    day = today or _today()
    ahead = get_settings().rules.audit_reminder_days
    known = {(k, d) for k, d in session.execute(select(Reminder.duty_key, Reminder.due_on))}
    made = 0
    by_kind: dict[str, int] = {}
    for e in entries(session, actor, start=day, end=date.fromordinal(day.toordinal() + ahead), today=day):
        if e.done_on is not None or (e.due_on - day).days > ahead or (e.key, e.due_on) in known:
            continue
        session.add(Reminder(duty_key=e.key, kind=e.kind, org_id=e.org_id, region_id=e.region_id,
                             due_on=e.due_on, remind_on=day))
        known.add((e.key, e.due_on))
        made += 1
        by_kind[e.kind] = by_kind.get(e.kind, 0) + 1
    if made:
        session.flush()
        ledger.append(session, actor, "calendar.reminders.generate", "calendar", day.isoformat(),
                      {"on": day.isoformat(), "made": made, "by_kind": by_kind})
    return {"today": day.isoformat(), "made": made, "by_kind": by_kind}


def list_reminders(session: Session, actor: Actor, org_id: int | None = None, limit: int = 200) -> list[Reminder]:
    require(actor.is_government, "查看合规日历", "calendar_read_denied")
    stmt = select(Reminder)
    visible = visible_org_ids(session, actor)
    if visible is not None:
        stmt = stmt.where(Reminder.org_id.in_(visible or {-1}))
    if org_id is not None:
        stmt = stmt.where(Reminder.org_id == org_id)
    return list(session.execute(stmt.order_by(Reminder.remind_on.desc(), Reminder.due_on, Reminder.id)
                                .limit(limit)).scalars())


def reminder_dict(session: Session, r: Reminder) -> dict[str, Any]:
    org = session.get(Org, r.org_id) if r.org_id else None
    return {"id": r.id, "duty_key": r.duty_key, "kind": r.kind, "org_id": r.org_id,
            "org_name": org.name if org else None, "due_on": r.due_on.isoformat(),
            "remind_on": r.remind_on.isoformat()}


# --- handlers and exports ------------------------------------------------------------------------


def handlers(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Every visible handler with its latest people count and next routine audit."""
    require(actor.is_government, "查看合规日历", "calendar_read_denied")
    visible = visible_org_ids(session, actor)
    stmt = select(PeopleCount.org_id).distinct()
    if visible is not None:
        stmt = stmt.where(PeopleCount.org_id.in_(visible or {-1}))
    out = []
    for oid in sorted(session.execute(stmt).scalars()):
        org = session.get(Org, oid)
        due = routine_due(session, org) if org else None
        if org is None or due is None:
            continue
        out.append({"org_id": org.id, "org_name": org.name, "kind": org.kind, "people": due.people,
                    "interval_years": due.interval_years, "base": due.base.isoformat(), "base_kind": due.base_kind,
                    "next_due": due.due_on.isoformat()})
    return out


def parse_format(fmt: str) -> str:
    # deferred: keeps icalendar out of this module's import
    from .calendar_export import FORMATS

    value = (fmt or "").strip().lower()
    if value not in FORMATS:
        bag = ErrorBag()
        bag.add("format", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=fmt,
                allowed="、".join(FORMATS))
        bag.raise_if_any()
    return value


def parse_day(field: str, value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        bag = ErrorBag()
        bag.add(field, "invalid_date", "“{value}”不是有效日期（应为YYYY-MM-DD）", value=text)
        bag.raise_if_any()
    return None


_KIND_ALIASES = {"routine": AuditKind.ROUTINE, "ordered": AuditKind.ORDERED}


def parse_kind(kind: str) -> AuditKind:
    parsed = _KIND_ALIASES.get((kind or "").strip().lower()) or AuditKind.parse(kind)
    if parsed is None:
        bag = ErrorBag()
        bag.add("kind", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=kind,
                allowed="routine、ordered")
        bag.raise_if_any()
    assert parsed is not None
    return parsed


def form_orgs(session: Session, actor: Actor) -> dict[str, list[dict[str, Any]]]:
    """Orgs the actor may record a people count for, and may manage audits of (for the page's forms)."""
    visible = visible_org_ids(session, actor)
    orgs = _orgs(session, visible, None)
    record = [{"id": o.id, "name": o.name} for o in orgs if can_record(session, actor, o)]
    manage = [{"id": o.id, "name": o.name} for o in orgs if can_manage(session, actor, o)]
    return {"record": record, "manage": manage}


def open_duties(session: Session, today: date | None = None, org_id: int | None = None,
                overdue_only: bool = False) -> list[dict[str, Any]]:
    """Open duties of every org (or one) as the platform sees them: for scorecards' "what each org
    must do next" (engineer A1) and other read-only summaries. Not a permission check: callers decide
    who sees the result."""
    day = today or _today()
    found = entries(session, Actor.system(), start=day, end=date(day.year + 1, 12, 31), org_id=org_id, today=day)
    rows = [e.as_dict(day) for e in found if e.done_on is None]
    return [r for r in rows if r["status"] == DutyStatus.OVERDUE.value] if overdue_only else rows
