"""HTTP: GET /api/v1/search — ranked, faceted catalogue search (a thin adapter over search.query)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Query

from ..access import Actor
from ..db import get_database
from ..deps import resolve_actor
from ..params import KEY_MAX, Count, Id, Key, Offset
from .query import SearchQuery, search_resources

router = APIRouter(tags=["search"])


@router.get("/api/v1/search", summary="搜索目录 Search the catalogue")
def search(
    q: str = Query("", description="关键词（中文分词，多词为“与”）Words; several words must all match",
                   max_length=KEY_MAX),
    org_id: Id | None = Query(None),
    region_code: str | None = Query(None, description="该地区及其下级 This region and below", max_length=KEY_MAX),
    resource_class: str | None = Query(None, description="基础 / 主题 / 部门", max_length=KEY_MAX),
    category_code: str | None = Query(None, description="分类代码前缀 Classification code prefix", max_length=KEY_MAX),
    library: Key | None = None,
    share_type: Key | None = None,
    open_type: Key | None = None,
    format_kind: Key | None = None,
    update_cycle: Key | None = None,
    status: Key | None = None,
    sort: str = Query("relevance", description="relevance | newest | name", max_length=KEY_MAX),
    limit: Count = 20,
    offset: Offset = 0,
    actor: Actor = Depends(resolve_actor),
) -> dict[str, Any]:
    query = SearchQuery(q=q, org_id=org_id, region_code=region_code, resource_class=resource_class,
                        category_code=category_code, library=library, share_type=share_type,
                        open_type=open_type, format_kind=format_kind, update_cycle=update_cycle,
                        status=status, sort=sort, limit=limit, offset=offset)
    with get_database().read() as s:
        result = search_resources(s, actor, query)
    return asdict(result) | {"limit": query.limit, "offset": query.offset}
