"""The catalogue's resources as the zone's holdings (`zone.holdings.Holdings`, through the hook
`ybz_zone_holdings`): the zone reads a resource's items and places its batches without importing
the catalogue."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor
from ..orgs.model import Org, Region
from .model import Resource
from .service import get_resource


class CatalogueHoldings:
    def get(self, session: Session, resource_id: int, *, lock: bool = False) -> Resource | None:
        if not lock:
            return session.get(Resource, resource_id)
        return session.execute(select(Resource).where(Resource.id == resource_id).with_for_update()
                               ).scalar_one_or_none()

    def find(self, session: Session, actor: Actor, ref: str) -> Resource:
        return get_resource(session, actor, ref)

    def place(self, session: Session, holding: Resource) -> tuple[str, str]:
        org = session.get(Org, holding.org_id)
        region = session.get(Region, holding.region_id)
        return region.code, org.uscc


HOLDINGS = CatalogueHoldings()
