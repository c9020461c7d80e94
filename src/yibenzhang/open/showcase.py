"""应用成果 (showcase): applications built on open data, submitted by signed-in users and listed
publicly after the region's 数据主管部门 (an authority reviewer) approves them."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor, can_review, require
from ..catalog.model import Resource
from ..errors import Conflict, ErrorBag, NotFound, Unauthenticated
from ..ledger import service as ledger
from ..orgs.model import Region
from .datasets import is_open
from .model import OpenShowcase, ShowcaseState, Verdict

NAME_MAX, TEXT_MAX, URL_MAX = 200, 2000, 500
MAX_DATASETS = 20
St = ShowcaseState
_VERDICT_ALIASES = {"approve": Verdict.APPROVE, "refuse": Verdict.REFUSE}


def _region_path(session: Session, region_id: int) -> str:
    region = session.get(Region, region_id)
    return region.path if region else "/"


def can_review_entry(session: Session, actor: Actor, entry: OpenShowcase) -> bool:
    return can_review(actor, _region_path(session, entry.region_id))


def submit(session: Session, actor: Actor, *, name: str, description: str, url: str | None,
           resource_ids: list[int | str], today: date | None = None) -> OpenShowcase:
    if actor.user_id is None:
        raise Unauthenticated("auth_required", "需要登录")
    bag = ErrorBag()
    n = (name or "").strip()
    desc = (description or "").strip()
    link = (url or "").strip() or None
    for field, value, limit in (("name", n, NAME_MAX), ("description", desc, TEXT_MAX)):
        if not value:
            bag.add(field, "required", "必填项不能为空")
        elif len(value) > limit:
            bag.add(field, "too_long", "不能超过{n}个字符", n=limit)
    if link is not None:
        parsed = urlparse(link)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(link) > URL_MAX:
            bag.add("url", "url_invalid", "网址应以http://或https://开头")
    ids: list[int] = []
    for raw in resource_ids:
        text = str(raw).strip()
        if not text:
            continue
        res = session.get(Resource, int(text)) if text.isdigit() else None
        if res is None or not is_open(res):
            bag.add("resource_ids", "open_dataset_unknown", "“{value}”不是开放数据集", value=text)
        elif res.id not in ids:
            ids.append(res.id)
    if not ids:
        bag.add("resource_ids", "required", "必填项不能为空")
    elif len(ids) > MAX_DATASETS:
        bag.add("resource_ids", "too_many", "最多选择{n}个数据集", n=MAX_DATASETS)
    bag.raise_if_any()
    # Reviewed by the authority of the region of the first dataset used.
    first = session.get(Resource, ids[0])
    assert first is not None
    entry = OpenShowcase(name=n, description=desc, url=link, resource_ids=ids, region_id=first.region_id,
                         submitted_by_id=actor.user_id, state=St.PENDING.value, submitted_on=today or workdays.today())
    session.add(entry)
    session.flush()
    ledger.append(session, actor, "open.showcase.submit", "open_showcase", entry.id,
                  {"datasets": ids, "region_id": entry.region_id})
    return entry


def review(session: Session, actor: Actor, entry_id: int, verdict: str, reason: str | None = None,
           today: date | None = None) -> OpenShowcase:
    entry = session.get(OpenShowcase, int(entry_id), with_for_update=True)
    if entry is None:
        raise NotFound(f"应用成果 {entry_id}", "open_showcase_not_found")
    require(can_review_entry(session, actor, entry), "审核应用成果", "open_showcase_review_denied")
    if entry.state != St.PENDING.value:
        raise Conflict("open_showcase_state", "状态为“{state}”的应用成果不能审核", state=entry.state)
    bag = ErrorBag()
    parsed = _VERDICT_ALIASES.get(str(verdict).strip().lower()) or Verdict.parse(verdict)
    if parsed is None:
        bag.add("decision", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=verdict,
                allowed="approve、refuse")
    text = (reason or "").strip() or None
    if parsed == Verdict.REFUSE and not text:
        bag.add("reason", "required", "必填项不能为空")
    bag.raise_if_any()
    entry.state = St.LISTED.value if parsed == Verdict.APPROVE else St.REFUSED.value
    entry.reviewed_on, entry.reviewed_by_id, entry.reason = today or workdays.today(), actor.user_id, text
    ledger.append(session, actor, "open.showcase.review", "open_showcase", entry.id, {"state": entry.state})
    return entry


def listed(session: Session, *, limit: int = 50, offset: int = 0,
           resource_id: int | None = None) -> tuple[list[OpenShowcase], int]:
    stmt = select(OpenShowcase).where(OpenShowcase.state == St.LISTED.value)
    rows = list(session.execute(stmt.order_by(OpenShowcase.id.desc())).scalars())
    if resource_id is not None:  # JSON lists: filtered here, portable across both backends
        rows = [r for r in rows if int(resource_id) in [int(x) for x in r.resource_ids or []]]
    return rows[offset:offset + limit], len(rows)


def to_review(session: Session, actor: Actor) -> list[OpenShowcase]:
    """Pending entries in the regions this actor reviews."""
    paths = actor.reviewer_paths()
    if not paths and not actor.is_admin:
        return []
    stmt = select(OpenShowcase).where(OpenShowcase.state == St.PENDING.value)
    if not actor.is_admin:
        regions = select(Region.id).where(or_(*[Region.path.startswith(p) for p in paths]))
        stmt = stmt.where(OpenShowcase.region_id.in_(regions))
    return list(session.execute(stmt.order_by(OpenShowcase.id)).scalars())


def mine(session: Session, actor: Actor) -> list[OpenShowcase]:
    return list(session.execute(select(OpenShowcase).where(OpenShowcase.submitted_by_id == (actor.user_id or -1))
                                .order_by(OpenShowcase.id.desc())).scalars())


def count_listed(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(OpenShowcase)
                               .where(OpenShowcase.state == St.LISTED.value)).scalar_one())


def entry_dict(session: Session, e: OpenShowcase) -> dict[str, Any]:
    datasets = []
    for rid in e.resource_ids or []:
        res = session.get(Resource, int(rid))
        if res is not None and is_open(res):
            datasets.append({"id": res.id, "name": res.name})
    return {"id": e.id, "name": e.name, "description": e.description, "url": e.url, "datasets": datasets,
            "state": e.state, "submitted_on": e.submitted_on.isoformat(),
            "reviewed_on": e.reviewed_on.isoformat() if e.reviewed_on else None, "reason": e.reason}
