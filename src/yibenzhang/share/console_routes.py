"""JSON behind the sharing console, for scripts too: usage as calls per day (per grant, resource or
consumer org) and the deliveries of a grant. Thin adapters over share.console."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from ..access import Actor
from ..db import get_database
from ..deps import read_session, require_user
from ..params import KEY_MAX, Count, Id
from . import console
from . import grants as G

router = APIRouter(prefix="/api/v1", tags=["share console"])


@router.get("/share-usage/series")
def usage_series(by: str = Query("grant", description="grant | resource | org", max_length=KEY_MAX),
                 days: Annotated[Count, Query(description="Days back from today, 1-366")] = 30,
                 grant_id: Id | None = None,
                 actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """Calls per day over the grants the caller may see (counts only, never a value)."""
    db = get_database()
    G.USAGE.flush(db)  # seal the stored calls into their ledger summaries first
    with db.read() as s:
        return console.usage_series(s, actor, by=by, days=days, grant_id=grant_id)


@router.get("/grants/{grant_id}/deliveries")
def deliveries(grant_id: Id, actor: Actor = Depends(require_user),
               s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    """A grant's delivery files, newest first: queued, ready (download once), downloaded."""
    return console.deliveries(s, actor, grant_id)
