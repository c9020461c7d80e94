"""The audit administrator's view of the ledger (issue 23; GB/T 22239-2019 8.1.4.3 安全审计):
read and export events, nothing else. The system and security administrators may not read it,
and every export is itself an event, so each administrator's acts stay visible to the others."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor, can_read_all, can_read_audit, require
from . import service
from .model import LedgerEvent

EXPORT_LIMIT = 100_000  # one export; narrow the dates for more


def verify_chain(session: Session, actor: Actor) -> service.VerifyReport:
    """`ybz ledger verify` for a person: the platform, the auditors and the regions' reviewers."""
    require(can_read_all(actor) or can_read_audit(actor) or bool(actor.reviewer_paths()), "校验存证链")
    return service.verify(session)


def export_events(session: Session, actor: Actor, *, since: datetime | None = None,
                  until: datetime | None = None, action_prefix: str | None = None,
                  limit: int = EXPORT_LIMIT) -> list[dict[str, Any]]:
    require(can_read_audit(actor), "导出审计记录", "audit_denied")
    stmt = select(LedgerEvent).order_by(LedgerEvent.seq)
    if since is not None:
        stmt = stmt.where(LedgerEvent.at >= since)
    if until is not None:
        stmt = stmt.where(LedgerEvent.at < until)
    if action_prefix:
        stmt = stmt.where(LedgerEvent.action.startswith(action_prefix, autoescape=True))
    rows = [
        {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "actor_id": e.actor_id, "action": e.action,
         "subject_type": e.subject_type, "subject_id": e.subject_id, "content": e.content,
         "content_digest": e.content_digest, "prev_digest": e.prev_digest, "digest": e.digest}
        for e in session.execute(stmt.limit(limit)).scalars()
    ]
    service.append(session, actor, "ledger.export", "ledger", "events",
                   {"count": len(rows), "since": since.isoformat() if since else None,
                    "until": until.isoformat() if until else None, "action_prefix": action_prefix})
    return rows


__all__ = ["export_events"]
