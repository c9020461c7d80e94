"""HTTP adapters over share requests (/api/v1/share-requests) and seal verification
(/api/v1/seals/verify, open to anyone)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ..access import Actor
from ..db import get_database
from ..deps import read_session, require_user
from ..params import KEY_MAX, Id, Key, Offset, Text
from . import requests as service
from . import seal, service_rows

router = APIRouter(prefix="/api/v1", tags=["share requests"])


class RequestIn(BaseModel):
    resource: Id | Key = Field(description="Resource id or 信息资源代码")
    items: list[Key] = Field(description="Requested item names (minimum necessary)")
    mode: Text = Field(description="接口 (rows) | 文件 (delivery) | 核验 (verification)")
    purpose: Text
    basis: Text = Field(description="Legal basis or duty")
    scenario: Text = Field(description="Usage scenario")
    period_from: date
    period_to: date
    region_scope: Text | None = Field(None, description="Division code (lower-level bodies)")
    extra_items_reason: Text | None = Field(None, description="Why all items or graded items are needed")
    consumer_org_id: Id | None = Field(None, description="Needed only when the user acts for several orgs")


class DecideIn(BaseModel):
    decision: Text = Field(description="approve | refuse (批准 | 拒绝)")
    reason: Text


@router.post("/share-requests", status_code=201)
def create(body: RequestIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        req = service.create_request(
            s, actor, body.resource, items=body.items, mode=body.mode, purpose=body.purpose, basis=body.basis,
            scenario=body.scenario, period_from=body.period_from, period_to=body.period_to,
            region_scope=body.region_scope, extra_items_reason=body.extra_items_reason,
            consumer_org_id=body.consumer_org_id)
        return service.request_dict(s, req)


@router.get("/share-requests")
def list_(
    view: str | None = Query(None, description="mine | to_decide", max_length=KEY_MAX), resource_id: Id | None = None,
    consumer_org_id: Id | None = None, overdue: bool = False,
    limit: int = Query(50, ge=1, le=500), offset: Offset = 0,
    actor: Actor = Depends(require_user), s: Session = Depends(read_session),
) -> dict[str, Any]:
    rows, total = service.list_requests(s, actor, view=view, resource_id=resource_id,
                                        consumer_org_id=consumer_org_id, overdue=overdue, limit=limit, offset=offset)
    return {"total": total, "items": [service.request_dict(s, r) for r in rows]}


@router.post("/share-requests/escalate")
def escalate(actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """Escalate every step overdue today (admins; the daily job does the same)."""
    with get_database().write() as s:
        return service.escalate_overdue(s, actor)


@router.get("/share-requests/{request_id}")
def get(request_id: Id, actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    req = service.get_request(s, actor, request_id)
    # What a grant of these items would serve today, so nobody approves a grant that serves nothing
    # without knowing it.
    return service.request_dict(s, req) | service_rows.servable_items(s, req.resource_id, req.items,
                                                                      f"share-request:{req.id}")


@router.post("/share-requests/{request_id}/decide")
def decide(request_id: Id, body: DecideIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return service.request_dict(s, service.decide_request(s, actor, request_id, body.decision, body.reason))


@router.post("/share-requests/{request_id}/withdraw")
def withdraw(request_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return service.request_dict(s, service.withdraw_request(s, actor, request_id))


@router.post("/seals/verify")
def verify(document: Any = Body(..., description="A sealed document: {content, seal}"),
           s: Session = Depends(read_session)) -> dict[str, Any]:
    """Anyone, signed in or not, checks a 数据共享专用章."""
    return seal.verify(s, document)
