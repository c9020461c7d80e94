"""HTTP adapters over the ledger: verification and an act's evidence trail."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from ..access import Actor, require
from ..deps import read_session, require_user
from ..params import Key
from . import audit, service

ROUTE_PREFIX = "/api/v1"  # the core routes name their paths under it (api.create_app)
router = APIRouter(tags=["ledger"])


@router.get("/ledger/verify")
def verify(actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    return audit.verify_chain(s, actor).as_dict()


@router.get("/ledger/events")
def events(subject_type: Key, subject_id: Key, actor: Actor = Depends(require_user),
           s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    require(actor.is_government, "查看存证")
    return [
        {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
         "content_digest": e.content_digest, "digest": e.digest}
        for e in service.events_for(s, subject_type, subject_id)
    ]
