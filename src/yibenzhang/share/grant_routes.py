"""HTTP adapters over grants, the row service, deliveries, verification and usage."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ..access import Actor
from ..db import get_database
from ..deps import read_session, require_user
from . import grants as G
from . import service_rows, verify

router = APIRouter(prefix="/api/v1", tags=["share grants"])


class GrantIn(BaseModel):
    request_id: int | None = None
    consumer_org_id: int
    resource_id: int
    items: list[str]
    mode: str = Field(description="接口 | 文件 | 核验")
    row_scope: dict[str, Any] | None = Field(None, description='e.g. {"region_code": "990101"} for 回流')
    valid_from: date
    valid_to: date
    rate_limit_per_minute: int = 600


class RevokeIn(BaseModel):
    reason: str


class DeliveryIn(BaseModel):
    format: str = Field("csv", description="csv | parquet")


class VerifyIn(BaseModel):
    key: dict[str, Any]
    claims: dict[str, Any]


@router.post("/grants", status_code=201)
def issue(body: GrantIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return G.grant_dict(G.issue_grant(s, actor, **body.model_dump()))


@router.get("/grants")
def list_grants(org_id: int | None = None, resource_id: int | None = None, actor: Actor = Depends(require_user),
                s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    return [G.grant_dict(g) for g in G.grants_for(s, actor, org_id=org_id, resource_id=resource_id)]


@router.get("/grants/{grant_id}")
def show(grant_id: int, actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    return G.grant_dict(G.get_grant(s, actor, grant_id))


@router.post("/grants/{grant_id}/revoke")
def revoke(grant_id: int, body: RevokeIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return G.grant_dict(G.revoke_grant(s, actor, grant_id, body.reason))


@router.get("/grants/{grant_id}/rows")
def rows(grant_id: int, request: Request, limit: int = service_rows.DEFAULT_LIMIT, after: str | None = None,
         actor: Actor = Depends(require_user)) -> dict[str, Any]:
    filters = {k[len("filter."):]: v for k, v in request.query_params.items() if k.startswith("filter.")}
    return service_rows.rows(get_database(), actor, grant_id, filters, limit=limit, after=after)


@router.post("/grants/{grant_id}/deliveries", status_code=202)
def deliver(grant_id: int, body: DeliveryIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    return service_rows.delivery_dict(service_rows.request_delivery(get_database(), actor, grant_id, body.format))


@router.get("/deliveries/{delivery_id}")
def delivery(delivery_id: int, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    return service_rows.get_delivery(get_database(), actor, delivery_id)


@router.get("/deliveries/{delivery_id}/download")
def download(delivery_id: int, actor: Actor = Depends(require_user)) -> Response:
    data, name = service_rows.download(get_database(), actor, delivery_id)
    kind = "text/csv; charset=utf-8" if name.endswith(".csv") else "application/vnd.apache.parquet"
    return Response(data, media_type=kind, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/grants/{grant_id}/verify")
def check(grant_id: int, body: VerifyIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    return verify.verify(get_database(), actor, grant_id, body.key, body.claims)


@router.get("/share-usage")
def usage(grant_id: int | None = None, resource_id: int | None = None, org_id: int | None = None,
          actor: Actor = Depends(require_user)) -> dict[str, Any]:
    db = get_database()
    G.USAGE.flush(db)  # count this process's buffered calls too
    with db.read() as s:
        return G.usage_stats(s, actor, grant_id=grant_id, resource_id=resource_id, org_id=org_id)
