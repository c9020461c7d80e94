"""Tables of the compliance calendar (DOMAIN §8): people counts of personal-information handlers,
audit firms, audits (routine and regulator-ordered, with extensions) and reminders.

Free text a person typed (an order's basis, an extension's reason) lives in these tables only; the
ledger records ids, dates and counts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow
from ..enums import ChineseEnum


class AuditKind(ChineseEnum):
    ROUTINE = "定期审计"  # Art. 4: yearly above the threshold, else every 2 years
    ORDERED = "责令审计"  # Art. 9: ordered by the regulator, due in 90 working days


class AuditState(ChineseEnum):
    OPEN = "进行中"
    DONE = "已完成"


class PeopleCount(Base):
    """How many people's personal information a handler processes, as of a date (history kept)."""

    __tablename__ = "audit_people_counts"
    __table_args__ = (Index("ix_audit_people_counts_org_as_of", "org_id", "as_of"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    people: Mapped[int] = mapped_column(BigInteger)
    as_of: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditFirm(Base):
    """A professional body that performs personal-information compliance audits."""

    __tablename__ = "audit_firms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    uscc: Mapped[str | None] = mapped_column(String(18))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Audit(Base):
    """One compliance audit of a handler: routine or ordered, with its firm, due date and outcome."""

    __tablename__ = "audit_audits"
    __table_args__ = (Index("ix_audit_audits_org_state", "org_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    kind: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(8))
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("audit_firms.id"))
    # Order of firm assignments per handler ("in a row" counts over this order).
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ordered_on: Mapped[date | None] = mapped_column(Date)
    basis: Mapped[str | None] = mapped_column(Text)  # the order's basis (ordered audits)
    due_on: Mapped[date] = mapped_column(Date)
    original_due_on: Mapped[date] = mapped_column(Date)
    # One entry per extension: {"due_on", "previous_due_on", "approver", "reason", "on", "by"}.
    extensions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    completed_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reminder(Base):
    """A reminder that a duty falls due: made by the daily job, once per duty and due date."""

    __tablename__ = "audit_reminders"
    __table_args__ = (UniqueConstraint("duty_key", "due_on", name="uq_audit_reminders_duty_key_due_on"),
                      Index("ix_audit_reminders_org_id", "org_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    duty_key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    due_on: Mapped[date] = mapped_column(Date)
    remind_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
