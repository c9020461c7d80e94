"""HTTP adapters over the classification services."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ..access import Actor
from ..apidocs import XLSX, file_responses
from ..db import get_database
from ..deps import read_session, require_user, resolve_actor
from ..params import KEY_MAX, Id, Key, Text
from . import service

router = APIRouter(prefix="/api/v1", tags=["classify"])


class SuggestIn(BaseModel):
    sample: int = Field(service.DEFAULT_SAMPLE, ge=1, le=1_000_000, description="Rows sampled per item.")
    full_scan: bool = Field(False, description="Recognise over every current row, not a sample.")


class OverrideIn(BaseModel):
    grade: Text = Field(description="核心 | 重要 | 一般-4级 … 一般-1级 (or core, important, general-4 …)")
    categories: list[Key] | None = Field(None, description="Category codes; omitted: keep the suggested ones.")
    reason: Text = Field("", description="Why the suggestion is overridden (required).")


def decision_out(d: Any) -> dict[str, Any]:
    return {"item_id": d.item_id, "resource_id": d.resource_id, "kind": d.kind, "grade": d.grade,
            "categories": d.categories, "suggested_grade": d.suggested_grade, "reason": d.reason,
            "decided_by": d.decided_by, "decided_at": d.decided_at.isoformat(timespec="seconds")}


@router.post("/resources/{resource_id}/classify")
def suggest(resource_id: Key, body: SuggestIn | None = None, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """Recognise and grade every item of the resource; stores the suggestions (not decisions)."""
    body = body or SuggestIn()
    return service.suggest(get_database(), actor, resource_id, sample=body.sample, full_scan=body.full_scan)


@router.get("/resources/{resource_id}/classification")
def classification(resource_id: Key, actor: Actor = Depends(resolve_actor),
                   s: Session = Depends(read_session)) -> dict[str, Any]:
    """Items with suggestions, decisions and grades; the resource's grade (highest of its items)."""
    return service.classification(s, actor, resource_id)


@router.post("/items/{item_id}/confirm")
def confirm(item_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """The provider's steward accepts the suggested grade."""
    with get_database().write() as s:
        return decision_out(service.confirm(s, actor, item_id))


@router.post("/items/{item_id}/override")
def override(item_id: Id, body: OverrideIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """The provider's steward sets another grade, with a reason."""
    with get_database().write() as s:
        return decision_out(service.override(s, actor, item_id, body.grade, body.categories, body.reason))


@router.get("/classification/review")
def review(region_code: str | None = Query(None,
                                           max_length=KEY_MAX), limit: int = Query(service.REVIEW_LIMIT, ge=1, le=5000),
           actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    """The authority's view: unconfirmed and overridden items in the region and below."""
    return service.review(s, actor, region_code, limit)


@router.get("/important-data")
def important_data(region_code: str | None = Query(None, max_length=KEY_MAX), actor: Actor = Depends(require_user),
                   s: Session = Depends(read_session)) -> dict[str, Any]:
    """重要数据目录: items whose confirmed grade is 核心 or 重要."""
    rows = service.important_catalogue(s, actor, region_code)
    return {"region_code": region_code, "total": len(rows), "items": rows}


@router.get("/important-data.xlsx", response_class=Response, responses=file_responses(XLSX))
def important_data_xlsx(region_code: str | None = Query(None, max_length=KEY_MAX),
                        actor: Actor = Depends(require_user)) -> Response:
    """The important-data catalogue as an XLSX workbook (the export is ledgered)."""
    data, _n = service.export_important_xlsx(get_database(), actor, region_code)
    name = f"important-data-{region_code or 'all'}.xlsx"
    return Response(data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})
