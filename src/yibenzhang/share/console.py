"""What the sharing console shows beyond a request: grant views with names, the deliveries of a
grant, and usage as a series of calls per day (per grant, resource or consumer org) for the charts.

Read-only helpers over the public functions of share.grants; who may see a grant is decided there
(`get_grant`, `grants_for`). Usage is counts only, never a value.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import jobs, workdays
from ..access import Actor
from ..catalog.model import Resource
from ..enums import Role
from ..errors import ErrorBag
from ..orgs.model import Org, Region
from . import grants as G

SERIES_BY = ("grant", "resource", "org")
MAX_DAYS = 366


def can_revoke(session: Session, actor: Actor, grant: G.Grant) -> bool:
    """Whether to offer the revoke form (the service checks again): the provider org's approvers and
    stewards, the authority over the provider's region, the admin."""
    res = session.get(Resource, grant.resource_id)
    if res is None:
        return False
    if actor.is_admin or actor.acts_for_org(res.org_id, Role.APPROVER, Role.STEWARD):
        return True
    org = session.get(Org, res.org_id)
    region = session.get(Region, org.region_id) if org else None
    return region is not None and actor.reviews_region(region.path)


def is_grantee(actor: Actor, grant: G.Grant) -> bool:
    return actor.acts_for_org(grant.consumer_org_id, Role.CONSUMER)


def _names(session: Session, grants: list[G.Grant]) -> tuple[dict[int, Any], dict[int, str]]:
    res_ids = {g.resource_id for g in grants}
    org_ids = {g.consumer_org_id for g in grants}
    resources = {r.id: r for r in session.execute(select(Resource).where(Resource.id.in_(res_ids))).scalars()} \
        if res_ids else {}
    orgs = dict(session.execute(select(Org.id, Org.name).where(Org.id.in_(org_ids))).all()) if org_ids else {}
    return resources, orgs


def grant_views(session: Session, actor: Actor, grants: list[G.Grant]) -> list[dict[str, Any]]:
    """grant_dict plus the resource's name and code, the consumer org's name and what to offer."""
    resources, orgs = _names(session, grants)
    out = []
    for g in grants:
        res = resources.get(g.resource_id)
        view = G.grant_dict(g)
        view.update(resource_name=res.name if res else None, resource_code=res.code if res else None,
                    consumer_org_name=orgs.get(g.consumer_org_id), grantee=is_grantee(actor, g),
                    revocable=g.revoked_at is None and can_revoke(session, actor, g))
        out.append(view)
    return out


def split_grants(session: Session, actor: Actor) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(grants to the actor's own orgs, other grants the actor may see: the provider's and authority's)."""
    views = grant_views(session, actor, G.grants_for(session, actor))
    mine = [v for v in views if v["grantee"] or actor.acts_for_org(v["consumer_org_id"])]
    others = [v for v in views if v not in mine]
    return mine, others


def deliveries(session: Session, actor: Actor, grant_id: int) -> list[dict[str, Any]]:
    """The deliveries of a grant the actor may see, newest first."""
    grant = G.get_grant(session, actor, grant_id)
    # deferred: keeps duckdb, sqlglot out of this module's import
    from .service_rows import delivery_dict

    rows = list(session.execute(select(G.Delivery).where(G.Delivery.grant_id == grant.id)
                                .order_by(G.Delivery.id.desc())).scalars())
    ids = [d.job_id for d in rows if d.job_id]
    by_id = {j.id: j for j in session.execute(select(jobs.Job).where(jobs.Job.id.in_(ids))).scalars()} if ids else {}
    return [delivery_dict(d, by_id.get(d.job_id)) for d in rows]


def usage_series(session: Session, actor: Actor, *, by: str = "grant", days: int = 30,
                 grant_id: int | None = None, today: date | None = None) -> dict[str, Any]:
    """Calls per day over the last `days` days, one series per grant, resource or consumer org, over
    the grants the actor may see (every call is stored before its answer)."""
    bag = ErrorBag()
    if by not in SERIES_BY:
        bag.add("by", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=by, allowed="、".join(SERIES_BY))
    if not 1 <= days <= MAX_DAYS:
        bag.add("days", "share_usage_days", "天数须在1到{n}之间", n=MAX_DAYS)
    bag.raise_if_any()
    end = today or workdays.today()
    start = end - timedelta(days=days - 1)
    labels = [(start + timedelta(days=i)).isoformat() for i in range(days)]
    grants = G.grants_for(session, actor)
    if grant_id is not None:
        grants = [g for g in grants if g.id == grant_id]
    resources, orgs = _names(session, grants)
    key_of = {"grant": lambda g: g.id, "resource": lambda g: g.resource_id, "org": lambda g: g.consumer_org_id}[by]
    keys = {g.id: key_of(g) for g in grants}
    counts: dict[Any, list[int]] = {}
    rows_total: dict[Any, int] = {}
    refused: dict[Any, int] = {}
    if grants:
        day = workdays.local_day_sql(G.GrantUsage.at, session.get_bind().dialect.name)  # China's days
        since = workdays.local_midnight(start)
        q = (select(G.GrantUsage.grant_id, day, G.GrantUsage.outcome, func.count(),
                    func.coalesce(func.sum(G.GrantUsage.rows), 0))
             .where(G.GrantUsage.grant_id.in_(list(keys)), G.GrantUsage.at >= since)
             .group_by(G.GrantUsage.grant_id, day, G.GrantUsage.outcome))
        index = {label: i for i, label in enumerate(labels)}
        for gid, on, outcome, n, nrows in session.execute(q):
            i = index.get(str(on)[:10])
            if i is None:
                continue
            key = keys[gid]
            counts.setdefault(key, [0] * days)[i] += int(n)
            rows_total[key] = rows_total.get(key, 0) + int(nrows)
            if outcome != "ok":
                refused[key] = refused.get(key, 0) + int(n)

    def label(key: Any) -> str:
        if by == "grant":
            g = next(x for x in grants if x.id == key)
            res = resources.get(g.resource_id)
            return f"#{key} {res.name if res else ''}".strip()
        if by == "resource":
            res = resources.get(key)
            return res.name if res else str(key)
        return orgs.get(key, str(key))

    series = [{"key": k, "name": label(k), "data": counts[k], "calls": sum(counts[k]), "rows": rows_total.get(k, 0),
               "refused": refused.get(k, 0)} for k in sorted(counts, key=lambda k: -sum(counts[k]))]
    return {"by": by, "days": labels, "series": series, "calls": sum(s["calls"] for s in series)}
