"""The reviewer's queue as a day's work (issue 17): filters (org, region, kind, state, overdue),
days waiting and the due date in working days (DESIGN rule 4: workdays.py is the one clock),
sorting by due date, and paging.

The queue holds only what is submitted or returned in the reviewer's regions — tens to hundreds of
resources — so the working-day arithmetic runs over the filtered rows in Python; the filters that
SQL can express are applied in SQL first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor, require
from ..config import get_settings
from ..enums import ResourceStatus
from ..errors import ErrorBag
from ..i18n import N_
from ..orgs.model import Org, Region
from ..orgs.service import get_region_by_code
from ..workdays import add_workdays, workdays_between
from .model import Resource

S = ResourceStatus
STATES = (S.SUBMITTED.value, S.RETURNED.value)
KINDS = (N_("新编目"), N_("变更"))  # first publication, or a change to a published resource
SORTS = ("due", "-due")
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class ReviewQuery:
    org_id: int | None = None
    region_code: str | None = None
    kind: str | None = None
    state: str = S.SUBMITTED.value
    overdue: bool = False
    sort: str = "due"
    limit: int = 20
    offset: int = 0


@dataclass
class ReviewRow:
    id: int
    code: str
    name: str
    org_id: int
    org_name: str
    region_name: str
    kind: str
    state: str
    submitted_at: datetime | None
    submitted_on: date | None
    due: date | None
    days_waiting: int
    overdue: bool


@dataclass
class ReviewPage:
    rows: list[ReviewRow]
    total: int
    overdue: int
    query: ReviewQuery
    orgs: list[tuple[int, str]] = field(default_factory=list)
    regions: list[tuple[str, str]] = field(default_factory=list)


def _local_day(at: datetime | None) -> date | None:
    if at is None:
        return None
    from datetime import UTC

    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(get_settings().tz).date()


today = workdays.today  # the one clock (workdays.today): China's date, patchable in tests


def _check(query: ReviewQuery) -> None:
    bag = ErrorBag()
    for name, value, allowed in (("state", query.state, STATES), ("kind", query.kind, KINDS),
                                 ("sort", query.sort, SORTS)):
        if value is not None and value not in allowed:
            bag.add(name, "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=value,
                    allowed="、".join(allowed))
    if not 1 <= query.limit <= MAX_PAGE_SIZE or query.offset < 0:
        bag.add("page", "out_of_range", "分页参数超出范围")
    bag.raise_if_any()


def review_page(session: Session, actor: Actor, query: ReviewQuery, day: date | None = None) -> ReviewPage:
    """One page of the reviewer's queue; raises review_denied for a person who reviews nothing."""
    _check(query)
    day = day or today()
    paths = [] if actor.is_admin else actor.reviewer_paths()
    require(actor.is_admin or bool(paths), "查看审核队列", "review_denied")
    stmt = (select(Resource, Org.name, Region.name)
            .join(Org, Resource.org_id == Org.id).join(Region, Resource.region_id == Region.id)
            .where(Resource.status == query.state))
    if paths:
        stmt = stmt.where(or_(*[Region.path.startswith(p) for p in paths]))
    if query.org_id is not None:
        stmt = stmt.where(Resource.org_id == query.org_id)
    if query.region_code:
        stmt = stmt.where(Region.path.startswith(get_region_by_code(session, query.region_code).path))
    if query.kind == "新编目":
        stmt = stmt.where(Resource.published_version.is_(None))
    elif query.kind == "变更":
        stmt = stmt.where(Resource.published_version.is_not(None))
    limit_days = get_settings().rules.catalogue_review_workdays
    rows: list[ReviewRow] = []
    for res, org_name, region_name in session.execute(stmt).all():
        on = _local_day(res.submitted_at)
        due = add_workdays(on, limit_days) if on else None
        pending = res.status == S.SUBMITTED.value
        rows.append(ReviewRow(
            id=res.id, code=res.code, name=res.name, org_id=res.org_id, org_name=org_name, region_name=region_name,
            kind="变更" if res.published_version is not None else "新编目", state=res.status,
            submitted_at=res.submitted_at, submitted_on=on, due=due,
            days_waiting=workdays_between(on, day) if on else 0,
            overdue=bool(pending and due and day > due)))
    overdue_count = sum(r.overdue for r in rows)
    if query.overdue:
        rows = [r for r in rows if r.overdue]
    rows.sort(key=lambda r: (r.due or date.max, r.id), reverse=query.sort == "-due")
    return ReviewPage(rows=rows[query.offset:query.offset + query.limit], total=len(rows), overdue=overdue_count,
                      query=query, orgs=_choices_orgs(session, paths), regions=_choices_regions(session, paths))


def _choices_orgs(session: Session, paths: list[str]) -> list[tuple[int, str]]:
    stmt = select(Org.id, Org.name).join(Region, Org.region_id == Region.id).order_by(Region.path, Org.name)
    if paths:
        stmt = stmt.where(or_(*[Region.path.startswith(p) for p in paths]))
    return [(i, n) for i, n in session.execute(stmt).all()]


def _choices_regions(session: Session, paths: list[str]) -> list[tuple[str, str]]:
    stmt = select(Region.code, Region.name).order_by(Region.path)
    if paths:
        stmt = stmt.where(or_(*[Region.path.startswith(p) for p in paths]))
    return [(c, n) for c, n in session.execute(stmt).all()]


def as_dict(row: ReviewRow) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in row.__dict__.items()}
