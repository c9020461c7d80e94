"""Exact record counts per resource, org or region (DOMAIN §2's 1000亿 target): the catalogue
keeps each resource's count of current rows, set by the zone on every publish."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import DomainError
from ..orgs.model import Org, Region
from ..zone.model import Batch
from .model import Resource


def record_counts(session: Session, level: str = "resource") -> list[dict[str, Any]]:
    """Exact record counts (current rows) per resource, org or region; a region's total includes
    the regions below it. They feed the 1000亿 target (DOMAIN §2)."""
    counted = Resource.record_count.isnot(None) & select(Batch.id).where(
        Batch.resource_id == Resource.id).exists()
    if level == "resource":
        rows = session.execute(select(Resource.id, Resource.code, Resource.name, Resource.record_count)
                               .where(counted).order_by(Resource.code)).all()
        return [{"resource_id": r.id, "code": r.code, "name": r.name, "records": r.record_count} for r in rows]
    if level == "org":
        rows = session.execute(
            select(Org.id, Org.name, Org.uscc, func.sum(Resource.record_count).label("n"))
            .join(Resource, Resource.org_id == Org.id).where(counted).group_by(Org.id, Org.name, Org.uscc)
            .order_by(Org.uscc)).all()
        return [{"org_id": r.id, "name": r.name, "uscc": r.uscc, "records": int(r.n or 0)} for r in rows]
    if level == "region":
        direct = dict(session.execute(
            select(Resource.region_id, func.sum(Resource.record_count)).where(counted)
            .group_by(Resource.region_id)).all())
        regions = list(session.execute(select(Region).order_by(Region.code)).scalars())
        paths = {r.id: r.path for r in regions}
        out = []
        for r in regions:
            total = sum(int(n or 0) for rid, n in direct.items() if paths.get(rid, "").startswith(r.path))
            out.append({"region_id": r.id, "code": r.code, "name": r.name,
                        "records": int(direct.get(r.id) or 0), "records_with_lower": total})
        return out

    raise DomainError("level_unknown", "未知的取值“{value}”，可选：{allowed}", value=level,
                      allowed="resource、org、region")
