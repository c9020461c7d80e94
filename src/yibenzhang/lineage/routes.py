"""`GET /api/v1/lineage/resources/{resource}`: a resource's lineage, filtered by the viewer.
`GET /api/v1/lineage/items/{resource}?item=…&from=…&to=…`: the auditor's question — every
organization that received an item of the resource in a period, by which grant or exit, with
the masking applied."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query

from ..access import Actor
from ..db import get_database
from ..deps import require_user
from ..errors import FieldError, ValidationFailed
from ..params import Key
from . import graph

router = APIRouter(prefix="/api/v1/lineage", tags=["lineage"])


@router.get("/resources/{resource:path}")  # a code holds a "/" (前段码/后段码)
def resource_lineage(resource: Key, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().read() as s:
        return graph.for_resource(s, actor, resource[:40])


def _day(name: str, raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed("lineage_period_invalid", "日期格式应为 YYYY-MM-DD",
                               errors=[FieldError(name, "not_a_date", "日期格式应为 YYYY-MM-DD")]) from None


@router.get("/items/{resource:path}")
def item_lineage(resource: Key, item: str = Query(..., min_length=1, max_length=100),
                 since: Key | None = Query(None, alias="from"), until: Key | None = Query(None, alias="to"),
                 actor: Actor = Depends(require_user)) -> dict[str, Any]:
    start, end = _day("from", since), _day("to", until)
    with get_database().read() as s:
        return graph.item_recipients(s, actor, resource[:40], item, start, end)
