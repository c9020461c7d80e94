"""Append events in the caller's transaction; verify the whole chain.

Content must never carry personal data (IDs, names, phone numbers): record ids, item names,
counts and digests instead — the ledger is read by auditors and kept forever.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from ..access import Actor
from ..config import get_settings
from ..crypto import canonical_json, constant_time_equal, hmac_sm3_hex, sm3_hex
from ..db import utcnow
from ..i18n import N_, translate
from .model import LedgerAnchor, LedgerEvent

GENESIS = "0" * 64
ANCHOR_ID = 1
VERIFY_CHUNK = 50_000


def _pick_sm3() -> Callable[[bytes], str]:
    """OpenSSL's SM3 through hashlib when this build has it (same digest, less call overhead:
    verifying a million events is two million digests)."""
    try:
        base = hashlib.new("sm3")
    except ValueError:
        return sm3_hex

    def sm3_fast(data: bytes) -> str:
        h = base.copy()  # copying a fresh context is cheaper than looking the algorithm up
        h.update(data)
        return h.hexdigest()

    return sm3_fast


_sm3 = _pick_sm3()


def _at_text(at: datetime) -> str:
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.isoformat(timespec="microseconds")


def _digest_text(seq: int, at_text: str, actor: str, action: str, subject_type: str, subject_id: str,
                 content_digest: str, prev_digest: str, actor_id: int | None) -> str:
    fields = [str(seq), at_text, actor, action, subject_type, subject_id, content_digest, prev_digest]
    if actor_id is not None:  # the user's id is sealed too (absent for the platform itself)
        fields.append(str(actor_id))
    return _sm3("\x1f".join(fields).encode("utf-8"))


def event_digest(
    seq: int, at: datetime, actor: str, action: str, subject_type: str, subject_id: str,
    content_digest: str, prev_digest: str, *, actor_id: int | None = None,
) -> str:
    return _digest_text(seq, _at_text(at), actor, action, subject_type, subject_id, content_digest,
                        prev_digest, actor_id)


def content_digest_of(body: str) -> str:
    return _sm3(body.encode("utf-8"))


def anchor_mac(seq: int, digest: str, key: str | None = None) -> str:
    key = key or get_settings().secret_key
    return hmac_sm3_hex(key.encode(), f"ledger-anchor:{seq}:{digest}".encode())


def _locked_anchor(session: Session) -> LedgerAnchor:
    dialect = session.get_bind().dialect.name
    stmt = select(LedgerAnchor).where(LedgerAnchor.id == ANCHOR_ID).execution_options(populate_existing=True)
    if dialect != "sqlite":  # SQLite writers already hold the lock (BEGIN IMMEDIATE)
        stmt = stmt.with_for_update()
    anchor = session.execute(stmt).scalar_one_or_none()
    if anchor is None:
        # The first append of a fresh store: two writers may race to create the anchor, so
        # insert-if-absent and then lock whichever row won.
        values = {"id": ANCHOR_ID, "seq": 0, "digest": GENESIS, "mac": anchor_mac(0, GENESIS)}
        if dialect == "postgresql":
            session.execute(pg_insert(LedgerAnchor).values(**values).on_conflict_do_nothing())
        elif dialect == "sqlite":
            session.execute(sqlite_insert(LedgerAnchor).values(**values).on_conflict_do_nothing())
        else:
            session.execute(insert(LedgerAnchor).values(**values))
        anchor = session.execute(stmt).scalar_one()
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
    body = canonical_json(content or {}).decode("utf-8")
    if session.get_bind().dialect.name == "postgresql":
        return _append_pg(session, actor, action, subject_type, str(subject_id), body)
    anchor = _locked_anchor(session)
    event = _new_event(anchor.seq + 1, anchor.digest, actor, action, subject_type, str(subject_id), body)
    session.add(event)
    anchor.seq = event.seq
    anchor.digest = event.digest
    anchor.mac = anchor_mac(event.seq, event.digest)
    return event


def _new_event(seq: int, prev: str, actor: Actor, action: str, subject_type: str, subject_id: str,
               body: str) -> LedgerEvent:
    at = utcnow()
    content_digest = content_digest_of(body)
    digest = event_digest(seq, at, actor.username, action, subject_type, subject_id, content_digest, prev,
                          actor_id=actor.user_id)
    return LedgerEvent(
        seq=seq, at=at, actor_id=actor.user_id, actor=actor.username, action=action,
        subject_type=subject_type, subject_id=subject_id, content=body,
        content_digest=content_digest, prev_digest=prev, digest=digest,
    )


# The anchor this process last wrote, per database: a guess that saves PostgreSQL round trips.
# Never trusted: the write below only happens if the anchor still holds exactly these values.
_last_anchor: dict[str, tuple[int, str]] = {}

_PG_APPEND = text(
    "WITH moved AS (UPDATE ledger_anchor SET seq = :seq, digest = :digest, mac = :mac"
    " WHERE id = :anchor_id AND seq = :prev_seq AND digest = :prev RETURNING id)"
    " INSERT INTO ledger_events (seq, at, actor_id, actor, action, subject_type, subject_id, content,"
    " content_digest, prev_digest, digest)"
    " SELECT :seq, :at, :actor_id, :actor, :action, :subject_type, :subject_id, :content, :content_digest,"
    " :prev, :digest FROM moved"
)


def _append_pg(session: Session, actor: Actor, action: str, subject_type: str, subject_id: str,
               body: str) -> LedgerEvent:
    """One round trip in the usual case: advance the anchor (which takes its row lock) and insert
    the event in one statement, if the anchor is where this process left it. Otherwise (another
    process appended, or our last transaction rolled back) lock and read it, then do the same."""
    key = session.get_bind().engine.url.render_as_string(hide_password=False)
    guess = _last_anchor.get(key)
    for attempt in range(2):
        if attempt == 0 and guess is not None:
            prev_seq, prev = guess
        elif attempt == 0:
            continue
        else:
            anchor = _locked_anchor(session)
            prev_seq, prev = anchor.seq, anchor.digest
        event = _new_event(prev_seq + 1, prev, actor, action, subject_type, subject_id, body)
        result = session.execute(_PG_APPEND, {
            "seq": event.seq, "digest": event.digest, "mac": anchor_mac(event.seq, event.digest),
            "anchor_id": ANCHOR_ID, "prev_seq": prev_seq, "prev": prev, "at": event.at,
            "actor_id": event.actor_id, "actor": event.actor, "action": action, "subject_type": subject_type,
            "subject_id": subject_id, "content": body, "content_digest": event.content_digest,
        })
        held = session.identity_map.get(identity_key(LedgerAnchor, (ANCHOR_ID,)))
        if held is not None:
            session.expire(held)  # the row changed under the ORM's copy: reload it when read again
        if result.rowcount == 1:
            _last_anchor[key] = (event.seq, event.digest)
            return event
    raise RuntimeError("the ledger anchor moved while it was locked")  # cannot happen under the row lock


@dataclass
class Break:
    seq: int
    # content_altered | event_altered | link_broken | missing | truncated | extra | anchor_forged
    # | anchor_mismatch
    kind: str
    detail: str
    detail_en: str = ""


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


# Their English forms are in the catalogue (locale/en).
_KIND_TEXT = {
    "content_altered": N_("第{seq}号存证的内容被改动（与其内容摘要不符）"),
    "event_altered": N_("第{seq}号存证被改动（时间、操作人、操作、对象或内容摘要与其摘要不符）"),
    "link_broken": N_("第{seq}号存证与前一条存证不衔接（被重排或替换）"),
    "missing": N_("第{seq}至{to}号存证缺失（从链中间被删除）"),
    "truncated": N_("第{seq}至{to}号存证缺失（链尾被截断，锚点记到第{to}号）"),
    "extra": N_("第{seq}号存证在锚点之后（未经平台追加）"),
    "anchor_forged": N_("存证链锚点被改动（其密钥校验码不符），锚点记到第{seq}号"),
    "anchor_mismatch": N_("链尾第{seq}号存证与锚点封存的摘要不符（整条链被重算）"),
}


def _at_of(value: Any) -> str:
    """The digest's time text from a raw column value: SQLite gives the text SQLAlchemy wrote
    ("YYYY-MM-DD HH:MM:SS.ffffff", UTC), PostgreSQL a datetime."""
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " " and value[19] == ".":
            # Fast path, exact: a mangled text cannot reproduce the isoformat that was sealed.
            return f"{value[:10]}T{value[11:]}+00:00"
        value = datetime.fromisoformat(value)
    return _at_text(value)


def _rows(session: Session, chunk: int = VERIFY_CHUNK) -> Iterator[tuple[Any, ...]]:
    """Stream events in seq order, in key-range chunks through the driver's cursor: no ORM
    objects and no huge result held in memory (a million events verify in seconds)."""
    cursor = session.connection().connection.cursor()
    try:
        last = -(2**62)
        while True:
            # `last` and `chunk` are integers we produced, never user input.
            cursor.execute(
                "SELECT seq, at, actor_id, actor, action, subject_type, subject_id, content, content_digest,"
                f" prev_digest, digest FROM ledger_events WHERE seq > {int(last)} ORDER BY seq LIMIT {int(chunk)}"
            )
            rows = cursor.fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1][0]
    finally:
        cursor.close()


def _snapshot(session: Session) -> None:
    """Read the events and the anchor from one snapshot, so appends committed meanwhile cannot
    look like a cut or an extra event. SQLite's read transaction is already a snapshot."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def verify(session: Session, *, stop_at_first: bool = False) -> VerifyReport:
    """Walk the chain; name every event whose content, order or link was altered, gaps, a cut
    end or an event beyond the end (against the anchor sealed with the platform's key)."""

    breaks: list[Break] = []

    def add(seq: int, kind: str, to: int | None = None) -> None:
        text = _KIND_TEXT[kind]
        breaks.append(Break(seq, kind, text.format(seq=seq, to=to), translate(text, "en", seq=seq, to=to)))

    _snapshot(session)
    anchor = session.execute(
        select(LedgerAnchor.seq, LedgerAnchor.digest, LedgerAnchor.mac).where(LedgerAnchor.id == ANCHOR_ID)
    ).first()
    sm3 = _sm3
    anchored_seq = anchor[0] if anchor is not None else None
    anchored_digest = GENESIS  # the digest of the event the anchor names, as found in the table
    expected_seq = 1
    prev = GENESIS
    count = 0
    last_seq = 0
    for seq, at, actor_id, actor, action, stype, sid, content, cdig, pdig, dig in _rows(session):
        count += 1
        if seq != expected_seq:
            add(expected_seq, "missing", seq - 1)
        if sm3(content.encode("utf-8")) != cdig:
            add(seq, "content_altered")
        if pdig != prev:
            add(seq, "link_broken")
        try:
            at_text = _at_of(at)
        except (TypeError, ValueError):
            at_text = ""
        if not at_text or _digest_text(seq, at_text, actor, action, stype, sid, cdig, pdig, actor_id) != dig:
            add(seq, "event_altered")
        prev = dig
        if seq == anchored_seq:
            anchored_digest = dig
        expected_seq = seq + 1
        last_seq = seq
        if stop_at_first and breaks:
            break

    if not (stop_at_first and breaks):
        if anchor is None:
            if count:
                add(last_seq, "anchor_forged")
        else:
            a_seq, a_digest, a_mac = anchor
            if not constant_time_equal(a_mac, anchor_mac(a_seq, a_digest)):
                add(a_seq, "anchor_forged")
            elif a_seq > last_seq:
                add(last_seq + 1, "truncated", a_seq)
            elif a_seq < last_seq:
                add(a_seq + 1, "extra")
                if anchored_digest != a_digest:
                    add(a_seq, "anchor_mismatch")
            elif a_digest != prev:
                add(last_seq, "anchor_mismatch")
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
