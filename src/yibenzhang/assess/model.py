"""Targets (考核目标) as data: what the authority is judged against (DOMAIN §2, §10).

A target is one metric (a KPI key of assess.kpis.TARGET_METRICS), for the whole platform or a
region (division code), with a value due on a date. Revising a target never edits it in place:
the old row's effective_to is set to the day before the new row's effective_from, so the history
of what was expected when stays readable.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Float, Index, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .. import workdays
from ..access import Actor, can_review, require
from ..db import Base, UTCDateTime, utcnow
from ..errors import Conflict, ErrorBag, NotFound
from ..i18n import N_
from ..ledger import service as ledger
from ..orgs.model import Region


class Target(Base):
    __tablename__ = "assess_targets"
    __table_args__ = (Index("ix_assess_targets_metric_scope", "metric", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(12))  # a region's division code, or "platform"
    value: Mapped[float] = mapped_column(Float)
    due_on: Mapped[date] = mapped_column(Date)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)  # None: still in force
    basis: Mapped[str | None] = mapped_column(Text)
    replaces_id: Mapped[int | None] = mapped_column()  # the row this one revised
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- the metrics a target may name ---------------------------------------------------------------

PLATFORM = "platform"  # scope of a target for the whole platform

# metric key -> (Chinese label, unit). Values of the *_rate metrics are fractions 0..1.
TARGET_METRICS: dict[str, tuple[str, str]] = {
    "records_collected": (N_("归集数据量"), N_("条")),
    "open_datasets": (N_("开放数据集"), N_("个")),
    "catalogue_coverage": (N_("目录覆盖率"), "%"),
    "fresh_rate": (N_("数据及时更新率"), "%"),
    "duty_on_time_rate": (N_("目录按时更新率"), "%"),
    "share_on_time_rate": (N_("共享按时答复率"), "%"),
    "objections_on_time_rate": (N_("异议按时办结率"), "%"),
    "quality_overall": (N_("平均质量评分"), N_("分")),
}

# DOMAIN §2 (Guizhou, 004:675-677): 1000亿 / 1500亿 records and 20,000 / 25,000 open datasets by
# end-2024 / end-2025; §1 "应编尽编" (004:691): every org catalogues (coverage 100 %).
SEED_BASIS = N_("贵州省一体化公共数据资源体系建设要求（004:675-677）")
SEED_TARGETS: tuple[tuple[str, float, date, str], ...] = (
    ("records_collected", 100_000_000_000, date(2024, 12, 31), SEED_BASIS),
    ("records_collected", 150_000_000_000, date(2025, 12, 31), SEED_BASIS),
    ("open_datasets", 20_000, date(2024, 12, 31), SEED_BASIS),
    ("open_datasets", 25_000, date(2025, 12, 31), SEED_BASIS),
    ("catalogue_coverage", 1.0, date(2025, 12, 31), N_("公共数据目录“应编尽编”（004:691）")),
)


# --- service: who may read and set targets ---------------------------------------------------------


def can_read_targets(actor: Actor) -> bool:
    """Targets are public within government: anyone acting for a public body, auditors, the admin."""
    return actor.is_government


def _scope_path(session: Session, scope: str) -> str | None:
    """The region path of a scope ("/" for the whole platform); None for an unknown code."""
    if scope == PLATFORM:
        return "/"
    region = session.execute(select(Region).where(Region.code == scope)).scalars().first()
    return region.path if region else None


def _can_set(session: Session, actor: Actor, path: str) -> bool:
    """The authority sets targets: the admin, or a reviewer of the scope's region (for the whole
    platform: a reviewer of a top-level region, i.e. the province's authority)."""
    if actor.is_admin:
        return True
    if path == "/":
        tops = {f"/{rid}/" for rid in session.execute(select(Region.id).where(Region.parent_id.is_(None))).scalars()}
        return any(p in tops for p in actor.reviewer_paths())
    return can_review(actor, path)


_today = workdays.today  # the one clock (workdays.today): China's date, patchable in tests


def _check(session: Session, bag: ErrorBag, metric: str | None, scope: str | None, value: float | None,
           due_on: date | None) -> str | None:
    path = None
    if metric is not None and metric not in TARGET_METRICS:
        bag.add("metric", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=metric,
                allowed="、".join(TARGET_METRICS))
    if scope is not None:
        path = _scope_path(session, scope)
        if path is None:
            bag.add("scope", "region_unknown", "未知的行政区划代码“{value}”", value=scope)
    if value is not None and (value < 0 or (TARGET_METRICS.get(metric or "", ("", ""))[1] == "%" and value > 1)):
        bag.add("value", "target_value_range", "目标值超出范围：{value}", value=value)
    if due_on is None:
        bag.add("due_on", "required", "必填项不能为空")
    return path


def _basis(bag: ErrorBag, basis: str | None) -> str | None:
    text = (basis or "").strip() or None
    if text and len(text) > BASIS_MAX:
        bag.add("basis", "too_long", "内容过长（最多{max}个字符）", max=BASIS_MAX)
    return text


BASIS_MAX = 500


def create_target(session: Session, actor: Actor, *, metric: str, value: float, due_on: date,
                  scope: str = PLATFORM, basis: str | None = None, effective_from: date | None = None) -> Target:
    """A new target, in force from `effective_from` (today by default)."""
    bag = ErrorBag()
    path = _check(session, bag, metric, scope, value, due_on)
    text = _basis(bag, basis)
    bag.raise_if_any()
    assert path is not None
    require(_can_set(session, actor, path), "设定考核目标", "target_denied")
    target = Target(metric=metric, scope=scope, value=float(value), due_on=due_on,
                    effective_from=effective_from or _today(), basis=text, created_by=actor.username)
    session.add(target)
    session.flush()
    ledger.append(session, actor, "assess.target.create", "assess_target", target.id, {
        "metric": metric, "scope": scope, "value": target.value, "due_on": due_on.isoformat(),
        "effective_from": target.effective_from.isoformat()})
    return target


def get_target(session: Session, actor: Actor, target_id: int, *, for_update: bool = False) -> Target:
    require(can_read_targets(actor), "查看考核目标", "target_read_denied")
    stmt = select(Target).where(Target.id == target_id)
    target = session.execute(stmt.with_for_update() if for_update else stmt).scalars().first()
    if target is None:
        raise NotFound(f"考核目标 {target_id}", "target_not_found")
    return target


def revise_target(session: Session, actor: Actor, target_id: int, *, value: float | None = None,
                  due_on: date | None = None, basis: str | None = None,
                  effective_from: date | None = None) -> Target:
    """A change closes the old row (effective_to = the day before) and opens a new one."""
    old = get_target(session, actor, target_id, for_update=True)
    path = _scope_path(session, old.scope) or "/"
    require(_can_set(session, actor, path), "设定考核目标", "target_denied")
    if old.effective_to is not None:
        raise Conflict("target_closed", "考核目标 {id} 已被修订或停用，不能再修改", id=old.id)
    start = effective_from or _today()
    bag = ErrorBag()
    _check(session, bag, old.metric, None, value, due_on or old.due_on)
    text = _basis(bag, basis) if basis is not None else old.basis
    if start <= old.effective_from:
        bag.add("effective_from", "target_effective_order", "生效日期须晚于原目标的生效日期{day}",
                day=old.effective_from.isoformat())
    bag.raise_if_any()
    old.effective_to = start - timedelta(days=1)
    new = Target(metric=old.metric, scope=old.scope, value=float(old.value if value is None else value),
                 due_on=due_on or old.due_on, effective_from=start, basis=text, replaces_id=old.id,
                 created_by=actor.username)
    session.add(new)
    session.flush()
    ledger.append(session, actor, "assess.target.revise", "assess_target", new.id, {
        "replaces": old.id, "metric": new.metric, "scope": new.scope, "value": new.value,
        "due_on": new.due_on.isoformat(), "effective_from": start.isoformat()})
    return new


def retire_target(session: Session, actor: Actor, target_id: int, on: date | None = None) -> Target:
    """Stop a target (effective_to = the day before `on`); its history stays."""
    old = get_target(session, actor, target_id, for_update=True)
    require(_can_set(session, actor, _scope_path(session, old.scope) or "/"), "设定考核目标", "target_denied")
    if old.effective_to is not None:
        raise Conflict("target_closed", "考核目标 {id} 已被修订或停用，不能再修改", id=old.id)
    day = on or _today()
    old.effective_to = max(old.effective_from, day - timedelta(days=1))
    ledger.append(session, actor, "assess.target.retire", "assess_target", old.id,
                  {"effective_to": old.effective_to.isoformat()})
    return old


def list_targets(session: Session, actor: Actor, *, on: date | None = None, history: bool = False,
                 scope: str | None = None) -> list[Target]:
    """Targets in force on `on` (today), or every version with `history`."""
    require(can_read_targets(actor), "查看考核目标", "target_read_denied")
    stmt = select(Target)
    if scope is not None:
        stmt = stmt.where(Target.scope == scope)
    if not history:
        day = on or _today()
        stmt = stmt.where(Target.effective_from <= day, or_(Target.effective_to.is_(None), Target.effective_to >= day))
    return list(session.execute(stmt.order_by(Target.metric, Target.scope, Target.due_on, Target.id)).scalars())


def seed_targets(session: Session, actor: Actor, effective_from: date | None = None) -> int:
    """The targets the sources name (SEED_TARGETS), for the whole platform; idempotent: a metric
    and due date already targeted (in force or not) is left alone. Returns how many were added."""
    require(_can_set(session, actor, "/"), "设定考核目标", "target_denied")
    have = set(session.execute(select(Target.metric, Target.due_on).where(Target.scope == PLATFORM)).all())
    added = 0
    for metric, value, due, basis in SEED_TARGETS:
        if (metric, due) in have:
            continue
        create_target(session, actor, metric=metric, value=value, due_on=due, basis=basis,
                      effective_from=effective_from or date(2024, 1, 1))
        added += 1
    return added


def target_dict(t: Target) -> dict[str, Any]:
    label, unit = TARGET_METRICS.get(t.metric, (t.metric, ""))
    return {"id": t.id, "metric": t.metric, "label": label, "unit": unit, "scope": t.scope, "value": t.value,
            "due_on": t.due_on.isoformat(), "effective_from": t.effective_from.isoformat(),
            "effective_to": t.effective_to.isoformat() if t.effective_to else None, "basis": t.basis,
            "replaces_id": t.replaces_id, "created_by": t.created_by}
