"""KPIs computed from the platform's own records (DOMAIN §10), never typed in.

Every figure is per org (the provider), summed to regions (a region includes the regions below
it) and to the scope asked for. Each query is one set-based statement grouped by org; Python
only folds the grouped rows (a few thousand orgs), never queries per org or per resource.

Formulas (key: what it counts, from which records):
- records_collected: Σ resources.record_count over resources with at least one published zone
  batch (current rows, as catalog.counts.record_counts; the 1000亿 target, DOMAIN §2).
- records_last_30d: Σ zone_batches.row_count of batches 已发布 in the 30 days up to today;
  records_growth_30d = records_last_30d / (records_collected − records_last_30d), None on a 0 base.
- resources_total, status:<状态>: resources by status; open_datasets: open.datasets.open_condition
  (published, not retired, 无条件开放 or 有条件开放 as published) — the portal's and CKAN's count.
- catalogue_coverage: orgs (政府部门, 事业单位, 公共企业) with ≥ 1 resource 已发布 / those orgs
  ("应编尽编", §1).
- duty_on_time / duty_late / duty_overdue / duty_due: duty_changes fulfilled by due_on (occurred_on
  + Rules.catalogue_update_workdays working days; the due day itself is on time) / after it /
  open and today > due_on / open within the limit; duty_on_time_rate = on time / (on time + late
  + overdue).
- fresh / stale: resources 已发布 whose update cycle is not 不定期: fresh when
  quality.scores.timeliness(cycle, newest published batch date, today) is 100, else stale
  (never collected is stale); fresh_rate = fresh / (fresh + stale); collection_rate = those with
  at least one batch / (fresh + stale).
- quality_overall: quality.scores.weighted_average's overall score over each resource's latest
  quality run (weight max(rows, 1)), as sums in SQL.
- share_*: share requests on 有条件共享 resources: decided (已批准 / 已拒绝 after a step), on time
  when every step was decided by its due day, overdue when pending and today > step_due;
  share_on_time_rate = on time / (decided + overdue); share_median_days = median working days
  (workdays.workdays_between) from requested_on to the last decision; share_calls = share_usage
  rows on the org's resources.
- objections_*: quality.objections.objection_counts (closed on time / late, open, overdue;
  withdrawn not counted); objections_on_time_rate = on time / (on time + late + overdue).
- downloads, api_calls, demands_*: yibenzhang.open.kpi:figures when installed, else None ("—").
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, literal, literal_column, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from .. import workdays
from ..access import Actor, can_read_all, require
from ..catalog.model import DutyChange, Resource
from ..db import UTCDateTime
from ..enums import OpenType, OrgKind, ResourceStatus, Role, ShareType, UpdateCycle
from ..errors import NotFound
from ..i18n import N_
from ..open.datasets import open_condition
from ..orgs.model import Org, Region
from ..quality import scores as qscores
from ..quality.model import QualityRun
from ..quality.objections import Objection as O
from ..quality.objections import ObjectionState as St
from ..registry import load, module_available
from ..share.grants import GrantUsage
from ..workdays import is_workday, workdays_between
from ..zone.model import Batch, BatchStatus
from .model import PLATFORM, TARGET_METRICS, Target

LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # dates of data and deadlines are China dates
CATALOGUING_KINDS = (OrgKind.GOV.value, OrgKind.INSTITUTION.value, OrgKind.ENTERPRISE.value)
OPEN_TYPES = (OpenType.UNCONDITIONAL.value, OpenType.CONDITIONAL.value)
STATUSES = [s.value for s in ResourceStatus]
RECENT_DAYS = 30  # window of records_last_30d (ours)
OPEN_FIGURES = ("downloads", "api_calls", "demands_total", "demands_answered", "demands_answered_on_time")

# Figures summed over orgs (everything else is derived from these).
COUNTS = (
    "resources_total", *(f"status:{s}" for s in STATUSES), "published", "open_datasets", "records_collected",
    "records_last_30d", "collected_resources", "duty_total", "duty_on_time", "duty_late", "duty_overdue",
    "duty_due", "fresh", "stale", "never_collected", "share_requests", "share_decided", "share_on_time",
    "share_late", "share_overdue", "share_pending", "share_calls", "objections_total", "objections_open",
    "objections_overdue", "objections_on_time", "objections_late",
)


today = workdays.today  # the one clock (workdays.today): China's date, patchable in tests


# --- scope and permission ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    region_path: str | None  # None: the whole platform
    region_code: str | None
    region_name: str | None
    org_id: int | None
    org_name: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"region_code": self.region_code, "region_name": self.region_name, "org_id": self.org_id,
                "org_name": self.org_name}


def can_assess(actor: Actor) -> bool:
    """Who may open assessment at all: admin, auditors, the authority's reviewers, org stewards."""
    return can_read_all(actor) or bool(actor.reviewer_paths()) or bool(actor.org_ids(Role.STEWARD))


def resolve_scope(session: Session, actor: Actor, region_code: str | None = None,
                  org_id: int | None = None) -> Scope:
    """What the actor asked for, checked: admin and auditors see anything; a reviewer sees their
    region and below (by default their region); a steward sees only their own org."""
    require(can_assess(actor), "查看考核评估", "assess_denied")
    region = org = None
    if region_code:
        region = session.execute(select(Region).where(Region.code == region_code)).scalars().first()
        if region is None:
            raise NotFound(f"地区 {region_code}", "region_not_found")
    if org_id is not None:
        org = session.get(Org, org_id)
        if org is None:
            raise NotFound(f"机构 {org_id}", "org_not_found")
    if not can_read_all(actor):
        paths = actor.reviewer_paths()
        if org is not None:
            org_path = session.get(Region, org.region_id).path  # type: ignore[union-attr]
            require(any(org_path.startswith(p) for p in paths) or actor.acts_for_org(org.id, Role.STEWARD),
                    "查看考核评估", "assess_denied")
        elif region is not None:
            require(any(region.path.startswith(p) for p in paths), "查看考核评估", "assess_denied")
        elif paths:
            region = session.execute(select(Region).where(Region.path == sorted(paths, key=len)[0])).scalars().first()
        else:  # a steward only: their own org
            org = session.get(Org, min(actor.org_ids(Role.STEWARD)))
    return Scope(region.path if region else None, region.code if region else None, region.name if region else None,
                 org.id if org else None, org.name if org else None)


def _in_scope(scope: Scope, org_col: Any, region_col: Any) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if scope.org_id is not None:
        conds.append(org_col == scope.org_id)
    if scope.region_path and scope.region_path != "/":
        conds.append(region_col.in_(select(Region.id).where(Region.path.startswith(scope.region_path))))
    return conds


# --- the grouped queries -------------------------------------------------------------------------------


def _local_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite aggregates lose the column type
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(LOCAL_TZ).date()


def _month(session: Session, col: Any) -> Any:
    """The China-time month (YYYY-MM) of a UTC timestamp, in the store's own SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", col), "YYYY-MM")
    return func.strftime("%Y-%m", col, "+8 hours")


def _add(out: dict[int, dict[str, Any]], org_id: int, key: str, value: Any) -> None:
    row = out.setdefault(org_id, {})
    row[key] = row.get(key, 0) + (value or 0)


def _duty(session: Session, scope: Scope, day: date, out: dict[int, dict[str, Any]]) -> None:
    open_ = DutyChange.fulfilled_on.is_(None)
    stmt = select(
        DutyChange.org_id, func.count(),
        func.sum(case((and_(~open_, DutyChange.fulfilled_on <= DutyChange.due_on), 1), else_=0)),
        func.sum(case((and_(~open_, DutyChange.fulfilled_on > DutyChange.due_on), 1), else_=0)),
        func.sum(case((and_(open_, DutyChange.due_on < day), 1), else_=0)),
        func.sum(case((and_(open_, DutyChange.due_on >= day), 1), else_=0)),
    ).join(Org, DutyChange.org_id == Org.id).where(*_in_scope(scope, Org.id, Org.region_id)).group_by(DutyChange.org_id)
    for org_id, n, on_time, late, overdue, due in session.execute(stmt):
        for key, value in (("duty_total", n), ("duty_on_time", on_time), ("duty_late", late),
                           ("duty_overdue", overdue), ("duty_due", due)):
            _add(out, org_id, key, int(value or 0))


def newest_batches(session: Session, scope: Scope, *conds: Any) -> list[tuple[int, int, str, date | None]]:
    """(resource id, org id, update cycle, newest published batch date) of every published
    resource whose cycle expects data (and `conds`) — one statement."""
    newest = _newest_subquery()
    stmt = select(Resource.id, Resource.org_id, Resource.update_cycle, newest.c.at).outerjoin(
        newest, newest.c.rid == Resource.id).where(
        Resource.status == ResourceStatus.PUBLISHED.value, Resource.update_cycle != UpdateCycle.IRREGULAR.value,
        *_in_scope(scope, Resource.org_id, Resource.region_id), *conds)
    return [(rid, org_id, cycle, _local_date(at)) for rid, org_id, cycle, at in session.execute(stmt)]


def stale_resources(session: Session, scope: Scope, day: date, per_org: int
                    ) -> list[tuple[int, int, str, date | None, str, str]]:
    """The stalest `per_org` resources of each org (never collected first, then the oldest batch):
    (id, org id, cycle, newest batch date, code, name) — filtered and ranked in SQL."""
    fresh = Freshness(day)
    newest = _newest_subquery()
    at = newest.c.at
    order = func.row_number().over(partition_by=Resource.org_id,
                                   order_by=(case((at.is_(None), 0), else_=1), at, Resource.id)).label("pos")
    ranked = select(Resource.id, Resource.org_id, Resource.update_cycle, at.label("at"), Resource.code,
                    Resource.name, order).outerjoin(newest, newest.c.rid == Resource.id).where(
        Resource.status == ResourceStatus.PUBLISHED.value, Resource.update_cycle.in_(list(fresh.since)),
        or_(at.is_(None), ~fresh.condition(Resource.update_cycle, at)),
        *_in_scope(scope, Resource.org_id, Resource.region_id)).subquery()
    stmt = select(ranked.c.id, ranked.c.org_id, ranked.c.update_cycle, ranked.c.at, ranked.c.code,
                  ranked.c.name).where(ranked.c.pos <= per_org).order_by(ranked.c.org_id, ranked.c.pos)
    return [(rid, org_id, cycle, _local_date(at_), code, name)
            for rid, org_id, cycle, at_, code, name in session.execute(stmt)]


class Freshness:
    """Fresh or stale by quality.scores.timeliness, turned into one threshold per update cycle.

    Whether a resource is fresh today depends only on its cycle and newest batch date, and is
    monotone in that date (a later batch is never less fresh: add_workdays and add_months never
    go backwards). So per cycle there is an earliest newest date that is still fresh today; it is
    found by asking timeliness itself, walking back from today, and the 100,000 resources are
    then compared with it in SQL."""

    def __init__(self, day: date) -> None:
        self.day = day
        self.since: dict[str, date] = {}
        for cycle, rule in qscores.FRESHNESS.items():
            if rule is None:
                continue
            d = day
            while qscores.timeliness(cycle, d - timedelta(days=1), day) == 100.0:
                d -= timedelta(days=1)
            self.since[cycle] = d

    def is_fresh(self, cycle: str, newest: date | None) -> bool | None:
        """None when the cycle sets no expectation (不定期)."""
        if cycle not in self.since:
            return None
        return newest is not None and newest >= self.since[cycle]

    def condition(self, cycle_col: Any, at_col: Any) -> ColumnElement[bool]:
        """The SQL form: the newest batch's UTC timestamp is at or after the cycle's threshold
        (China-time midnight of the threshold date)."""
        return or_(*(and_(cycle_col == cycle, at_col >= literal(
            datetime.combine(since, datetime.min.time(), LOCAL_TZ).astimezone(ZoneInfo("UTC")), UTCDateTime()))
            for cycle, since in self.since.items()))


def _newest_subquery(since: datetime | None = None) -> Any:
    """Per resource: its newest published batch's time (`at`) and, given `since`, the rows its
    published batches brought from then on (`recent`) — one pass over the batch manifest."""

    at = func.coalesce(Batch.published_at, Batch.created_at)
    cols = [Batch.resource_id.label("rid"), func.max(at).label("at")]
    if since is not None:
        cols.append(func.sum(case((at >= literal(since, UTCDateTime()), Batch.row_count), else_=0)).label("recent"))
    return select(*cols).where(Batch.status == BatchStatus.PUBLISHED.value).group_by(Batch.resource_id).subquery()


def _since(day: date) -> datetime:
    """China-time midnight RECENT_DAYS − 1 days before `day`: the start of records_last_30d."""
    return datetime.combine(day - timedelta(days=RECENT_DAYS - 1), datetime.min.time(), LOCAL_TZ)


def _resources(session: Session, scope: Scope, day: date, out: dict[int, dict[str, Any]]) -> None:
    """One pass over the resources (joined to their newest published batch), grouped by org and
    status: the catalogue counts, open datasets, records collected and fresh / stale."""
    fresh = Freshness(day)
    newest = _newest_subquery(_since(day))
    at = newest.c.at
    expected = Resource.update_cycle.in_(list(fresh.since))

    def count(cond: Any) -> Any:
        return func.sum(case((cond, 1), else_=0))

    stmt = select(
        Resource.org_id, Resource.status, func.count(), count(open_condition()),
        func.sum(case((at.isnot(None), func.coalesce(Resource.record_count, 0)), else_=0)), func.sum(newest.c.recent),
        count(expected), count(and_(expected, at.is_(None))), count(and_(expected, fresh.condition(
            Resource.update_cycle, at))),
    ).select_from(Resource).outerjoin(newest, newest.c.rid == Resource.id).where(
        *_in_scope(scope, Resource.org_id, Resource.region_id)).group_by(Resource.org_id, Resource.status)
    for org_id, status, n, open_n, records, recent, expected_n, never, fresh_n in session.execute(stmt):
        _add(out, org_id, "resources_total", n)
        _add(out, org_id, f"status:{status}", n)
        _add(out, org_id, "records_collected", int(records or 0))
        _add(out, org_id, "records_last_30d", int(recent or 0))
        # The one definition of an open dataset (open.datasets.open_condition), as the portal and
        # the CKAN API count it: a published resource under change still counts (issue 17).
        _add(out, org_id, "open_datasets", int(open_n or 0))
        if status != ResourceStatus.PUBLISHED.value:
            continue
        expected_n, never, fresh_n = int(expected_n or 0), int(never or 0), int(fresh_n or 0)
        _add(out, org_id, "published", n)
        _add(out, org_id, "collected_resources", expected_n - never)
        _add(out, org_id, "fresh", fresh_n)
        _add(out, org_id, "stale", expected_n - fresh_n)
        _add(out, org_id, "never_collected", never)


def _quality(session: Session, scope: Scope, out: dict[int, dict[str, Any]]) -> None:
    """quality.scores.weighted_average's overall score as sums per org (each resource's latest run,
    weight max(rows, 1), runs without an overall score left out), so regions fold by addition."""
    # deferred: keeps httpx out of this module's import
    from ..quality.service import score_run_ids

    latest = score_run_ids()  # current-state runs: a resource's score covers all its live rows
    weight = case((QualityRun.row_count < 1, 1), else_=QualityRun.row_count)
    stmt = select(QualityRun.org_id, func.count(), func.sum(QualityRun.overall * weight), func.sum(weight)).where(
        QualityRun.id.in_(latest), QualityRun.overall.isnot(None),
        *_in_scope(scope, QualityRun.org_id, QualityRun.region_id)).group_by(QualityRun.org_id)
    for org_id, n, wsum, weights in session.execute(stmt):
        _add(out, org_id, "quality_resources", int(n))
        _add(out, org_id, "quality_wsum", float(wsum or 0.0))
        _add(out, org_id, "quality_weight", int(weights or 0))


class WorkdayIndex:
    """workdays.workdays_between over a span of days as a difference of cumulative counts: the
    same answer (it is built from workdays.is_workday), one lookup per request instead of a walk."""

    def __init__(self, lo: date, hi: date) -> None:
        self.lo, self.hi = lo, hi
        self.cum: list[int] = []
        count = 0
        for i in range((hi - lo).days + 1):
            if i and is_workday(lo + timedelta(days=i)):
                count += 1
            self.cum.append(count)

    def between(self, a: date, b: date) -> int:
        if b <= a:
            return 0
        if a < self.lo or b > self.hi:
            return workdays_between(a, b)
        return self.cum[(b - self.lo).days] - self.cum[(a - self.lo).days]


def _decision_columns(session: Session) -> tuple[Any, Any]:
    """The last decision's day and whether any step was decided late, read from the JSON list of
    decisions in the store's own SQL (so 100,000 lists are not parsed in Python)."""
    if session.get_bind().dialect.name == "postgresql":
        return (literal_column("(share_requests.decisions -> -1 ->> 'on')"),
                literal_column("(CAST(share_requests.decisions AS jsonb) @> '[{\"on_time\": false}]')"))
    return (literal_column("json_extract(share_requests.decisions, '$[#-1].on')"),
            literal_column("EXISTS (SELECT 1 FROM json_each(share_requests.decisions) "
                           "WHERE json_extract(value, '$.on_time') = 0)"))


def _share(session: Session, scope: Scope, day: date, out: dict[int, dict[str, Any]],
           days: dict[int, list[int]]) -> None:
    if not module_available("yibenzhang.share.requests"):
        return
    # deferred: keeps gmssl out of this module's import
    from ..share.requests import PENDING, RequestState, ShareRequest

    last_on, late = _decision_columns(session)
    decided = (RequestState.APPROVED.value, RequestState.REFUSED.value)
    stmt = select(ShareRequest.provider_org_id, ShareRequest.state, ShareRequest.requested_on, ShareRequest.step_due,
                  last_on, late).where(
        ShareRequest.share_type == ShareType.CONDITIONAL.value, ShareRequest.state.in_([*PENDING, *decided]),
        *_in_scope(scope, ShareRequest.provider_org_id, ShareRequest.region_id))
    answered: list[tuple[int, date, date, bool]] = []
    pending: dict[int, list[int]] = {}  # org -> [pending, overdue]
    for org_id, state, requested_on, step_due, last, was_late in session.execute(stmt):
        if state in PENDING:
            p = pending.setdefault(org_id, [0, 0])
            p[0] += 1
            p[1] += step_due is not None and day > step_due
        elif last:
            answered.append((org_id, requested_on, date.fromisoformat(last), bool(was_late)))
    for org_id, (n, overdue) in pending.items():
        _add(out, org_id, "share_requests", n)
        _add(out, org_id, "share_pending", n)
        _add(out, org_id, "share_overdue", overdue)
    if answered:
        index = WorkdayIndex(min(a[1] for a in answered), max(max(a[2] for a in answered), day))
        done: dict[int, list[int]] = {}  # org -> [decided, late]
        for org_id, requested_on, last_day, was_late in answered:
            d = done.setdefault(org_id, [0, 0])
            d[0] += 1
            d[1] += was_late
            days.setdefault(org_id, []).append(index.between(requested_on, last_day))
        for org_id, (n, n_late) in done.items():
            _add(out, org_id, "share_requests", n)
            _add(out, org_id, "share_decided", n)
            _add(out, org_id, "share_on_time", n - n_late)
            _add(out, org_id, "share_late", n_late)
    if module_available("yibenzhang.share.grants"):
        usage = select(Resource.org_id, func.count()).select_from(GrantUsage).join(
            Resource, GrantUsage.resource_id == Resource.id).where(
            *_in_scope(scope, Resource.org_id, Resource.region_id)).group_by(Resource.org_id)
        for org_id, n in session.execute(usage):
            _add(out, org_id, "share_calls", n)


def _objections(session: Session, scope: Scope, day: date, out: dict[int, dict[str, Any]]) -> None:
    """quality.objections.timeliness's rules as one grouped statement (tests check that both agree
    with objection_counts): 按时办结, 逾期办结, open within the deadline, open and overdue."""
    if not module_available("yibenzhang.quality.objections"):
        return

    pending_over = and_(O.state == St.PENDING.value, O.answer_due < day)
    accepted_over = and_(O.state == St.ACCEPTED.value, O.correct_due < day)
    overdue = or_(pending_over, accepted_over, O.state == St.ESCALATED.value)
    due = and_(O.state.in_([St.PENDING.value, St.ACCEPTED.value]), ~pending_over, ~accepted_over)
    rejected_ok = and_(O.answered_on.isnot(None), O.answered_on <= O.answer_due)
    corrected_ok = and_(O.escalated_on.is_(None), or_(O.answered_on.is_(None), O.answered_on <= O.answer_due),
                        O.corrected_on.isnot(None), O.corrected_on <= O.correct_due)
    on_time = or_(and_(O.state == St.REJECTED.value, rejected_ok), and_(O.state == St.CORRECTED.value, corrected_ok))
    late = or_(and_(O.state == St.REJECTED.value, ~rejected_ok), and_(O.state == St.CORRECTED.value, ~corrected_ok),
               O.state == St.DECIDED.value)
    sums = (func.sum(case((cond, 1), else_=0)) for cond in (due, overdue, on_time, late))
    stmt = select(O.org_id, func.count(), *sums).where(
        O.state != St.WITHDRAWN.value, *_in_scope(scope, O.org_id, O.region_id)).group_by(O.org_id)
    for org_id, total, due_n, overdue_n, on_time_n, late_n in session.execute(stmt):
        for key, value in (("total", total), ("open", (due_n or 0) + (overdue_n or 0)), ("overdue", overdue_n),
                           ("on_time", on_time_n), ("late", late_n)):
            _add(out, org_id, f"objections_{key}", int(value or 0))


def _open_figures(session: Session, scope: Scope) -> dict[str, Any]:
    figures = load("yibenzhang.open.kpi:figures")
    if figures is None:
        return {k: None for k in OPEN_FIGURES}
    got = figures(session, region_path=scope.region_path if scope.region_path != "/" else None,
                  org_id=scope.org_id) or {}
    return {k: got.get(k) for k in OPEN_FIGURES}


# --- folding ---------------------------------------------------------------------------------------------


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def derive(c: dict[str, Any], days: list[int]) -> dict[str, Any]:
    """Rates, medians and the quality average from summed counts."""
    d = {k: int(c.get(k, 0)) for k in COUNTS}
    base = d["records_collected"] - d["records_last_30d"]
    d["records_growth_30d"] = _ratio(d["records_last_30d"], base)
    d["duty_on_time_rate"] = _ratio(d["duty_on_time"], d["duty_on_time"] + d["duty_late"] + d["duty_overdue"])
    d["fresh_rate"] = _ratio(d["fresh"], d["fresh"] + d["stale"])
    d["collection_rate"] = _ratio(d["collected_resources"], d["fresh"] + d["stale"])
    d["share_on_time_rate"] = _ratio(d["share_on_time"], d["share_decided"] + d["share_overdue"])
    d["share_median_days"] = statistics.median(days) if days else None
    d["objections_on_time_rate"] = _ratio(
        d["objections_on_time"], d["objections_on_time"] + d["objections_late"] + d["objections_overdue"])
    weight = c.get("quality_weight", 0)
    d["quality_overall"] = round(c.get("quality_wsum", 0.0) / weight, 2) if weight else None
    d["quality_resources"] = int(c.get("quality_resources", 0))
    return d


@dataclass
class Collected:
    """The grouped figures of one scope, per org, before folding."""

    day: date
    scope: Scope
    orgs: list[dict[str, Any]]  # id, name, kind, region_id, region_code, region_name, region_path
    counts: dict[int, dict[str, Any]]
    days: dict[int, list[int]]


def collect(session: Session, scope: Scope, day: date) -> Collected:
    org_rows = session.execute(
        select(Org.id, Org.name, Org.kind, Org.region_id, Region.code, Region.name, Region.path)
        .join(Region, Org.region_id == Region.id).where(*_in_scope(scope, Org.id, Org.region_id))
        .order_by(Region.path, Org.id)).all()
    orgs = [{"id": r[0], "name": r[1], "kind": r[2], "region_id": r[3], "region_code": r[4], "region_name": r[5],
             "region_path": r[6]} for r in org_rows]
    counts: dict[int, dict[str, Any]] = {}
    days: dict[int, list[int]] = {}
    _resources(session, scope, day, counts)
    _duty(session, scope, day, counts)
    _share(session, scope, day, counts, days)
    _objections(session, scope, day, counts)
    _quality(session, scope, counts)
    return Collected(day, scope, orgs, counts, days)


def _coverage(orgs: Iterable[dict[str, Any]], counts: dict[int, dict[str, Any]]) -> dict[str, Any]:
    expected = [o for o in orgs if o["kind"] in CATALOGUING_KINDS]
    covered = sum(1 for o in expected if counts.get(o["id"], {}).get("published"))
    return {"orgs_expected": len(expected), "orgs_catalogued": covered,
            "catalogue_coverage": _ratio(covered, len(expected))}


def fold(c: Collected, org_ids: Iterable[int]) -> dict[str, Any]:
    ids = list(org_ids)
    summed: dict[str, Any] = {}
    for oid in ids:
        for key, value in c.counts.get(oid, {}).items():
            summed[key] = summed.get(key, 0) + value
    days = [d for oid in ids for d in c.days.get(oid, [])]
    out = derive(summed, days)
    idset = set(ids)
    out.update(_coverage((o for o in c.orgs if o["id"] in idset), c.counts))
    return out


# --- trends ---------------------------------------------------------------------------------------------------


def trends(session: Session, scope: Scope) -> dict[str, Any]:
    """Records collected per month (published batches) and open datasets over time (cumulative
    count of today's open datasets by the month they were published)."""

    at = func.coalesce(Batch.published_at, Batch.created_at)
    month = _month(session, at)
    rows = session.execute(
        select(month, func.sum(Batch.row_count)).join(Resource, Batch.resource_id == Resource.id).where(
            Batch.status == BatchStatus.PUBLISHED.value, *_in_scope(scope, Resource.org_id, Resource.region_id))
        .group_by(month).order_by(month)).all()
    records = [{"month": m, "rows": int(n or 0)} for m, n in rows if m]
    pmonth = _month(session, Resource.published_at)
    rows = session.execute(
        select(pmonth, func.count()).where(
            open_condition(), Resource.published_at.isnot(None), *_in_scope(scope, Resource.org_id, Resource.region_id))
        .group_by(pmonth).order_by(pmonth)).all()
    total, opened = 0, []
    for m, n in rows:
        if m:
            total += int(n)
            opened.append({"month": m, "open_datasets": total})
    return {"records_per_month": records, "open_datasets": opened}


# --- targets ---------------------------------------------------------------------------------------------------


def target_progress(session: Session, scope: Scope, totals: dict[str, Any], day: date) -> list[dict[str, Any]]:
    """Targets in force today for this scope (the whole platform's when no region is asked, or
    the region's own), each with the current value and the share reached."""
    wanted = scope.region_code if scope.region_code and scope.region_path and scope.org_id is None else PLATFORM
    if scope.org_id is not None:
        return []
    rows = session.execute(select(Target).where(
        Target.scope == wanted, Target.effective_from <= day,
        or_(Target.effective_to.is_(None), Target.effective_to >= day)).order_by(Target.metric, Target.due_on)
    ).scalars().all()
    out = []
    for t in rows:
        label, unit = TARGET_METRICS.get(t.metric, (t.metric, ""))
        current = totals.get(t.metric)
        progress = round(current / t.value, 4) if current is not None and t.value else None
        out.append({"id": t.id, "metric": t.metric, "label": label, "unit": unit, "scope": t.scope,
                    "target": t.value, "due_on": t.due_on.isoformat(), "current": current, "progress": progress,
                    "met": progress is not None and progress >= 1.0, "overdue": day > t.due_on and not (
                        progress is not None and progress >= 1.0), "basis": t.basis})
    return out


# --- the whole picture ------------------------------------------------------------------------------------------

STATUS_LABELS = {"草稿": N_("资源（草稿）"), "待审核": N_("资源（待审核）"), "已退回": N_("资源（已退回）"),
                 "已发布": N_("资源（已发布）"), "已停用": N_("资源（已停用）")}  # written out for the catalogue

# The KPI table: (key, Chinese label, unit). Units: 条 / 个 / % (fraction shown as percent) / 天 / 分.
KPI_TABLE: tuple[tuple[str, str, str], ...] = (
    ("records_collected", N_("归集数据量"), N_("条")),
    ("records_last_30d", N_("近30日归集量"), N_("条")),
    ("records_growth_30d", N_("近30日增长率"), "%"),
    ("resources_total", N_("目录资源总数"), N_("个")),
    *((f"status:{s}", STATUS_LABELS[s], N_("个")) for s in STATUSES),
    ("open_datasets", N_("开放数据集"), N_("个")),
    ("catalogue_coverage", N_("目录覆盖率"), "%"),
    ("duty_on_time", N_("职责变化按时更新"), N_("次")),
    ("duty_late", N_("职责变化逾期更新"), N_("次")),
    ("duty_overdue", N_("职责变化逾期未更新"), N_("次")),
    ("duty_on_time_rate", N_("目录按时更新率"), "%"),
    ("fresh", N_("按周期更新的资源"), N_("个")),
    ("stale", N_("未按周期更新的资源"), N_("个")),
    ("fresh_rate", N_("数据及时更新率"), "%"),
    ("quality_overall", N_("平均质量评分"), N_("分")),
    ("share_decided", N_("共享申请已答复"), N_("件")),
    ("share_on_time", N_("共享申请按时答复"), N_("件")),
    ("share_overdue", N_("共享申请逾期未答复"), N_("件")),
    ("share_on_time_rate", N_("共享按时答复率"), "%"),
    ("share_median_days", N_("共享答复用时中位数（工作日）"), N_("天")),
    ("share_calls", N_("共享调用次数"), N_("次")),
    ("objections_on_time", N_("异议按时办结"), N_("件")),
    ("objections_late", N_("异议逾期办结"), N_("件")),
    ("objections_overdue", N_("异议逾期未办结"), N_("件")),
    ("objections_on_time_rate", N_("异议按时办结率"), "%"),
    ("downloads", N_("开放数据下载次数"), N_("次")),
    ("api_calls", N_("开放接口调用次数"), N_("次")),
    ("demands_total", N_("开放需求"), N_("件")),
    ("demands_answered", N_("开放需求已答复"), N_("件")),
    ("demands_answered_on_time", N_("开放需求按时答复"), N_("件")),
)


def compute(session: Session, actor: Actor, region_code: str | None = None, org_id: int | None = None,
            day: date | None = None, *, breakdown: bool = True) -> dict[str, Any]:
    """Every KPI of the scope, with the per-region and per-org breakdown and trends."""
    scope = resolve_scope(session, actor, region_code, org_id)
    return picture(session, collect(session, scope, day or today()), breakdown)


def picture(session: Session, c: Collected, breakdown: bool = True) -> dict[str, Any]:
    """compute() from figures already collected (the exports reuse them for the scorecards)."""
    scope, day = c.scope, c.day
    totals = fold(c, [o["id"] for o in c.orgs])
    totals.update(_open_figures(session, scope))
    out: dict[str, Any] = {"today": day.isoformat(), "scope": scope.as_dict(), "totals": totals,
                           "table": [{"key": k, "label": label, "unit": unit, "value": totals.get(k)}
                                     for k, label, unit in KPI_TABLE],
                           "targets": target_progress(session, scope, totals, day)}
    if breakdown:
        out["regions"] = region_rollup(c)
        out["orgs"] = [{"org_id": o["id"], "name": o["name"], "kind": o["kind"], "region_code": o["region_code"],
                        "region_name": o["region_name"], **fold(c, [o["id"]])} for o in c.orgs]
        out["trends"] = trends(session, scope)
    return out


def region_rollup(c: Collected) -> list[dict[str, Any]]:
    """Each region seen in the scope with the totals of its orgs and of the regions below it."""
    regions: dict[str, dict[str, Any]] = {}
    members: dict[str, list[int]] = {}
    for o in c.orgs:
        regions.setdefault(o["region_path"], {"code": o["region_code"], "name": o["region_name"]})
        parts = [p for p in o["region_path"].split("/") if p]
        for i in range(1, len(parts) + 1):
            members.setdefault("/" + "/".join(parts[:i]) + "/", []).append(o["id"])
    out = []
    for path, ids in sorted(members.items()):
        if path not in regions:
            continue  # a region above the scope: not ours to show
        parent = "/" + "/".join([p for p in path.split("/") if p][:-1]) + "/"
        out.append({"path": path, **regions[path], "parent_code": regions.get(parent, {}).get("code"),
                    **fold(c, ids)})
    return out
