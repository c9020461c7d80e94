"""The ledger's tables: the events, and one anchor row that seals the chain's end."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime


class LedgerEvent(Base):
    """One act. `digest` = SM3 over the event's fields, its content digest and the previous
    event's digest, so changing, reordering or removing any event breaks the chain."""

    __tablename__ = "ledger_events"
    __table_args__ = (Index("ix_ledger_subject", "subject_type", "subject_id"),)

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    content_digest: Mapped[str] = mapped_column(String(64))
    prev_digest: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))


class LedgerAnchor(Base):
    """The chain's last sequence number and digest, sealed with HMAC-SM3 under the platform's
    secret key: deleting events from the end (or rewriting the whole chain) no longer matches."""

    __tablename__ = "ledger_anchor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    digest: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))
