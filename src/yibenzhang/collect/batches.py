"""A resource's collection as the pages see it: its batches newest first, whether any is
published, and the steward's decision on a held batch. The zone keeps the batches; pages ask
here (issue 19: no page imports the zone)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor
from ..zone import service as zone
from ..zone.holdings import Holding
from ..zone.model import Batch, BatchMode, BatchStatus

MODES = BatchMode.values()
HELD = BatchStatus.HELD.value


def can_read_rows(actor: Actor, resource: Holding) -> bool:
    return zone.can_read_rows(actor, resource)


def newest(session: Session, resource_id: int, limit: int) -> list[Batch]:
    return list(session.execute(select(Batch).where(Batch.resource_id == resource_id)
                                .order_by(Batch.seq.desc()).limit(limit)).scalars())


def has_published(session: Session, resource_id: int) -> bool:
    return session.execute(select(Batch.id).where(Batch.resource_id == resource_id,
                                                  Batch.status == BatchStatus.PUBLISHED.value).limit(1)).first() \
        is not None


def published(session: Session, resource_id: int, limit: int) -> list[Any]:
    """The newest published batches (seq, mode, row_count, published_at): the open portal's history."""
    return list(session.execute(select(Batch.seq, Batch.mode, Batch.row_count, Batch.published_at)
                                .where(Batch.resource_id == resource_id,
                                       Batch.status == BatchStatus.PUBLISHED.value)
                                .order_by(Batch.seq.desc()).limit(limit)).all())


DECISIONS = {"confirm": zone.confirm_batch, "discard": zone.discard_batch}


def decide(session: Session, actor: Actor, batch_id: int, action: str) -> Batch | None:
    """Confirm or discard a held batch (permission checked by the zone's service); None for an
    action that is neither."""
    decision = DECISIONS.get(action)
    return decision(session, actor, batch_id) if decision is not None else None
