"""The catalogue's side of search: it feeds the index (yibenzhang.search) what it shows of each
resource — its published snapshot where there is one, else its working copy — and the live fields
visibility decides by. The index never calls back into the catalogue.

catalog.service pushes a document on every change (index_resource / unindex_resource, in the
change's transaction); reindex_all rebuilds the whole index from the catalogue. Migrations 0002
and 0007 import reindex_all and refresh_facets from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Subquery, and_, select
from sqlalchemy.orm import Session

from ..enums import ResourceStatus
from ..orgs.model import Org, Region
from ..search import index
from .model import Category, Resource, ResourceItem, ResourceVersion


def live_fields() -> Subquery:
    """What visibility (catalog.service.visible_to) decides by, per resource, in the columns
    search.index.refresh_facets expects."""
    return select(
        Resource.id, Resource.published_version.is_not(None).label("published"), Resource.status,
        Resource.open_type, Resource.org_id, Resource.region_id,
    ).subquery("r")


def _sort_time(resource: Resource) -> datetime | None:
    if resource.published_version is not None and resource.published_at is not None:
        return resource.published_at
    return resource.updated_at or resource.created_at


def index_resource(session: Session, resource: Resource, view: dict[str, Any]) -> None:
    """Update the search index entry of `resource` in the caller's transaction; `view` is what the
    catalogue shows of it (its published snapshot where there is one, else the working copy)."""
    index.write_docs(session, [index.doc_from_view(view, _sort_time(resource))], live_fields())


def unindex_resource(session: Session, resource_id: int) -> None:
    """Remove a resource's search index entry."""
    index.delete_docs(session, [resource_id])


def refresh_facets(session: Session, ids: Sequence[int] | None) -> None:
    """Rebuild the search_facets rows of these resources (all when ids is None) from search_docs
    and the live resources (migration 0007's backfill; the search benchmark's cached stores)."""
    index.refresh_facets(session, live_fields(), ids)


def reindex_all(session: Session, batch: int = 2000) -> int:
    """Rebuild the whole index in batches (after a bulk load or on an existing catalogue).
    Same rows as index_resource: the published snapshot where there is one, else the working
    copy (assembled with a few queries per batch, not per resource)."""
    facets = index.has_facets(session)
    index.clear(session)
    orgs = {o.id: o for o in session.execute(select(Org)).scalars()}
    regions = {r.id: r for r in session.execute(select(Region)).scalars()}
    cats = {c.code: c for c in session.execute(select(Category)).scalars()}

    def path(code: str) -> list[str]:
        names: list[str] = []
        node = cats.get(code)
        while node is not None:
            names.append(node.name)
            node = cats.get(node.parent_code) if node.parent_code else None
        return list(reversed(names))

    done, last = 0, 0
    cols = [c for c in Resource.__table__.columns if c.name != "keywords"] + [Resource.__table__.c.keywords]
    while True:
        rows = session.execute(select(*cols).where(Resource.id > last).order_by(Resource.id).limit(batch)).all()
        if not rows:
            break
        last = rows[-1].id
        ids = [r.id for r in rows]
        items: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        for rid, name in session.execute(
            select(ResourceItem.resource_id, ResourceItem.name).where(ResourceItem.resource_id.in_(ids))
            .order_by(ResourceItem.resource_id, ResourceItem.position)
        ):
            items[rid].append({"name": name})
        snaps = {
            rid: snap for rid, snap in session.execute(
                select(ResourceVersion.resource_id, ResourceVersion.snapshot)
                .join(Resource, and_(Resource.id == ResourceVersion.resource_id,
                                     Resource.published_version == ResourceVersion.version))
                .where(ResourceVersion.resource_id.in_(ids))
            )
        }
        out = []
        for r in rows:
            if r.id in snaps:
                view = dict(snaps[r.id])
                retired = r.status == ResourceStatus.RETIRED.value
                view["status"] = r.status if retired else ResourceStatus.PUBLISHED.value
            else:
                org, region, cat_path = orgs.get(r.org_id), regions.get(r.region_id), path(r.category_code)
                view = {
                    "id": r.id, "code": r.code, "name": r.name, "abstract": r.abstract, "org_id": r.org_id,
                    "org_name": org.name if org else None, "region_code": region.code if region else None,
                    "region_name": region.name if region else None, "category_code": r.category_code,
                    "category_path": cat_path, "resource_class": cat_path[0] if cat_path else None,
                    "library": r.library, "share_type": r.share_type, "open_type": r.open_type,
                    "format_kind": r.format_kind, "update_cycle": r.update_cycle, "keywords": r.keywords or [],
                    "status": r.status, "items": items[r.id],
                }
            published = r.published_version is not None and r.published_at is not None
            out.append(index.doc_from_view(view, r.published_at if published else (r.updated_at or r.created_at)))
        index.write_docs(session, out)  # facets once, at the end
        done += len(out)
    if facets:
        refresh_facets(session, None)
    return done

