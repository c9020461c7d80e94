"""Append events in the caller's transaction; verify the whole chain.

Content must never carry personal data (IDs, names, phone numbers): record ids, item names,
counts and digests instead — the ledger is read by auditors and kept forever.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access import Actor
from ..config import get_settings
from ..crypto import canonical_json, constant_time_equal, hmac_sm3_hex, sm3_hex
from ..db import utcnow
from .model import LedgerAnchor, LedgerEvent

GENESIS = "0" * 64
ANCHOR_ID = 1


def event_digest(
    seq: int, at: datetime, actor: str, action: str, subject_type: str, subject_id: str,
    content_digest: str, prev_digest: str,
) -> str:
    fields = "\x1f".join(
        [str(seq), at.isoformat(timespec="microseconds"), actor, action, subject_type, subject_id,
         content_digest, prev_digest]
    )
    return sm3_hex(fields.encode("utf-8"))


def anchor_mac(seq: int, digest: str, key: str | None = None) -> str:
    key = key or get_settings().secret_key
    return hmac_sm3_hex(key.encode(), f"ledger-anchor:{seq}:{digest}".encode())


def _locked_anchor(session: Session) -> LedgerAnchor:
    stmt = select(LedgerAnchor).where(LedgerAnchor.id == ANCHOR_ID)
    if session.get_bind().dialect.name != "sqlite":  # SQLite writers already hold the lock
        stmt = stmt.with_for_update()
    anchor = session.execute(stmt).scalar_one_or_none()
    if anchor is None:
        anchor = LedgerAnchor(id=ANCHOR_ID, seq=0, digest=GENESIS, mac=anchor_mac(0, GENESIS))
        session.add(anchor)
        session.flush()
    return anchor


def append(
    session: Session,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: str | int,
    content: dict[str, Any] | None = None,
) -> LedgerEvent:
    """Record one act in the caller's transaction: it commits or rolls back with the act."""
    anchor = _locked_anchor(session)
    seq = anchor.seq + 1
    at = utcnow()
    body = canonical_json(content or {}).decode("utf-8")
    content_digest = sm3_hex(body.encode("utf-8"))
    digest = event_digest(seq, at, actor.username, action, subject_type, str(subject_id),
                          content_digest, anchor.digest)
    event = LedgerEvent(
        seq=seq, at=at, actor_id=actor.user_id, actor=actor.username, action=action,
        subject_type=subject_type, subject_id=str(subject_id), content=body,
        content_digest=content_digest, prev_digest=anchor.digest, digest=digest,
    )
    session.add(event)
    anchor.seq = seq
    anchor.digest = digest
    anchor.mac = anchor_mac(seq, digest)
    return event


@dataclass
class Break:
    seq: int
    kind: str  # content_altered | event_altered | link_broken | missing | truncated | anchor_forged
    detail: str


@dataclass
class VerifyReport:
    ok: bool
    events: int
    last_seq: int
    first_break: Break | None = None
    breaks: list[Break] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "last_seq": self.last_seq,
            "first_break": self.first_break.__dict__ if self.first_break else None,
            "breaks": [b.__dict__ for b in self.breaks[:100]],
        }


_KIND_TEXT = {
    "content_altered": "content of event {seq} was altered (its digest no longer matches)",
    "event_altered": "event {seq} was altered (time, actor, action or subject changed)",
    "link_broken": "event {seq} does not follow the event before it (reordered or replaced)",
    "missing": "events {seq}..{to} are missing (deleted from the middle)",
    "truncated": "events after {seq} are missing (the chain was cut at its end; anchor says {to})",
    "anchor_forged": "the chain's anchor was altered (its seal does not verify)",
    "extra": "event {seq} lies beyond the anchor (appended outside the platform)",
}


def _rows(session: Session, chunk: int = 20000) -> Iterator[tuple[Any, ...]]:
    """Stream events in seq order, in key-range chunks (no huge result held in memory)."""
    cols = (LedgerEvent.seq, LedgerEvent.at, LedgerEvent.actor, LedgerEvent.action,
            LedgerEvent.subject_type, LedgerEvent.subject_id, LedgerEvent.content,
            LedgerEvent.content_digest, LedgerEvent.prev_digest, LedgerEvent.digest)
    last = 0
    while True:
        rows = session.execute(
            select(*cols).where(LedgerEvent.seq > last).order_by(LedgerEvent.seq).limit(chunk)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def verify(session: Session, *, stop_at_first: bool = False) -> VerifyReport:
    """Walk the chain; name every event whose content, order or link was altered, gaps, and a
    cut end (against the sealed anchor)."""
    breaks: list[Break] = []

    def add(seq: int, kind: str, to: int | None = None) -> None:
        breaks.append(Break(seq, kind, _KIND_TEXT[kind].format(seq=seq, to=to)))

    expected_seq = 1
    prev = GENESIS
    count = 0
    last_seq = 0
    for seq, at, actor, action, stype, sid, content, cdig, pdig, dig in _rows(session):
        count += 1
        if seq != expected_seq:
            add(expected_seq, "missing", seq - 1)
        if sm3_hex(content.encode("utf-8")) != cdig:
            add(seq, "content_altered")
        if pdig != prev:
            add(seq, "link_broken")
        if event_digest(seq, at, actor, action, stype, sid, cdig, pdig) != dig:
            add(seq, "event_altered")
        prev = dig
        expected_seq = seq + 1
        last_seq = seq
        if stop_at_first and breaks:
            break

    anchor = session.get(LedgerAnchor, ANCHOR_ID)
    if not (stop_at_first and breaks):
        if anchor is None:
            if count:
                add(last_seq, "anchor_forged")
        else:
            if not constant_time_equal(anchor.mac, anchor_mac(anchor.seq, anchor.digest)):
                add(anchor.seq, "anchor_forged")
            elif anchor.seq > last_seq:
                add(last_seq, "truncated", anchor.seq)
            elif anchor.seq < last_seq:
                add(anchor.seq + 1, "extra")
            elif anchor.digest != prev:
                add(last_seq, "link_broken")
    breaks.sort(key=lambda b: b.seq)
    return VerifyReport(ok=not breaks, events=count, last_seq=last_seq,
                        first_break=breaks[0] if breaks else None, breaks=breaks)


def count_events(session: Session) -> int:
    return session.execute(select(func.count()).select_from(LedgerEvent)).scalar_one()


def events_for(session: Session, subject_type: str, subject_id: str | int) -> list[LedgerEvent]:
    return list(
        session.execute(
            select(LedgerEvent)
            .where(LedgerEvent.subject_type == subject_type, LedgerEvent.subject_id == str(subject_id))
            .order_by(LedgerEvent.seq)
        ).scalars()
    )
