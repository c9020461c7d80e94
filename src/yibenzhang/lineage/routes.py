"""`GET /api/v1/lineage/resources/{resource}`: a resource's lineage, filtered by the viewer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ..access import Actor
from ..db import get_database
from ..deps import require_user
from ..params import Key
from . import graph

router = APIRouter(prefix="/api/v1/lineage", tags=["lineage"])


@router.get("/resources/{resource:path}")  # a code holds a "/" (前段码/后段码)
def resource_lineage(resource: Key, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().read() as s:
        return graph.for_resource(s, actor, resource[:40])
