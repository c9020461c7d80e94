"""Sharing in the demo province, so the console has something to show: requests in every state
(granted at once, approved in two steps, pending, overdue, refused, not shareable), the grants they
made (rows, verification, file) and a fortnight of usage for the charts.

Everything goes through the services (requests.create_request / decide_request, grants.record_usage),
so seals, grants and ledger events are real; only the usage records' times are spread over the past
14 days (their ledger events carry counts, never a time or a value). Deterministic for a seed.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor
from ..catalog.model import Resource, ResourceItem
from ..db import Database
from ..enums import ResourceStatus
from ..orgs import service as orgs
from ..orgs.model import Org
from ..zone.model import Batch
from . import grants as G
from . import requests as svc

# demo users (demo.plan_world): provider approvers, consumers at province, city and county level
APPROVER = "yl_police_approver"
PROVIDER = "yl_police"
AUTHORITY = "reviewer_yl"
CONSUMERS = {"tax": "yl_tax_consumer", "medins": "yl_medins_consumer", "city": "cc_civil_consumer",
             "county": "cuihu_civil_consumer"}
USAGE_DAYS = 14


def _actor(s: Session, username: str) -> Actor | None:
    try:
        return orgs.actor_for(s, orgs.get_user_by_name(s, username))
    except Exception:  # a trimmed demo without this user: skip what needs it
        return None


def _pick(s: Session, org_id: int | None, share_type: str, rng: random.Random, with_rows: bool) -> Resource | None:
    q = select(Resource).where(Resource.share_type == share_type, Resource.published_version.is_not(None),
                               Resource.status == ResourceStatus.PUBLISHED.value)
    if org_id is not None:
        q = q.where(Resource.org_id == org_id)
    if with_rows:
        q = q.where(Resource.id.in_(select(Batch.resource_id).where(Batch.status == "已发布")))
    found = list(s.execute(q.order_by(Resource.id)).scalars())
    return rng.choice(found) if found else None


def _items(s: Session, res: Resource, mode: str) -> tuple[list[str], str | None]:
    """A minimum-necessary pick: a key and one more item for verification, else two or three
    items; the reason the rules ask for when a graded item is among them."""
    items = list(s.execute(select(ResourceItem).where(ResourceItem.resource_id == res.id)
                           .order_by(ResourceItem.position, ResourceItem.id)).scalars())
    if mode == "核验":
        keys = [i for i in items if i.is_key] or items[:1]
        rest = [i for i in items if i not in keys[:1]]
        chosen = keys[:1] + rest[:1]
    else:
        chosen = [i for i in items if not i.is_key][:3] or items[:2]
    if len(chosen) == len(items) and len(items) > 1:
        chosen = chosen[:-1]
    sensitive = any((i.grade or "") in svc.SENSITIVE_GRADES for i in chosen)
    return [i.name for i in chosen], ("办理业务须核对该信息项" if sensitive else None)


def _ask(s: Session, actor: Actor, res: Resource, mode: str, purpose: str, day: date,
         days: int = 365) -> svc.ShareRequest:
    items, reason = _items(s, res, mode)
    return svc.create_request(s, actor, res.id, items=items, mode=mode, purpose=purpose, basis="履行法定职责",
                              scenario=f"{purpose}（演示）", period_from=day, period_to=day + timedelta(days=days),
                              extra_items_reason=reason, today=day)


def load(db: Database, seed: int) -> dict[str, Any]:
    rng = random.Random(seed * 31 + 5)
    today = workdays.today()
    made: dict[str, int] = {}
    with db.write() as s:
        police = s.execute(select(Org).where(Org.name.like("%公安厅"))).scalars().first()
        actors = {k: _actor(s, u) for k, u in CONSUMERS.items()}
        approver, authority = _actor(s, APPROVER), _actor(s, AUTHORITY)
        if police is None or approver is None or authority is None or None in actors.values():
            return {"share": {"skipped": True}}
        conditional = _pick(s, police.id, "有条件共享", rng, with_rows=True) \
            or _pick(s, police.id, "有条件共享", rng, with_rows=False)
        unconditional = _pick(s, None, "无条件共享", rng, with_rows=True)
        closed = _pick(s, None, "不予共享", rng, with_rows=False)
        grants: list[tuple[int, Actor]] = []

        def two_steps(req: svc.ShareRequest, on: date) -> None:
            svc.decide_request(s, approver, req.id, "批准", "符合共享条件，同意提供", today=on)
            svc.decide_request(s, authority, req.id, "批准", "用途明确，同意共享", today=on)

        if unconditional is not None:
            req = _ask(s, actors["tax"], unconditional, "接口", "纳税人身份核对", today - timedelta(days=20))
            grants.append((req.grant_id or 0, actors["tax"]))
            made["unconditional"] = 1
        if conditional is not None:
            req = _ask(s, actors["city"], conditional, "接口", "低保对象家庭状况核对", today - timedelta(days=18))
            two_steps(req, today - timedelta(days=16))
            grants.append((req.grant_id or 0, actors["city"]))
            req = _ask(s, actors["medins"], conditional, "核验", "参保人员身份核验", today - timedelta(days=17))
            two_steps(req, today - timedelta(days=15))
            grants.append((req.grant_id or 0, actors["medins"]))
            req = _ask(s, actors["county"], conditional, "文件", "困难群众走访名单核对", today - timedelta(days=15))
            two_steps(req, today - timedelta(days=12))
            grants.append((req.grant_id or 0, actors["county"]))
            _ask(s, actors["county"], conditional, "接口", "基层网格化管理", today - timedelta(days=2))  # pending
            _ask(s, actors["medins"], conditional, "接口", "异地就医备案核对", today - timedelta(days=30))  # overdue
            req = _ask(s, actors["tax"], conditional, "接口", "个税专项附加扣除核对", today - timedelta(days=9))
            svc.decide_request(s, approver, req.id, "拒绝", "申请用途与本部门职责不符", today=today - timedelta(days=7))
            made.update(conditional=6, refused=1, overdue=1, pending=1)
        if closed is not None:
            _ask(s, actors["city"], closed, "接口", "信访事项办理", today - timedelta(days=6))
            made["not_shareable"] = 1
        granted = [(g, a) for g, a in grants if g]
        calls = _usage(s, granted, rng, today)
    return {"share": {"requests": sum(v for k, v in made.items() if k not in ("refused", "overdue", "pending")),
                      "grants": len(granted), "usage_calls": calls, **made}}


def _usage(s: Session, grants: list[tuple[int, Actor]], rng: random.Random, today: date) -> int:
    """Calls under each grant on the past USAGE_DAYS days (counts only), through record_usage."""
    calls = 0
    kinds = {"接口": "rows", "核验": "verify", "文件": "delivery"}
    for gid, caller in grants:
        grant = s.get(G.Grant, gid)
        if grant is None:
            continue
        for back in range(USAGE_DAYS, -1, -1):
            day = today - timedelta(days=back)
            if day < grant.valid_from:
                continue
            n = rng.randint(0, 6) if grant.mode != "文件" else int(rng.random() < 0.15)
            for _ in range(n):
                ok = rng.random() > 0.08
                use = G.record_usage(s, caller, grant, kinds[grant.mode], rows=rng.randint(1, 100) if ok and
                                     grant.mode == "接口" else 0, outcome="ok" if ok else "rate_limited")
                use.at = datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59)), tzinfo=UTC)
                calls += 1
    s.flush()
    return calls
