"""HTTP adapters over the objection services (/api/v1/objections)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ..access import Actor
from ..db import get_database
from ..deps import read_session, require_user
from ..params import Id, Int, Key, Offset, Text
from . import objections as service

router = APIRouter(prefix="/api/v1/objections", tags=["objections"])


class ObjectionIn(BaseModel):
    resource: Id | Key = Field(description="Resource id or 信息资源代码")
    claim: Text = Field(description="What is wrong")
    expected: Text | None = Field(None, description="What the filer believes is right")
    items: list[Key] = Field(default_factory=list, description="Disputed item names")
    batch_id: Id | None = None
    row_key: dict[Key, Text] | None = Field(None, description="Key item name -> value of the disputed row")
    row_number: Int | None = Field(None, description="Source row/line number of the disputed row")


class AnswerIn(BaseModel):
    answer: Text = Field(description="受理 (accept) or 驳回 (reject)")
    reason: Text | None = None


class CorrectIn(BaseModel):
    note: Text
    batch_id: Id | None = None


class DecideIn(BaseModel):
    decision: Text = Field(description="支持异议 (uphold) or 不支持异议 (dismiss)")
    reason: Text


@router.post("", status_code=201)
def file(body: ObjectionIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        obj = service.file_objection(s, actor, body.resource, claim=body.claim, expected=body.expected,
                                     items=body.items, batch_id=body.batch_id, row_key=body.row_key,
                                     row_number=body.row_number)
        return service.objection_dict(s, obj)


@router.get("")
def list_(
    mine: bool = False, org_id: Id | None = None, overdue: bool = False, open: bool = False,
    state: Key | None = None, resource_id: Id | None = None,
    limit: int = Query(50, ge=1, le=500), offset: Offset = 0,
    actor: Actor = Depends(require_user), s: Session = Depends(read_session),
) -> dict[str, Any]:
    rows, total = service.list_objections(s, actor, mine=mine, org_id=org_id, overdue=overdue, open_only=open,
                                          state=state, resource_id=resource_id, limit=limit, offset=offset)
    return {"total": total, "items": [service.objection_dict(s, o) for o in rows]}


@router.get("/counts")
def counts(org_id: Id | None = None, actor: Actor = Depends(require_user),
           s: Session = Depends(read_session)) -> dict[str, Any]:
    """Per provider org: total, open, overdue, closed on time, closed late."""
    return {str(k): v for k, v in service.objection_counts(s, actor, org_id=org_id).items()}


@router.post("/escalate")
def escalate(actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """Escalate every objection overdue today (admins; the daily job does the same)."""
    with get_database().write() as s:
        return service.escalate_overdue(s, actor)


@router.get("/{objection_id}")
def get(objection_id: Id, actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    return service.objection_dict(s, service.get_objection(s, actor, objection_id))


@router.post("/{objection_id}/answer")
def answer(objection_id: Id, body: AnswerIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return service.objection_dict(s, service.answer_objection(s, actor, objection_id, body.answer, body.reason))


@router.post("/{objection_id}/correct")
def correct(objection_id: Id, body: CorrectIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return service.objection_dict(s, service.correct_objection(s, actor, objection_id, body.note, body.batch_id))


@router.post("/{objection_id}/withdraw")
def withdraw(objection_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return service.objection_dict(s, service.withdraw_objection(s, actor, objection_id))


@router.post("/{objection_id}/decide")
def decide(objection_id: Id, body: DecideIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return service.objection_dict(s, service.decide_objection(s, actor, objection_id, body.decision,
                                                                  body.reason))
