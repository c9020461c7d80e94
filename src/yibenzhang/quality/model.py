"""Quality tables: steward rules, assessment runs and their per-rule results.

Results hold counts and failing row numbers only, never values (rows hold personal data).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow


class QualityRule(Base):
    """A rule a steward added to a resource (the catalogue's own rules are derived, not stored)."""

    __tablename__ = "quality_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    items: Mapped[list[Any]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    title: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QualityRun(Base):
    """One assessment of a batch or of a resource's current state, with its scores."""

    __tablename__ = "quality_runs"
    __table_args__ = (Index("ix_quality_runs_resource_id_id", "resource_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    # The zone batch assessed (None for the current state); not a foreign key: zone tables live
    # on their own migration branch.
    batch_id: Mapped[int | None] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(String(8))  # batch | current
    org_id: Mapped[int] = mapped_column(Integer, index=True)
    region_id: Mapped[int] = mapped_column(Integer, index=True)
    row_count: Mapped[int] = mapped_column(BigInteger)
    rule_count: Mapped[int] = mapped_column(Integer)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)  # dimension → 0..100 or null
    overall: Mapped[float | None] = mapped_column(Float)
    seconds: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QualityResult(Base):
    """One rule's outcome in a run: checked, failed, rate and a few failing row numbers."""

    __tablename__ = "quality_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("quality_runs.id", ondelete="CASCADE"), index=True)
    rule_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    dimension: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[int | None] = mapped_column(Integer)
    items: Mapped[list[Any]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    checked: Mapped[int] = mapped_column(BigInteger)
    failed: Mapped[int] = mapped_column(BigInteger)
    rate: Mapped[float] = mapped_column(Float)
    samples: Mapped[list[Any]] = mapped_column(JSON)  # row numbers (_row), never values
