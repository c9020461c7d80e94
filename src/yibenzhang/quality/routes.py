"""HTTP adapters over the quality services."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ..access import Actor
from ..db import get_database
from ..deps import read_session, require_user, resolve_actor
from ..params import KEY_MAX, Id, Key, Text
from . import service

router = APIRouter(prefix="/api/v1", tags=["quality"])


class RuleIn(BaseModel):
    kind: Text = Field(description="unique | range | regex | reference | not_null | length | enum | format")
    items: list[Key] = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict,
                                   description="range: min/max; regex: pattern; reference: resource (id or "
                                               "code) and item; enum: values; length: max; format: format")
    title: Text | None = None


def rule_out(r: Any) -> dict[str, Any]:
    return {"id": r.id, "key": f"steward:{r.id}", "resource_id": r.resource_id, "kind": r.kind, "items": r.items,
            "params": r.params, "title": r.title, "created_by": r.created_by}


@router.get("/resources/{resource_id}/quality")
def resource_quality(resource_id: Key, actor: Actor = Depends(resolve_actor),
                     s: Session = Depends(read_session)) -> dict[str, Any]:
    """The latest assessment (rules, checked, failed, rate, scores) and the score history."""
    return service.resource_quality(s, actor, resource_id)


@router.post("/resources/{resource_id}/quality/assess")
def assess(resource_id: Key, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """Assess the resource's current state now."""
    return service.assess_current(get_database(), actor, resource_id)


@router.get("/quality/scores")
def scores(level: str = Query("org", pattern="^(org|region)$",
                              max_length=KEY_MAX), actor: Actor = Depends(require_user),
           s: Session = Depends(read_session)) -> dict[str, Any]:
    return {"level": level, "items": service.scores_by(s, actor, level)}


@router.get("/resources/{resource_id}/quality-rules")
def list_rules(resource_id: Key, actor: Actor = Depends(resolve_actor),
               s: Session = Depends(read_session)) -> dict[str, Any]:
    return {"items": service.list_rules(s, actor, resource_id)}


@router.post("/resources/{resource_id}/quality-rules", status_code=201)
def add_rule(resource_id: Key, body: RuleIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return rule_out(service.add_rule(s, actor, resource_id, kind=body.kind, items=body.items,
                                         params=body.params, title=body.title))


@router.delete("/quality-rules/{rule_id}", status_code=204)
def remove_rule(rule_id: Id, actor: Actor = Depends(require_user)) -> None:
    with get_database().write() as s:
        service.remove_rule(s, actor, rule_id)
