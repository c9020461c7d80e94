"""Open-data figures for the assessment (engineer A1's KPIs call `figures` by name): open datasets,
downloads, API calls, demands and applications answered on time — for the whole platform, a
region and the regions below it, or one org."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..catalog.model import Resource
from ..orgs.model import Org, Region
from .datasets import open_condition
from .model import ApplicationState, DemandState, OpenApplication, OpenDemand, OpenUsage
from .usage import API


def _org_scope(column: Any, region_path: str | None, org_id: int | None) -> list[Any]:
    out = []
    if org_id is not None:
        out.append(column == int(org_id))
    if region_path:
        out.append(column.in_(select(Org.id).join(Region, Region.id == Org.region_id)
                              .where(Region.path.startswith(region_path))))
    return out


def figures(session: Session, region_path: str | None = None, org_id: int | None = None, *,
            since: date | None = None, until: date | None = None) -> dict[str, Any]:
    """Counts for the scope; `since`/`until` (inclusive) bound downloads, calls, demands and
    applications by their day (open_datasets is always the current count)."""
    res_scope = _org_scope(Resource.org_id, region_path, org_id)
    open_datasets = session.execute(select(func.count()).select_from(Resource)
                                    .where(open_condition(), *res_scope)).scalar_one()

    usage = select(OpenUsage.kind, func.coalesce(func.sum(OpenUsage.count), 0)).join(
        Resource, Resource.id == OpenUsage.resource_id).where(*res_scope)
    if since:
        usage = usage.where(OpenUsage.day >= since)
    if until:
        usage = usage.where(OpenUsage.day <= until)
    by_kind = dict(session.execute(usage.group_by(OpenUsage.kind)).all())
    downloads = sum(int(v) for k, v in by_kind.items() if str(k).startswith("download"))
    api_calls = int(by_kind.get(API, 0))

    dem = [*_org_scope(OpenDemand.org_id, region_path, org_id)]
    if since:
        dem.append(OpenDemand.asked_on >= since)
    if until:
        dem.append(OpenDemand.asked_on <= until)
    demands_total, answered, answered_on_time = session.execute(select(
        func.count(),
        func.count().filter(OpenDemand.state == DemandState.ANSWERED.value),
        func.count().filter(OpenDemand.state == DemandState.ANSWERED.value, OpenDemand.on_time.is_(True)),
    ).select_from(OpenDemand).where(*dem)).one()

    app = [*_org_scope(OpenApplication.provider_org_id, region_path, org_id)]
    if since:
        app.append(OpenApplication.applied_on >= since)
    if until:
        app.append(OpenApplication.applied_on <= until)
    decided = (ApplicationState.APPROVED.value, ApplicationState.REFUSED.value)
    apps_total, apps_answered, apps_on_time = session.execute(select(
        func.count(),
        func.count().filter(OpenApplication.state.in_(decided)),
        func.count().filter(OpenApplication.state.in_(decided), OpenApplication.on_time.is_(True)),
    ).select_from(OpenApplication).where(*app)).one()
    return {
        "open_datasets": int(open_datasets), "downloads": downloads, "api_calls": api_calls,
        "demands_total": int(demands_total), "demands_answered": int(answered),
        "demands_answered_on_time": int(answered_on_time), "applications_total": int(apps_total),
        "applications_answered": int(apps_answered), "applications_answered_on_time": int(apps_on_time),
    }
