"""Library tables: the definition per resource version, the conflict counts of each fusion and
the objections sent for conflicts. No collected value lives here (DESIGN rule 2): conflicts
themselves are rows in the library batch's `conflicts/` files; an objection is tracked by a
keyed pseudonym of the entity key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow


class LibraryDefinition(Base):
    """The definition of a library resource at one of its versions: edited while that version is
    a draft, frozen once the catalogue publishes it (an edit of a published resource opens the
    next version)."""

    __tablename__ = "library_definitions"
    __table_args__ = (UniqueConstraint("resource_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # keys.PERSON | keys.ORG
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConflictCount(Base):
    """Conflicts found by one fusion batch, per contributing resource (and its org) and item:
    `compared` values of that source that were not chosen, `conflicts` of them that differ."""

    __tablename__ = "library_conflict_counts"
    __table_args__ = (Index("ix_library_conflict_counts_lib_batch", "library_id", "batch_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    batch_id: Mapped[int] = mapped_column(Integer)
    source_resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    source_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    item: Mapped[str] = mapped_column(String(100))
    compared: Mapped[int] = mapped_column(BigInteger)
    conflicts: Mapped[int] = mapped_column(BigInteger)


class ConflictObjection(Base):
    """A conflict sent back to its source as an objection (once per entity, item and value)."""

    __tablename__ = "library_conflict_objections"
    __table_args__ = (UniqueConstraint("library_id", "source_resource_id", "item", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    source_resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    item: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(64))  # keyed SM3 of entity key and disputed value
    objection_id: Mapped[int] = mapped_column(Integer)  # quality.objections (no FK: another stage)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
